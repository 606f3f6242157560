/**
 * The generic paradigm training loop, the pattern of src/train/coprs/trainer.ts for any registered
 * paradigm:
 *
 *   const r = await trainParadigm('lisa', { preset: 'small', out: 'runs/lisa', sam: 'data/checkpoints/sam-S', policy: 'data/checkpoints/policy-small' });
 *
 * Run folder: OUT itself is a paradigm checkpoint (kind 'paradigm': the weights of the last step),
 * OUT/log.jsonl (a `start` record, one record per logged step with TRL names, an `end` record),
 * OUT/completions/step_NNNNNN.csv (the step's completions with rewards and advantages), OUT/latest
 * (weights + AdamW state + RNG + stream + extra state such as a GRPO reference policy) for
 * `resume`. The budget (steps, completions per step) comes from the preset and is the same for
 * every paradigm (types.ts, "Budget").
 */
import * as fs from 'fs';
import * as path from 'path';
import { installCheckpointFiles, recoverCheckpoint } from '../train/checkpoint';
import { JsonlLog } from '../train/jsonl';
import { writeCompletionsCsv } from '../train/coprs/completions';
import { buildParadigm, loadParadigm } from './registry';
import type { Paradigm, ParadigmParts, ParadigmStepReport } from './types';

export interface TrainParadigmOptions {
  out: string;
  /** Preset of a new run (default small). */
  preset?: string;
  /** Config overrides of a new run. */
  overrides?: unknown;
  /** Stage-1 mini-SAM and stage-2 policy folders (a new run). */
  sam?: string;
  policy?: string;
  /** Or parts in memory (tests, notebooks); the run takes ownership. */
  parts?: ParadigmParts;
  /** Continue from OUT/latest. */
  resume?: boolean;
  /** New total step count (a new run: overrides the preset's; resume: extends the run). */
  steps?: number;
  /** Stop this run at this step (the schedule still spans `steps`); resume later. */
  untilStep?: number;
  /** Progress lines (default stderr); null for silence. */
  log?: ((line: string) => void) | null;
  onStep?: (r: ParadigmStepReport) => void;
}

export interface TrainParadigmResult {
  paradigm: string;
  out: string;
  preset: string;
  step: number;
  startStep: number;
  resumed: boolean;
  /** Training wall time over all runs, s. */
  seconds: number;
  msPerStep: number;
  skipped: number;
  last: Record<string, unknown> | null;
  parameters: Record<string, number>;
  latest: string;
}

const pad6 = (n: number) => String(n).padStart(6, '0');
const fmt = (v: unknown, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : String(v));

/** Save the weights into a run folder without touching its other files. */
async function saveModelInto(p: Paradigm, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.model-${process.pid}-${Date.now()}`);
  try {
    await p.save(tmp, { withState: false });
    installCheckpointFiles(tmp, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Train a paradigm (see the module comment). */
export async function trainParadigm(name: string, opts: TrainParadigmOptions): Promise<TrainParadigmResult> {
  const out = path.resolve(opts.out);
  const latest = path.join(out, 'latest');
  const say = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  recoverCheckpoint(latest);
  recoverCheckpoint(out);
  let p: Paradigm;
  if (opts.resume) {
    if (!fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`--resume: no checkpoint at ${latest}; start a new run without --resume`);
    p = loadParadigm(latest, { steps: opts.steps });
    if (p.name !== name) {
      p.dispose();
      throw new Error(`--resume: ${latest} is a ${p.name} run, not ${name}`);
    }
  } else {
    if (fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`${out} already holds a run (latest/); pass --resume to continue it or choose another --out`);
    const overrides = { ...((opts.overrides ?? {}) as Record<string, unknown>), ...(opts.steps != null ? { steps: opts.steps } : {}) };
    p = buildParadigm(name, { sam: opts.sam, policy: opts.policy, parts: opts.parts, preset: opts.preset, overrides });
  }
  const cfg = p.config;
  const jsonl = new JsonlLog(path.join(out, 'log.jsonl'));
  const startStep = p.step;
  let last: Record<string, unknown> | null = null;
  let skipped = 0;
  let runMs = 0;
  let runSteps = 0;
  try {
    jsonl.write({ event: opts.resume ? 'resume' : 'start', paradigm: p.name, emits: p.emits, step: p.step, config: cfg, parameters: p.parameterCounts(), sources: p.sources });
    say?.(`[${p.name}] ${opts.resume ? 'resuming' : 'training'} ${cfg.preset}: step ${p.step} → ${cfg.steps}, ${cfg.batchSize} completions per step; out ${out}`);
    const stopAt = Math.min(cfg.steps, opts.untilStep ?? cfg.steps);
    while (p.step < stopAt) {
      const r = p.trainStep();
      runMs += r.ms;
      runSteps += 1;
      if (r.skipped) skipped += 1;
      last = r.record;
      opts.onStep?.(r);
      if (r.step % cfg.logEvery === 0 || r.step === stopAt || r.skipped) {
        jsonl.write(r.record);
        say?.(`[${p.name}] step ${r.step}/${cfg.steps} loss ${fmt(r.loss)} reward ${fmt(r.reward)} lr ${fmt(r.lr, 6)} ${fmt(r.ms / 1000, 1)} s${r.skipped ? ` SKIPPED: ${r.reason}` : ''}`);
      }
      if (cfg.completionsEvery > 0 && r.step % cfg.completionsEvery === 0 && r.completions.length > 0) {
        writeCompletionsCsv(path.join(out, 'completions', `step_${pad6(r.step)}.csv`), r.completions);
      }
      if (r.step % cfg.checkpointEvery === 0 || r.step === stopAt) await p.save(latest, { withState: true });
      await new Promise((res) => setImmediate(res));
    }
    if (p.step >= cfg.steps) {
      await saveModelInto(p, out);
      await p.save(latest, { withState: true });
      jsonl.write({ event: 'end', step: p.step, elapsedSec: p.elapsedMs / 1000, skipped });
    }
    return {
      paradigm: p.name, out, preset: cfg.preset, step: p.step, startStep, resumed: !!opts.resume,
      seconds: p.elapsedMs / 1000, msPerStep: runSteps > 0 ? runMs / runSteps : 0, skipped, last,
      parameters: p.parameterCounts(), latest,
    };
  } finally {
    jsonl.close();
    p.dispose();
  }
}
