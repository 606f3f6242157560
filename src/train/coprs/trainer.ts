/**
 * Stage 3: CoPRS unified training (DESIGN §1–2, paper §3.2–3.3 and appendix B), as a resumable run.
 *
 *   const r = await trainCoprs(resolveCoprsTrainConfig('small'), { out: 'runs/coprs', sam: 'data/checkpoints/sam-S', policy: 'data/checkpoints/policy-small' });
 *
 * Each step: B = batchSize / G refshapes training prompts (training scenes only); their images
 * encoded once by the frozen mini-SAM; G rollouts per prompt from the current policy (rollout.ts);
 * the reference policy's log-probs (constants); then μ updates, each ONE forward and ONE backward
 * pass through L_GRPO + λ_SEG·L_SEG (objective.ts), the first of which also gives the masks the
 * mask reward scores, the group advantages and the old log-probs. AdamW with four groups and
 * OneCycle, global clip 1 (optimizer.ts). A non-finite loss or gradient refuses the update (no
 * weight changes) and then stops the run or skips the step (`onNonFinite`).
 *
 * Run folder: OUT itself is a coprs checkpoint (the best held-out step, or the last step when
 * held-out evaluation is off), OUT/log.jsonl (one record per logged step, TRL names, metrics.ts),
 * OUT/completions/step_NNNNNN.csv (sampled completions with rewards and advantages), OUT/latest
 * (weights, reference policy, AdamW state, step, rollout RNG, stream state, best metric) for
 * `resume`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { trainStream, type ShapeWorldStream, type StreamState } from '../../data/shapeworld/splits';
import { Rng, deriveSeed, type RngState } from '../../util/rng';
import type { AdamW } from '../adamw';
import { assignParams, installCheckpointFiles, loadCheckpoint, recoverCheckpoint, type CheckpointMeta } from '../checkpoint';
import { JsonlLog } from '../jsonl';
import { lrFactor, type Schedule } from '../schedule';
import type { PolicyModel } from '../../models/policy/model';
import type { CoprsModel } from '../../models/coprs/model';
import { frozenCopy } from '../../models/coprs/reference';
import { evaluateCoprs, type CoprsEvalResult } from '../../models/coprs/eval';
import { assignCoprs, buildCoprsFromConfig, buildCoprsFromParts, saveCoprs, type CoprsCheckpointConfig, type CoprsSources } from '../../models/coprs/checkpoint';
import { resolveCoprsTrainConfig, type CoprsTrainConfig } from './config';
import { coprsOptimizer, coprsSchedule, trainedParts } from './optimizer';
import { collectRollouts, disposeRollouts, teacherForcedBatch } from './rollout';
import { stageThreeObjective, type BatchState, type ObjectiveParts } from './objective';
import { stepRecord } from './metrics';
import { writeCompletionsCsv, type CompletionRow } from './completions';

export const HELDOUT_METRIC = 'heldout.gIoU';

/** A step whose loss or gradient was not finite (the update was refused; no weights changed). */
export class NonFiniteStepError extends Error {}

export interface CoprsStepReport {
  step: number;
  /** True when the update was refused (non-finite) and `onNonFinite` is 'skip'. */
  skipped: boolean;
  reason?: string;
  loss: number;
  reward: number;
  gradNorm: number;
  lr: number;
  ms: number;
  /** The JSONL record (TRL names). */
  record: Record<string, unknown>;
  /** One row per rollout: query, completion, rewards, advantage. */
  completions: CompletionRow[];
}

export class CoprsTrainer {
  readonly ref: PolicyModel | null;
  readonly optimizer: AdamW;
  readonly stream: ShapeWorldStream;
  /** Rollout sampling RNG (stored in checkpoints). */
  readonly rng: Rng;
  readonly schedule: Schedule;
  step = 0;
  best: CheckpointMeta['best'] = null;
  elapsedMs = 0;
  private readonly vars: tf.Variable[];
  /** Every trainable variable (the SEG warm-up trains all parts in every mode). */
  private readonly allVars: tf.Variable[] = [];
  private readonly nameOf = new Map<string, string>();
  private heldout: Sample[] | null = null;

  constructor(readonly config: CoprsTrainConfig, readonly model: CoprsModel, readonly sources: CoprsSources) {
    this.ref = config.mode !== 'seg' && config.grpo.beta > 0 ? frozenCopy(model.policy) : null;
    this.optimizer = coprsOptimizer(model, config.optim);
    const parts = new Set<string>(trainedParts(config.mode));
    this.vars = [];
    for (const g of this.optimizer.groups) {
      for (const [name, v] of g.vars) {
        this.nameOf.set(v.name, name);
        this.allVars.push(v);
        if (parts.has(g.name)) this.vars.push(v);
      }
    }
    this.stream = trainStream('refshapes', { seed: config.dataSeed });
    this.rng = new Rng(deriveSeed(config.seed, 'coprs-rollouts'));
    this.schedule = coprsSchedule(config);
  }

  /** Prompts per step. */
  get prompts(): number {
    return this.config.batchSize / this.config.grpo.G;
  }

  /** One step (see the module comment). Throws `NonFiniteStepError` on a refused update with `onNonFinite: 'stop'`. */
  trainStep(): CoprsStepReport {
    const t0 = Date.now();
    const cfg = this.config;
    const lr = cfg.optim.lr * lrFactor(this.schedule, this.step);
    const warm = this.step < cfg.warmup.steps;
    const samples = this.stream.take(warm ? cfg.batchSize : this.prompts);
    const batch = warm ? teacherForcedBatch(this.model, samples) : collectRollouts(this.model, this.ref, samples, cfg, this.rng);
    const stepCfg: CoprsTrainConfig = warm ? { ...cfg, mode: 'seg' } : cfg;
    const state: BatchState = {};
    let parts: ObjectiveParts | undefined;
    let gradNorm = 0;
    let refused: string | null = null;
    const tu = Date.now();
    try {
      for (let u = 0; u < (warm ? 1 : cfg.grpo.mu) && !refused; u++) {
        const out: { value?: ObjectiveParts } = {};
        const { value, grads } = tf.variableGrads(stageThreeObjective(this.model, batch, stepCfg, this.step, state, out), warm ? this.allVars : this.vars);
        try {
          parts = out.value!;
          if (!Number.isFinite(parts.loss)) {
            refused = `non-finite loss ${parts.loss} (grpo ${parts.grpo}, seg ${parts.seg}: bce ${parts.bce}, dice ${parts.dice}, focal ${parts.focal})`;
            break;
          }
          const byName: Record<string, tf.Tensor> = {};
          for (const [vn, g] of Object.entries(grads)) if (g) byName[this.nameOf.get(vn)!] = g;
          try {
            gradNorm = this.optimizer.apply(byName, lr).gradNorm;
          } catch (e) {
            if (!/non-finite gradient/.test((e as Error).message)) throw e;
            refused = (e as Error).message.replace(/^AdamW: /, '');
          }
        } finally {
          tf.dispose([value, ...Object.values(grads).filter((g): g is tf.Tensor => g != null)]);
        }
      }
    } finally {
      state.oldLogp?.dispose();
      disposeRollouts(batch);
    }
    const updateMs = Date.now() - tu;
    const stepNo = this.step + 1;
    if (refused) {
      const msg = `step ${stepNo}: ${refused}; the update was refused and no weights were changed${cfg.grpo.mu > 1 ? ' by it (earlier updates of this rollout batch stand)' : ''}`;
      if (cfg.onNonFinite === 'stop') throw new NonFiniteStepError(`${msg}. The run stops (onNonFinite=stop); lower optim.lr, or pass --set onNonFinite=skip to skip such steps`);
      this.step = stepNo;
      const ms = Date.now() - t0;
      this.elapsedMs += ms;
      return { step: stepNo, skipped: true, reason: msg, loss: NaN, reward: NaN, gradNorm: NaN, lr, ms, record: { step: stepNo, skipped: true, reason: msg, learning_rate: lr, step_time: ms / 1000 }, completions: [] };
    }
    this.step = stepNo;
    const ms = Date.now() - t0;
    this.elapsedMs += ms;
    const p = parts!;
    const rewards = state.rewards!;
    const stats = state.stats!;
    const record = stepRecord(stepNo, lr, gradNorm, p, rewards, stats, batch.generation, { ms, generateMs: batch.generateMs, refMs: batch.refMs, updateMs });
    const G = batch.G;
    if (warm) record.warmup = true;
    const completions: CompletionRow[] = batch.generation.ids.map((_, i) => {
      const row: CompletionRow = {
        step: stepNo, id: samples[Math.floor(i / G)].id, group: Math.floor(i / G), rollout: i % G, query: samples[Math.floor(i / G)].query,
        completion: batch.generation.text[i], length: batch.generation.lengths[i], finished: batch.generation.finished[i],
        reward: rewards.total[i],
      };
      for (const [n, vals] of Object.entries(rewards.perReward)) row[`rewards/${n}`] = vals[i];
      row.advantage = stats.advantages[i];
      row.ref_pos_found = p.refPosFound[i];
      row.mask_iou = p.maskIoU[i];
      return row;
    });
    return { step: stepNo, skipped: false, loss: p.loss, reward: record.reward as number, gradNorm, lr, ms, record, completions };
  }

  /** The held-out samples: refshapes training-stream samples at the held-out seed (training scenes, never the frozen splits). */
  heldoutSamples(): Sample[] {
    if (!this.heldout) this.heldout = trainStream('refshapes', { seed: this.config.heldout.seed }).take(this.config.heldout.samples);
    return this.heldout;
  }

  /** Greedy held-out evaluation (gIoU is the best-checkpoint metric); updates `best`. */
  async evaluateHeldout(): Promise<CoprsEvalResult & { step: number; improved: boolean }> {
    const r = await evaluateCoprs(this.model, { samples: this.heldoutSamples(), maxTokens: this.config.rollout.maxTokens });
    const improved = this.best == null || r.gIoU > this.best.value;
    if (improved) this.best = { metric: HELDOUT_METRIC, value: r.gIoU, step: this.step };
    return { ...r, step: this.step, improved };
  }

  private saveOptions(withState: boolean) {
    const opt = this.optimizer.stateTensors();
    const extra: Record<string, unknown> = { stream: this.stream.getState(), elapsedMs: this.elapsedMs, parameters: this.model.parameterCounts() };
    const extraTensors: [string, tf.Tensor][] = [];
    if (withState) {
      extra.optimizerStep = opt.step;
      if (this.ref) extraTensors.push(...this.ref.params.entries().map(([n, v]) => [`ref.${n}`, v] as [string, tf.Tensor]));
      extraTensors.push(...opt.tensors);
    }
    return { size: this.config.preset, step: this.step, best: this.best, rng: { rollouts: this.rng.getState() }, train: this.config, extra, extraTensors };
  }

  /** OUT/latest: everything `resume` needs. */
  async saveLatest(dir: string): Promise<CheckpointMeta> {
    return saveCoprs(dir, this.model, this.sources, this.saveOptions(true));
  }

  /** The model checkpoint files (weights only) into a run folder, leaving its other files alone. */
  async saveModel(dir: string): Promise<CheckpointMeta> {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.model-${process.pid}-${Date.now()}`);
    try {
      const meta = await saveCoprs(tmp, this.model, this.sources, this.saveOptions(false));
      installCheckpointFiles(tmp, dir);
      return meta;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Continue from OUT/latest (weights, reference policy, optimizer, step, RNG, stream, best). `steps` may extend the run. */
  static resume(dir: string, opts: { steps?: number } = {}): CoprsTrainer {
    const { meta, tensors } = loadCheckpoint(dir, { kind: 'coprs' });
    try {
      const saved = meta.config as CoprsCheckpointConfig | null;
      if (!saved?.train || !saved.policy || !saved.sam) throw new Error(`checkpoint ${dir} has no training config (config.train); it cannot be resumed`);
      if (meta.extra.optimizerStep == null || meta.extra.stream == null) throw new Error(`checkpoint ${dir} holds weights only (no optimizer or stream state): resume from OUT/latest`);
      const { preset, ...rest } = saved.train as CoprsTrainConfig;
      const config = resolveCoprsTrainConfig(preset, { ...rest, ...(opts.steps != null ? { steps: opts.steps } : {}) });
      const model = buildCoprsFromConfig(saved);
      let trainer: CoprsTrainer | null = null;
      try {
        assignCoprs(model, tensors);
        trainer = new CoprsTrainer(config, model, saved.sources);
        if (trainer.ref) assignParams(trainer.ref.params, tensors, { from: 'ref.' });
        trainer.optimizer.loadState(meta.extra.optimizerStep as number, tensors);
        trainer.rng.setState(meta.rng.rollouts as RngState);
        trainer.stream.setState(meta.extra.stream as StreamState);
      } catch (e) {
        if (trainer) trainer.dispose();
        else model.dispose();
        throw e;
      }
      trainer.step = meta.step;
      trainer.best = meta.best;
      trainer.elapsedMs = Number(meta.extra.elapsedMs ?? 0);
      return trainer;
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ref?.dispose();
    this.model.dispose();
  }
}

export interface TrainCoprsOptions {
  /** Output folder (see the module comment). */
  out: string;
  /** Stage-1 mini-SAM checkpoint folder and stage-2 policy checkpoint folder (a new run). */
  sam?: string;
  policy?: string;
  /** Start from this model instead of --sam/--policy (tests, notebooks), with its `sources`; the run takes ownership and disposes it at the end. */
  model?: { model: CoprsModel; sources: CoprsSources };
  /** Continue from OUT/latest. */
  resume?: boolean;
  /** On resume: the new total number of steps. */
  steps?: number;
  /** Stop this run at this step (the schedule still spans `steps`); resume later. */
  untilStep?: number;
  /** Progress lines (default stderr); null for silence. */
  log?: ((line: string) => void) | null;
  onStep?: (r: CoprsStepReport) => void;
  onHeldout?: (r: CoprsEvalResult & { step: number; improved: boolean }) => void;
}

export interface TrainCoprsResult {
  out: string;
  mode: string;
  preset: string;
  step: number;
  startStep: number;
  resumed: boolean;
  best: CheckpointMeta['best'];
  /** Training wall time over all runs, s. */
  seconds: number;
  /** Mean ms per step of this run (held-out evaluation and checkpoints excluded). */
  msPerStep: number;
  last: Record<string, unknown> | null;
  heldout: (CoprsEvalResult & { step: number }) | null;
  skipped: number;
  parameters: ReturnType<CoprsModel['parameterCounts']>;
  latest: string;
}

const pad6 = (n: number) => String(n).padStart(6, '0');
const fmt = (v: unknown, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : String(v));

/** The stage-3 loop (see the module comment). */
export async function trainCoprs(config: CoprsTrainConfig, opts: TrainCoprsOptions): Promise<TrainCoprsResult> {
  const out = path.resolve(opts.out);
  const latest = path.join(out, 'latest');
  const say = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  let trainer: CoprsTrainer;
  recoverCheckpoint(latest); // finish a save that a kill interrupted (see checkpoint.ts)
  recoverCheckpoint(out);
  if (opts.resume) {
    if (!fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`--resume: no checkpoint at ${latest}; start a new run without --resume`);
    trainer = CoprsTrainer.resume(latest, { steps: opts.steps });
  } else {
    if (fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`${out} already holds a run (latest/); pass --resume to continue it, or choose another --out`);
    let built: { model: CoprsModel; sources: CoprsSources };
    if (opts.model) built = opts.model;
    else {
      if (!opts.sam) throw new Error('--sam DIR is required: the stage-1 mini-SAM checkpoint (e.g. data/checkpoints/sam-S)');
      if (!opts.policy) throw new Error('--policy DIR is required: the stage-2 policy checkpoint (e.g. data/checkpoints/policy-small)');
      built = buildCoprsFromParts(opts.sam, opts.policy, config.model);
    }
    try {
      trainer = new CoprsTrainer(config, built.model, built.sources);
    } catch (e) {
      if (!opts.model) built.model.dispose();
      throw e;
    }
  }
  const cfg = trainer.config;
  fs.mkdirSync(out, { recursive: true });
  const jsonl = new JsonlLog(path.join(out, 'log.jsonl'), { truncate: !opts.resume });
  const startStep = trainer.step;
  let runMs = 0;
  let runSteps = 0;
  let skipped = 0;
  let last: Record<string, unknown> | null = null;
  let heldout: (CoprsEvalResult & { step: number }) | null = null;
  try {
    const params = trainer.model.parameterCounts();
    jsonl.write(opts.resume ? { event: 'resume', step: trainer.step, steps: cfg.steps } : { event: 'start', backend: tf.getBackend(), config: cfg, sources: trainer.sources, parameters: params });
    say?.(`[coprs] ${opts.resume ? 'resuming' : 'training'} ${cfg.preset}, mode ${cfg.mode}, from step ${trainer.step} to ${cfg.steps} on ${tf.getBackend()}: ${trainer.prompts} prompts × G ${cfg.grpo.G} per step, ${params.total} parameters (${params.imageEncoder} frozen) -> ${out}`);
    const runHeldout = async () => {
      const r = await trainer.evaluateHeldout();
      heldout = r;
      const { rows: _rows, ...rest } = r;
      void _rows;
      jsonl.write({ event: 'heldout', ...rest });
      say?.(`[coprs] step ${r.step} held-out (${r.n} training-scene samples, greedy): gIoU ${fmt(r.gIoU)} cIoU ${fmt(r.cIoU)} heatmap gIoU ${fmt(r.heatmap.gIoU)} format ${fmt(r.formatRate)}${r.improved ? ' (best)' : ''}`);
      if (r.improved) await trainer.saveModel(out);
      opts.onHeldout?.(r);
    };
    const stopAt = Math.min(cfg.steps, opts.untilStep ?? Infinity);
    while (trainer.step < stopAt) {
      let r: CoprsStepReport;
      try {
        r = trainer.trainStep();
      } catch (e) {
        if (e instanceof NonFiniteStepError) jsonl.write({ event: 'refused', step: trainer.step + 1, reason: e.message });
        throw e;
      }
      runMs += r.ms;
      runSteps += 1;
      last = r.record;
      opts.onStep?.(r);
      if (r.skipped) {
        skipped += 1;
        jsonl.write({ event: 'skipped', ...r.record });
        say?.(`[coprs] ${r.reason}; skipped (onNonFinite=skip)`);
      } else if (r.step % cfg.logEvery === 0 || r.step === stopAt) {
        jsonl.write({ event: 'train', ...r.record });
        const x = r.record;
        say?.(`[coprs] step ${r.step}/${cfg.steps} reward ${fmt(x.reward)} (std ${fmt(x.reward_std)}, zero-std ${fmt(x.frac_reward_zero_std, 2)}) loss ${fmt(x.loss, 4)} bce ${fmt(x['loss/bce'])} dice ${fmt(x['loss/dice'])} focal ${fmt(x['loss/focal'])}${x['loss/concept'] != null ? ` concept ${fmt(x['loss/concept'])}` : ''}${x['loss/lm'] != null ? ` lm ${fmt(x['loss/lm'])}` : ''} kl ${fmt(x.kl, 4)} len ${fmt(x['completions/mean_length'], 1)} |g| ${fmt(x.grad_norm, 2)} ${(r.ms / 1000).toFixed(1)} s/step`);
      }
      if (!r.skipped && cfg.completionsEvery > 0 && r.step % cfg.completionsEvery === 0) {
        writeCompletionsCsv(path.join(out, 'completions', `step_${pad6(r.step)}.csv`), r.completions);
      }
      if (cfg.heldout.samples > 0 && cfg.heldout.every > 0 && r.step % cfg.heldout.every === 0 && r.step < cfg.steps) await runHeldout();
      if (r.step % cfg.checkpointEvery === 0 || r.step === stopAt) await trainer.saveLatest(latest);
      await new Promise((res) => setImmediate(res));
    }
    if (trainer.step >= cfg.steps) {
      if (cfg.heldout.samples > 0 && (heldout == null || (heldout as { step: number }).step !== trainer.step)) await runHeldout();
      if (cfg.heldout.samples === 0 || !fs.existsSync(path.join(out, 'checkpoint.json'))) await trainer.saveModel(out);
      await trainer.saveLatest(latest);
      jsonl.write({ event: 'end', step: trainer.step, best: trainer.best, elapsedSec: trainer.elapsedMs / 1000, skipped });
    }
    return {
      out, mode: cfg.mode, preset: cfg.preset, step: trainer.step, startStep, resumed: !!opts.resume, best: trainer.best,
      seconds: trainer.elapsedMs / 1000, msPerStep: runSteps > 0 ? runMs / runSteps : 0, last, heldout, skipped,
      parameters: trainer.model.parameterCounts(), latest,
    };
  } finally {
    jsonl.close();
    trainer.dispose();
  }
}
