/**
 * Running an ablation sweep, resumably:
 *
 *   const r = await runSweep({ ablation: 'group-size', preset: 'small', out: 'runs/sweep-group-size' });
 *
 * DIR/sweep.json records the sweep's settings (a re-run with other settings is refused, so a folder
 * never mixes two sweeps). For each point of the grid (and each seed), in order:
 *
 *   DIR/parts/                 stage-1/2 checkpoints the points need (parts.ts), shared by the points
 *   DIR/<point>_s<seed>/run/   the stage-3 run (trainCoprs: checkpoint, log.jsonl, latest/)
 *   DIR/<point>_s<seed>/result.json   written last: the point is finished
 *
 * A finished point (result.json) is skipped; a point with run/latest is resumed from it (trainCoprs
 * `resume`); any other point starts. After training, evaluateCoprs (greedy) runs on EVAL_SPLITS
 * (the sweep preset's sample limit per split: all samples for small/base, 2 for tiny), and the
 * per-step log gives the final training reward/IoU/loss and samples-to-convergence. The results
 * of every finished point are written to DIR/results.csv (danfojs) and DIR/results.json after each point.
 *
 * Budget: each point is the sweep preset's stage-3 config with the point's overrides; `steps`
 * shortens (or lengthens) every point alike and scales the SEG warm-up and the λ_d/λ_f switch step
 * in proportion (the kit's choice: the schedule keeps its shape), and `logEvery` is 1 so that every
 * step's loss is in log.jsonl for the convergence metric.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parsePresetName, type PresetName } from '../config/preset';
import type { SamSize } from '../models/sam/config';
import { evaluateCoprs } from '../models/coprs/eval';
import { loadCoprs } from '../models/coprs/checkpoint';
import { COPRS_TRAIN_PRESETS, resolveCoprsTrainConfig, type CoprsTrainConfig } from '../train/coprs/config';
import { trainCoprs } from '../train/coprs/trainer';
import { readCheckpointMeta } from '../train/checkpoint';
import { writeFileAtomic } from '../util/atomic';
import { convergenceWindow, samplesToConvergence } from './convergence';
import { ensureParts, partColumns } from './parts';
import { getAblation, type AblationDef, type PointOutcome, type PointRunContext, type SweepPoint } from './registry';
import { EVAL_SPLITS, splitCells, writeResults, type Cell, type ResultRow, type SplitMetrics } from './results';

export interface SweepOptions {
  ablation: string;
  preset: PresetName | string;
  /** The sweep folder DIR. */
  out: string;
  /** Stage-3 steps of every point (default: the preset's). */
  steps?: number;
  /** Stage-3 seeds; each point runs once per seed (default: the preset's seed, 0). */
  seeds?: number[];
  /** Stage-3 overrides for every point (e.g. from --set), under the points' own. */
  overrides?: Record<string, unknown>;
  /** Options of the ablation (e.g. group-size's budget). */
  options?: Record<string, unknown>;
  /** Samples per evaluation split (default: the preset's, SWEEP_EVAL_LIMIT; null: all). */
  evalLimit?: number | null;
  /** Steps of the stage-1 / stage-2 runs the size ablations train (default: the preset's). */
  samSteps?: number;
  sftSteps?: number;
  /** Where shipped checkpoints are looked for (default data/checkpoints; null: never reuse). */
  shippedDir?: string | null;
  /** Where the stage-1/2 parts the sweep trains go (default DIR/parts; sweeps of one preset may share one). */
  partsDir?: string;
  /** Stop after finishing this many points in this call (the rest stay pending; a re-run continues). */
  maxPoints?: number;
  /** Stop the first point this call trains at this step, unfinished (a simulated kill; a re-run resumes it). */
  untilStep?: number;
  /** Progress lines (default stderr); null: silent. */
  log?: ((line: string) => void) | null;
  /** Called after each point finishes, with its row. */
  onPoint?: (row: ResultRow) => void;
}

export interface SweepResult {
  ablation: string;
  preset: PresetName;
  out: string;
  csv: string;
  json: string;
  /** Rows of every finished point, in grid order. */
  rows: ResultRow[];
  /** Point folders (<id>_s<seed>) run to the end in this call, resumed in this call, skipped as finished, still pending. */
  ran: string[];
  resumed: string[];
  skipped: string[];
  pending: string[];
  complete: boolean;
  /** Wall time of this call, s. */
  seconds: number;
}

/** Samples per evaluation split for each sweep preset (null: the whole split). */
export const SWEEP_EVAL_LIMIT: Record<PresetName, number | null> = { tiny: 2, small: null, base: null };

/** Deep merge of plain override objects (later wins; arrays and primitives replace). */
export function mergeOverrides(...objs: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of objs) {
    for (const [k, v] of Object.entries(o)) {
      const prev = out[k];
      const isObj = (x: unknown): x is Record<string, unknown> => x != null && typeof x === 'object' && !Array.isArray(x);
      out[k] = isObj(prev) && isObj(v) ? mergeOverrides(prev, v) : isObj(v) ? mergeOverrides(v) : v;
    }
  }
  return out;
}

/**
 * The overrides every point of a sweep starts from: per-step logging, and with `steps` the run
 * length with the warm-up and switch step scaled in proportion (see the module comment).
 */
export function budgetOverrides(preset: PresetName, steps?: number): Record<string, unknown> {
  const p = COPRS_TRAIN_PRESETS[preset];
  const o: Record<string, unknown> = { logEvery: 1 };
  if (steps != null) {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`sweep: steps must be a positive integer, got ${steps}`);
    const scale = (x: number) => Math.round((x * steps) / p.steps);
    o.steps = steps;
    o.warmup = { steps: Math.min(scale(p.warmup.steps), steps - 1) };
    o.seg = { switchStep: scale(p.seg.switchStep) };
  }
  return o;
}

/** The sweep's base config (what every point starts from) and its overrides. */
export function sweepBase(preset: PresetName, opts: { steps?: number; overrides?: Record<string, unknown> } = {}): { config: CoprsTrainConfig; overrides: Record<string, unknown> } {
  const overrides = mergeOverrides(budgetOverrides(preset, opts.steps), opts.overrides ?? {});
  try {
    return { config: resolveCoprsTrainConfig(preset, overrides), overrides };
  } catch (e) {
    throw new Error(`sweep: the base config (preset ${preset} with --steps/--set): ${(e as Error).message}`);
  }
}

export interface PlannedPoint {
  point: SweepPoint;
  seed: number;
  /** Folder name <id>_s<seed>. */
  name: string;
  /** The point's full overrides (base + point + seed) and its resolved config. */
  overrides: Record<string, unknown>;
  config: CoprsTrainConfig;
  parts: { sam: SamSize; policy: PresetName };
}

/** Expand an ablation into its planned points (every config resolved and checked; nothing runs). */
export function planSweep(ablation: string, presetName: PresetName | string, opts: Pick<SweepOptions, 'steps' | 'seeds' | 'overrides' | 'options'> = {}): { def: AblationDef; planned: PlannedPoint[]; base: CoprsTrainConfig } {
  const def = getAblation(ablation);
  const preset = parsePresetName(presetName);
  const { config: base, overrides } = sweepBase(preset, opts);
  const options = opts.options ?? {};
  const known = Object.keys(def.options ?? {});
  for (const k of Object.keys(options)) if (!known.includes(k)) throw new Error(`ablation ${ablation}: unknown option "${k}"; ${known.length ? `its options: ${known.join(', ')}` : 'it takes no options'}`);
  const points = def.points({ preset, base, options });
  const ids = new Set<string>();
  for (const p of points) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(p.id)) throw new Error(`ablation ${ablation}: point id "${p.id}" is not folder-safe (letters, digits, . _ -)`);
    if (ids.has(p.id)) throw new Error(`ablation ${ablation}: point id "${p.id}" appears twice`);
    ids.add(p.id);
  }
  const seeds = opts.seeds ?? [base.seed];
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`sweep: seeds must be integers, got ${JSON.stringify(seeds)}`);
  const planned: PlannedPoint[] = [];
  for (const point of points) {
    for (const seed of seeds) {
      const o = mergeOverrides(overrides, point.overrides, { seed });
      let config: CoprsTrainConfig;
      try {
        config = resolveCoprsTrainConfig(preset, o);
      } catch (e) {
        throw new Error(`ablation ${ablation}, point ${point.id}: ${(e as Error).message}`);
      }
      planned.push({ point, seed, name: `${point.id}_s${seed}`, overrides: o, config, parts: { sam: point.parts?.sam ?? 'S', policy: point.parts?.policy ?? preset } });
    }
  }
  return { def, planned, base };
}

interface LogRecord {
  step: number;
  loss: number;
  reward: number | null;
  mask_iou: number | null;
  step_time: number | null;
  warmup: boolean;
}

/** The per-step training records of a run's log.jsonl (the last record of a step wins: a resumed run re-logs steps it redid). */
export function readStepLog(file: string): LogRecord[] {
  if (!fs.existsSync(file)) return [];
  const bySteps = new Map<number, LogRecord>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a line cut by a kill
    }
    if (r.event !== 'train' || typeof r.step !== 'number') continue;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    bySteps.set(r.step, { step: r.step, loss: Number(r.loss), reward: num(r.reward), mask_iou: num(r.mask_iou), step_time: num(r.step_time), warmup: r.warmup === true });
  }
  return [...bySteps.values()].sort((a, b) => a.step - b.step);
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const r4 = (v: number | null) => (v == null || !Number.isFinite(v) ? null : Number(v.toFixed(4)));

/** Training-curve columns of a run: final reward/IoU/loss and samples-to-convergence. */
export function curveColumns(records: LogRecord[], config: CoprsTrainConfig): Record<string, Cell> {
  const grpo = records.filter((r) => !r.warmup && Number.isFinite(r.loss));
  const W = convergenceWindow(Math.max(1, config.steps - config.warmup.steps));
  const tail = grpo.slice(-W);
  const conv = samplesToConvergence(grpo.map((r) => r.step), grpo.map((r) => r.loss), config.batchSize, { window: W, firstGrpoStep: config.warmup.steps + 1 });
  const times = records.map((r) => r.step_time).filter((t): t is number => t != null);
  return {
    final_reward: r4(mean(tail.map((r) => r.reward).filter((v): v is number => v != null))),
    final_mask_iou: r4(mean(tail.map((r) => r.mask_iou).filter((v): v is number => v != null))),
    final_loss: r4(mean(tail.map((r) => r.loss))),
    conv_step: conv.step,
    conv_samples: conv.samples,
    conv_window: W,
    final_fluctuation: r4(conv.finalFluctuation),
    ms_per_step: times.length ? Math.round((mean(times) as number) * 1000) : null,
  };
}

/** The default point runner: stage 3 (trainCoprs, resumed from run/latest when there) then greedy evaluation. */
export async function runCoprsPoint(ctx: PointRunContext & { untilStep?: number }): Promise<PointOutcome | null> {
  const latest = path.join(ctx.runDir, 'latest', 'checkpoint.json');
  const resume = fs.existsSync(latest);
  const t = await trainCoprs(ctx.config, { out: ctx.runDir, sam: ctx.parts.sam, policy: ctx.parts.policy, resume, untilStep: ctx.untilStep, log: null });
  if (t.step < ctx.config.steps) return null; // stopped by untilStep: unfinished
  const evals: Record<string, SplitMetrics> = {};
  const { model } = loadCoprs(ctx.runDir);
  try {
    for (const [dataset, split] of ctx.evalSplits) {
      const r = await evaluateCoprs(model, { dataset, split, limit: ctx.evalLimit ?? undefined, maxTokens: ctx.config.rollout.maxTokens });
      evals[`${dataset}/${split}`] = { n: r.n, gIoU: r.gIoU, cIoU: r.cIoU, heatmapGIoU: r.heatmap.gIoU, heatmapCIoU: r.heatmap.cIoU, formatRate: r.formatRate };
      ctx.log(`[sweep]   ${dataset}/${split}: n ${r.n}, gIoU ${r.gIoU.toFixed(3)}, cIoU ${r.cIoU.toFixed(3)}, heatmap gIoU ${r.heatmap.gIoU.toFixed(3)} (${(r.ms / 1000).toFixed(1)} s)`);
    }
  } finally {
    model.dispose();
  }
  const p = t.parameters;
  return {
    eval: evals,
    columns: {
      params_total: p.total, params_policy: p.policy, params_image_encoder: p.imageEncoder, params_heatmap_head: p.heatmapHead,
      params_prompt_encoder: p.promptEncoder, params_mask_decoder: p.maskDecoder, train_seconds: Number(t.seconds.toFixed(1)),
      ...curveColumns(readStepLog(path.join(ctx.runDir, 'log.jsonl')), ctx.config),
    },
  };
}

/** The config columns of a point. */
function configColumns(ablation: string, pp: PlannedPoint, preset: PresetName): Record<string, Cell> {
  const c = pp.config;
  return {
    ablation, point: pp.point.id, label: pp.point.label, value: pp.point.value, is_default: !!pp.point.isDefault, seed: pp.seed, preset,
    steps: c.steps, warmup_steps: c.warmup.steps, G: c.grpo.G, batch_size: c.batchSize, prompts_per_step: c.batchSize / c.grpo.G, mode: c.mode,
    mask_weight: c.rewards.mask ?? 0, format_weight: c.rewards['format-paper'] ?? 0,
    lambda_d: c.seg.lambdaD, lambda_f: c.seg.lambdaF, lambda_d_after: c.seg.lambdaDAfter, lambda_f_after: c.seg.lambdaFAfter,
    sam_size: pp.parts.sam, policy_size: pp.parts.policy,
  };
}

/** Settings a sweep folder is bound to (a re-run must give the same; seeds may differ). */
function sweepSpec(ablation: string, preset: PresetName, opts: SweepOptions, evalLimit: number | null): Record<string, unknown> {
  return { ablation, preset, steps: opts.steps ?? null, overrides: opts.overrides ?? {}, options: opts.options ?? {}, evalLimit, samSteps: opts.samSteps ?? null, sftSteps: opts.sftSteps ?? null };
}

/** Run (or continue) a sweep; see the module comment. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const t0 = Date.now();
  const say = opts.log === undefined ? (l: string) => console.error(l) : opts.log ?? (() => {});
  const preset = parsePresetName(opts.preset);
  const { def, planned } = planSweep(opts.ablation, preset, opts);
  const evalLimit = opts.evalLimit !== undefined ? opts.evalLimit : SWEEP_EVAL_LIMIT[preset];
  if (evalLimit != null && (!Number.isInteger(evalLimit) || evalLimit < 1)) throw new Error(`sweep: the evaluation limit must be a positive integer (samples per split) or null (all), got ${evalLimit}`);
  if (opts.maxPoints != null && (!Number.isInteger(opts.maxPoints) || opts.maxPoints < 0)) throw new Error(`sweep: maxPoints must be an integer ≥ 0, got ${opts.maxPoints}`);
  const out = path.resolve(opts.out);
  fs.mkdirSync(out, { recursive: true });
  const specFile = path.join(out, 'sweep.json');
  const spec = sweepSpec(opts.ablation, preset, opts, evalLimit);
  if (fs.existsSync(specFile)) {
    const old = JSON.parse(fs.readFileSync(specFile, 'utf8')) as Record<string, unknown>;
    for (const k of Object.keys(spec)) {
      if (JSON.stringify(old[k] ?? null) !== JSON.stringify(spec[k])) {
        throw new Error(`${out} holds a sweep with ${k} = ${JSON.stringify(old[k] ?? null)}, this one has ${JSON.stringify(spec[k])}; re-run with the same settings to continue it, or choose another --out`);
      }
    }
  } else {
    writeFileAtomic(specFile, `${JSON.stringify(spec, null, 2)}\n`);
  }
  say(`[sweep] ${opts.ablation} (${def.paper}: ${def.title}), preset ${preset}: ${planned.length} points -> ${out}`);

  const rows: (ResultRow | null)[] = planned.map(() => null);
  const ran: string[] = [];
  const resumed: string[] = [];
  const skipped: string[] = [];
  let finishedNow = 0;
  let stopped = false;
  const meta = () => ({ ablation: opts.ablation, title: def.title, paper: def.paper, axis: def.axis, preset, spec });
  const flush = () => writeResults(out, rows.filter((r): r is ResultRow => r != null), meta());

  for (let i = 0; i < planned.length; i++) {
    const pp = planned[i];
    const pointDir = path.join(out, pp.name);
    const resultFile = path.join(pointDir, 'result.json');
    if (fs.existsSync(resultFile)) {
      const saved = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { row: ResultRow; parts?: { sam: string; policy: string } };
      // rows written before the part columns existed get them from the parts they recorded
      rows[i] = saved.row.sam_best === undefined && saved.parts ? { ...saved.row, ...partColumns(saved.parts) } : saved.row;
      skipped.push(pp.name);
      continue;
    }
    if (stopped || (opts.maxPoints != null && finishedNow >= opts.maxPoints)) {
      stopped = true;
      continue;
    }
    const runDir = path.join(pointDir, 'run');
    const latest = path.join(runDir, 'latest');
    const isResume = fs.existsSync(path.join(latest, 'checkpoint.json'));
    if (isResume) resumed.push(pp.name);
    say(`[sweep] point ${i + 1}/${planned.length} ${pp.name} (${pp.point.label})${isResume ? `: resuming at step ${readCheckpointMeta(latest).step}` : ''}`);
    const parts = await ensureParts({ preset, sam: pp.parts.sam, policy: pp.parts.policy, dir: opts.partsDir ? path.resolve(opts.partsDir) : path.join(out, 'parts'), shippedDir: opts.shippedDir, samSteps: opts.samSteps, sftSteps: opts.sftSteps, log: say });
    const tp = Date.now();
    const ctx: PointRunContext & { untilStep?: number } = {
      ablation: opts.ablation, preset, point: pp.point, seed: pp.seed, runDir, config: pp.config, parts: { sam: parts.sam, policy: parts.policy },
      evalSplits: EVAL_SPLITS, evalLimit, log: say, untilStep: opts.untilStep,
    };
    const outcome = def.runPoint ? await def.runPoint(ctx) : await runCoprsPoint(ctx);
    if (outcome == null) {
      say(`[sweep] ${pp.name} stopped unfinished (untilStep ${opts.untilStep}); a re-run resumes it`);
      stopped = true;
      continue;
    }
    const row: ResultRow = { ...configColumns(opts.ablation, pp, preset), sam_from: parts.samFrom, policy_from: parts.policyFrom, ...partColumns(parts), ...outcome.columns };
    for (const [d, s] of EVAL_SPLITS) Object.assign(row, splitCells(`${d}/${s}`, outcome.eval[`${d}/${s}`]));
    writeFileAtomic(resultFile, `${JSON.stringify({ row, eval: outcome.eval, config: pp.config, parts, seconds: (Date.now() - tp) / 1000 }, null, 2)}\n`);
    rows[i] = row;
    ran.push(pp.name);
    finishedNow += 1;
    flush();
    opts.onPoint?.(row);
    say(`[sweep] ${pp.name} done in ${((Date.now() - tp) / 1000).toFixed(0)} s (${tf.memory().numTensors} tensors live)`);
    if (opts.untilStep != null) stopped = true; // untilStep simulates one kill: stop after the point it applied to
  }
  const files = flush();
  const done = rows.filter((r): r is ResultRow => r != null);
  const pending = planned.filter((_, i) => rows[i] == null).map((p) => p.name);
  say(`[sweep] ${done.length}/${planned.length} points finished${pending.length ? `, ${pending.length} pending (re-run the same command to continue)` : ''}; results: ${files.csv}`);
  return { ablation: opts.ablation, preset, out, csv: files.csv, json: files.json, rows: done, ran, resumed, skipped, pending, complete: pending.length === 0, seconds: (Date.now() - t0) / 1000 };
}
