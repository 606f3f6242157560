/**
 * Stage 1: mini-SAM pretraining (DESIGN §2), as a resumable run.
 *
 *   const result = await trainSam(resolveSamTrainConfig('tiny'), { out: 'runs/sam-tiny' });
 *
 * `SamTrainer` holds the state (model, AdamW moments, step, prompt RNG, train-stream position,
 * best validation metric) and does one step at a time; `trainSam` is the loop: log lines to
 * OUT/log.jsonl, periodic validation on the first `val.limit` refshapes val samples (box and point
 * mIoU; the metric is their mean), OUT/latest (weights + optimizer state + RNG + stream state, for
 * `resume`) and OUT/best (weights only, the best validation metric so far).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { trainStream } from '../../data/shapeworld/splits';
import type { ShapeWorldStream, StreamState } from '../../data/shapeworld/splits';
import { loadSplit } from '../../data/shapeworld/store';
import { SamConfig, resolveSamConfig } from '../../models/sam/config';
import { buildSamFromConfig } from '../../models/sam/build-sam';
import { evaluateSam } from '../../models/sam/eval';
import type { Sam } from '../../models/sam/sam';
import { Rng, RngState, deriveSeed } from '../../util/rng';
import { AdamW, ParamGroup } from '../adamw';
import { CheckpointMeta, assignParams, loadCheckpoint, recoverCheckpoint, saveCheckpoint } from '../checkpoint';
import { JsonlLog } from '../jsonl';
import { Schedule, lrFactor } from '../schedule';
import { SAM_TRAIN_PRESETS, SamTrainConfig, resolveSamTrainConfig } from './config';
import { buildTrainBatch } from './batch';
import { SamLossParts, samLossFn } from './step';

/** What one training step reports. */
export interface SamStepReport extends SamLossParts {
  step: number;
  lr: number;
  gradNorm: number;
  /** Wall time of the step, ms (data + forward + backward + update). */
  ms: number;
  /** Of which data generation and batch building, ms. */
  dataMs: number;
  prompts: number;
}

export interface SamValReport {
  step: number;
  boxMIoU: number;
  pointMIoU: number;
  /** The validation metric: mean of box and point mIoU. */
  metric: number;
  count: number;
}

const VAL_METRIC = 'val.mIoU(box,point)';

/** Trainable parameters split into decayed (weight matrices, kernels) and not decayed (biases, norms, embeddings). */
function paramGroups(sam: Sam, cfg: SamTrainConfig): ParamGroup[] {
  const trainable = sam.params.entries().filter(([, v]) => v.trainable);
  const decays = ([name, v]: [string, tf.Variable]): boolean => name.endsWith('.w') && v.rank >= 2;
  return [
    { name: 'decay', vars: trainable.filter(decays), weightDecay: cfg.optim.weightDecay },
    { name: 'noDecay', vars: trainable.filter((e) => !decays(e)), weightDecay: 0 },
  ];
}

/** Rethrow wasm's out-of-memory abort with what to change (the wasm heap is at most 4 GB). */
function withHeapHint<T>(fn: () => T, prompts: number, cfg: SamTrainConfig): T {
  try {
    return fn();
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (tf.getBackend() === 'wasm' && /memory access out of bounds|Aborted|Out of memory|Cannot enlarge memory/i.test(msg)) {
      throw new Error(`the wasm heap (4 GB at most) ran out in a step of ${cfg.imagesPerStep} images x ${cfg.promptsPerImage} prompts (${prompts} prompts per decoder round); lower imagesPerStep or promptsPerImage, or use a GPU backend (the base preset is sized for one) [${msg}]`);
    }
    throw e;
  }
}

export class SamTrainer {
  readonly sam: Sam;
  readonly model: SamConfig;
  readonly optimizer: AdamW;
  readonly stream: ShapeWorldStream;
  readonly rng: Rng;
  readonly schedule: Schedule;
  step = 0;
  best: CheckpointMeta['best'] = null;
  /** Training wall time over all runs of this checkpoint line, ms. */
  elapsedMs = 0;
  private readonly vars: tf.Variable[];
  private readonly nameOf = new Map<string, string>();

  constructor(readonly config: SamTrainConfig, state?: { sam: Sam; model: SamConfig }) {
    this.model = state?.model ?? resolveSamConfig(config.size, config.model ?? undefined);
    this.sam = state?.sam ?? buildSamFromConfig(this.model, config.seed);
    this.optimizer = new AdamW(paramGroups(this.sam, config), {
      beta1: config.optim.beta1, beta2: config.optim.beta2, weightDecay: config.optim.weightDecay, clipNorm: config.optim.clipNorm,
    });
    this.vars = this.optimizer.groups.flatMap((g) => g.vars.map(([, v]) => v));
    for (const g of this.optimizer.groups) for (const [name, v] of g.vars) this.nameOf.set(v.name, name);
    this.stream = trainStream('refshapes', { seed: config.dataSeed });
    this.rng = new Rng(deriveSeed(config.seed, 'sam-prompts'));
    this.schedule = { kind: 'warmup-cosine', warmup: config.optim.warmup, total: config.steps, minFactor: config.optim.minLrFactor };
  }

  /** One optimizer step on the next batch of the stream. */
  trainStep(): SamStepReport {
    const t0 = Date.now();
    const cfg = this.config;
    const samples = this.stream.take(cfg.imagesPerStep);
    const batch = buildTrainBatch(this.sam, samples, cfg, this.rng);
    const dataMs = Date.now() - t0;
    const parts: { value?: SamLossParts } = {};
    const lr = cfg.optim.lr * lrFactor(this.schedule, this.step);
    let gradNorm = 0;
    try {
      const { value, grads } = withHeapHint(() => tf.variableGrads(samLossFn(this.sam, batch, cfg, this.rng, parts), this.vars), batch.items.length, cfg);
      const byName: Record<string, tf.Tensor> = {};
      for (const [vn, g] of Object.entries(grads)) byName[this.nameOf.get(vn)!] = g;
      try {
        gradNorm = this.optimizer.apply(byName, lr).gradNorm;
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
    } finally {
      batch.images.dispose();
    }
    this.step += 1;
    const ms = Date.now() - t0;
    this.elapsedMs += ms;
    return { step: this.step, lr, gradNorm, ms, dataMs, prompts: batch.items.length, ...parts.value! };
  }

  /** Box and point mIoU on the given validation samples; updates `best`. */
  async validate(samples: Sample[]): Promise<SamValReport & { improved: boolean }> {
    const box = await evaluateSam(this.sam, { samples, prompt: 'box' });
    const point = await evaluateSam(this.sam, { samples, prompt: 'point' });
    const metric = (box.mIoU + point.mIoU) / 2;
    const improved = this.best == null || metric > this.best.value;
    if (improved) this.best = { metric: VAL_METRIC, value: metric, step: this.step };
    return { step: this.step, boxMIoU: box.mIoU, pointMIoU: point.mIoU, metric, count: box.count, improved };
  }

  /** Write a checkpoint (kind 'sam'); with the optimizer state for `latest`, weights only for `best`. */
  async save(dir: string, withOptimizer: boolean): Promise<CheckpointMeta> {
    const tensors: [string, tf.Tensor][] = this.sam.params.entries();
    const opt = this.optimizer.stateTensors();
    if (withOptimizer) tensors.push(...opt.tensors);
    const extra: Record<string, unknown> = { stream: this.stream.getState(), elapsedMs: this.elapsedMs, parameters: this.sam.parameterCounts() };
    if (withOptimizer) extra.optimizerStep = opt.step;
    return saveCheckpoint(dir, {
      kind: 'sam',
      size: this.config.size,
      config: { model: this.model, train: this.config },
      step: this.step,
      best: this.best,
      rng: { prompts: this.rng.getState() },
      tensors,
      extra,
    });
  }

  /**
   * Continue from a `latest` checkpoint: weights, optimizer state, step, prompt RNG, stream state,
   * best metric. `steps` may extend (or shorten) the run; everything else comes from the checkpoint.
   */
  static resume(dir: string, overrides: { steps?: number } = {}): SamTrainer {
    const { meta, tensors } = loadCheckpoint(dir, { kind: 'sam' });
    try {
      const saved = meta.config as { model?: SamConfig; train?: SamTrainConfig } | null;
      if (!saved?.train || !saved.model) throw new Error(`checkpoint ${dir} has no training config (config.train / config.model); it cannot be resumed`);
      if (meta.extra.optimizerStep == null || meta.extra.stream == null) throw new Error(`checkpoint ${dir} holds weights only (no optimizer or stream state): resume from OUT/latest, not OUT/best`);
      const { preset, ...rest } = saved.train;
      const train = resolveSamTrainConfig(preset, { ...rest, ...(overrides.steps != null ? { steps: overrides.steps } : {}) });
      const model = resolveSamConfig(train.size, saved.model);
      const sam = buildSamFromConfig(model, train.seed);
      const trainer = new SamTrainer(train, { sam, model });
      try {
        assignParams(sam.params, tensors);
        trainer.optimizer.loadState(meta.extra.optimizerStep as number, tensors);
        trainer.rng.setState(meta.rng.prompts as RngState);
        trainer.stream.setState(meta.extra.stream as StreamState);
      } catch (e) {
        trainer.dispose();
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
    this.sam.dispose();
  }
}

export interface TrainSamOptions {
  /** Output folder: log.jsonl, latest/, best/. */
  out: string;
  /** Continue from OUT/latest. */
  resume?: boolean;
  /** On resume: the new total number of steps (default: the checkpoint's). */
  steps?: number;
  /** Stop this run at this step (the schedule still spans the config's steps); resume later with `resume`. */
  untilStep?: number;
  /** Progress lines (default: stderr); null for silence. */
  log?: ((line: string) => void) | null;
  /** Called after every step (notebook live curves). */
  onStep?: (report: SamStepReport) => void;
  /** Called after every validation. */
  onVal?: (report: SamValReport) => void;
}

export interface TrainSamResult {
  ok: true;
  out: string;
  preset: string;
  size: string;
  /** Step reached. */
  step: number;
  /** Step this run started from (0 unless resumed). */
  startStep: number;
  resumed: boolean;
  /** Wall time of this run, ms. */
  wallMs: number;
  /** Training wall time over all runs of the checkpoint line, ms. */
  trainMs: number;
  /** Mean ms per step in this run (validation and checkpoints excluded). */
  msPerStep: number;
  /** Loss of the first and last step of this run. */
  firstLoss: number | null;
  lastLoss: number | null;
  last: SamStepReport | null;
  lastVal: SamValReport | null;
  best: CheckpointMeta['best'];
  parameters: ReturnType<Sam['parameterCounts']>;
  latest: string;
  bestDir: string | null;
  config: SamTrainConfig;
}

/** Run (or resume) stage-1 training; see the module comment. */
export async function trainSam(config: SamTrainConfig, opts: TrainSamOptions): Promise<TrainSamResult> {
  const t0 = Date.now();
  const out = path.resolve(opts.out);
  const latestDir = path.join(out, 'latest');
  const bestDir = path.join(out, 'best');
  const say = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  let trainer: SamTrainer;
  recoverCheckpoint(latestDir); // finish a save that a kill interrupted (see checkpoint.ts)
  if (opts.resume) {
    if (!fs.existsSync(path.join(latestDir, 'checkpoint.json'))) throw new Error(`--resume: no checkpoint at ${latestDir}; start a new run without --resume`);
    trainer = SamTrainer.resume(latestDir, { steps: opts.steps });
  } else {
    if (fs.existsSync(path.join(latestDir, 'checkpoint.json'))) throw new Error(`${latestDir} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
    trainer = new SamTrainer(config);
  }
  const cfg = trainer.config;
  fs.mkdirSync(out, { recursive: true });
  const log = new JsonlLog(path.join(out, 'log.jsonl'), { truncate: !opts.resume });
  const startStep = trainer.step;
  let last: SamStepReport | null = null;
  let lastVal: SamValReport | null = null;
  let firstLoss: number | null = null;
  let stepMs = 0;
  let stepsRun = 0;
  try {
    log.write({ type: 'start', step: trainer.step, resumed: !!opts.resume, backend: tf.getBackend(), preset: cfg.preset, size: cfg.size, parameters: trainer.sam.parameterCounts(), config: cfg });
    say?.(`[sam] ${opts.resume ? 'resuming' : 'training'} mini-SAM ${cfg.size} (${cfg.preset}) from step ${trainer.step} to ${cfg.steps} on ${tf.getBackend()}, ${trainer.sam.parameterCounts().total} parameters -> ${out}`);
    const valSamples = await loadSplit('refshapes', 'val', { limit: cfg.val.limit });
    let windowMs = 0;
    let windowSteps = 0;
    const stopAt = Math.min(cfg.steps, opts.untilStep ?? Infinity);
    while (trainer.step < stopAt) {
      const rep = trainer.trainStep();
      last = rep;
      if (firstLoss == null) firstLoss = rep.loss;
      stepMs += rep.ms;
      stepsRun += 1;
      windowMs += rep.ms;
      windowSteps += 1;
      opts.onStep?.(rep);
      const isLast = trainer.step >= cfg.steps;
      const stopping = trainer.step >= stopAt;
      if (trainer.step % cfg.logEvery === 0 || stopping) {
        const msPerStep = windowMs / windowSteps;
        log.write({
          type: 'train', step: rep.step, loss: rep.loss, focal: rep.focal, dice: rep.dice, iou: rep.iou, multimask: rep.multimask,
          roundIoU: rep.roundIoU, lr: rep.lr, gradNorm: rep.gradNorm, msPerStep, dataMs: rep.dataMs, prompts: rep.prompts,
        });
        say?.(`[sam] step ${rep.step}/${cfg.steps} loss ${rep.loss.toFixed(4)} (focal ${rep.focal.toFixed(4)} dice ${rep.dice.toFixed(4)} iou ${rep.iou.toFixed(4)}) roundIoU ${rep.roundIoU.map((v) => v.toFixed(3)).join('/')} lr ${rep.lr.toExponential(2)} |g| ${rep.gradNorm.toFixed(2)} ${msPerStep.toFixed(0)} ms/step`);
        windowMs = 0;
        windowSteps = 0;
      }
      if ((cfg.val.every > 0 && trainer.step % cfg.val.every === 0) || isLast) {
        const v = await trainer.validate(valSamples);
        lastVal = v;
        log.write({ type: 'val', step: v.step, boxMIoU: v.boxMIoU, pointMIoU: v.pointMIoU, metric: v.metric, count: v.count, best: trainer.best });
        say?.(`[sam] val @${v.step}: box mIoU ${v.boxMIoU.toFixed(4)}, point mIoU ${v.pointMIoU.toFixed(4)} (${v.count} samples)${v.improved ? ' — best so far' : ''}`);
        opts.onVal?.(v);
        if (v.improved) await trainer.save(bestDir, false);
      }
      if (trainer.step % cfg.checkpointEvery === 0 || stopping) await trainer.save(latestDir, true);
    }
    log.write({ type: 'end', step: trainer.step, trainMs: trainer.elapsedMs, best: trainer.best });
    return {
      ok: true,
      out,
      preset: cfg.preset,
      size: cfg.size,
      step: trainer.step,
      startStep,
      resumed: !!opts.resume,
      wallMs: Date.now() - t0,
      trainMs: trainer.elapsedMs,
      msPerStep: stepsRun > 0 ? stepMs / stepsRun : 0,
      firstLoss,
      lastLoss: last?.loss ?? null,
      last,
      lastVal,
      best: trainer.best,
      parameters: trainer.sam.parameterCounts(),
      latest: latestDir,
      bestDir: fs.existsSync(bestDir) ? bestDir : null,
      config: cfg,
    };
  } finally {
    log.close();
    trainer.dispose();
  }
}

/**
 * A few timed training steps of a preset and size (for `coprs bench`): one warm-up step, then
 * `steps` timed ones. Nothing is written to disk.
 */
export async function benchSamStep(preset = 'small', size = 'S', opts: { steps?: number } = {}): Promise<{
  preset: string; size: string; backend: string; msPerStep: number; dataMsPerStep: number; steps: number; imagesPerStep: number; promptsPerStep: number; rounds: number; parameters: number;
}> {
  const cfg = resolveSamTrainConfig(preset, { size, steps: Math.max(SAM_TRAIN_PRESETS.tiny.steps, 1000) });
  const trainer = new SamTrainer(cfg);
  try {
    trainer.trainStep();
    const n = opts.steps ?? 3;
    let ms = 0;
    let dataMs = 0;
    let prompts = 0;
    for (let i = 0; i < n; i++) {
      const r = trainer.trainStep();
      ms += r.ms;
      dataMs += r.dataMs;
      prompts += r.prompts;
    }
    return {
      preset: cfg.preset, size: cfg.size, backend: tf.getBackend(), msPerStep: ms / n, dataMsPerStep: dataMs / n, steps: n,
      imagesPerStep: cfg.imagesPerStep, promptsPerStep: prompts / n, rounds: 1 + cfg.prompts.refineRounds + (cfg.prompts.maskOnlyRound ? 1 : 0), parameters: trainer.sam.parameterCounts().total,
    };
  } finally {
    trainer.dispose();
  }
}
