/**
 * Stage 2: the policy cold start (DESIGN §2), as a resumable run.
 *
 *   const r = await trainSft(resolveSftConfig('tiny'), { out: 'runs/sft-tiny', encoder: { kind: 'stub', ... } });
 *
 * Teacher-forced cross-entropy on `<think>${cot}</think> <REF_POS><eos>` given the image tokens,
 * the instruction and the query; the loss is the mean over RESPONSE tokens only (prompt and
 * padding are masked out), plus `auxPerception` × the auxiliary perception loss (perception.ts:
 * each vision token's object colour/shape/size, read by a linear head from the last hidden state at
 * the image positions; 0 = off). The mini-SAM encoder is frozen: each image is embedded once,
 * outside the gradient. AdamW (decay on weight matrices only) with linear warmup + cosine decay and
 * a global grad-norm clip. With `workers: 2` each batch is split over two threads (grad-worker.ts),
 * using both cores of a 2-core CPU.
 *
 * `SftTrainer` holds the state (model, AdamW moments, step, data-stream state, best held-out
 * metric) and does one step at a time; `trainSft` is the loop: OUT/log.jsonl, periodic held-out
 * evaluation (greedy generation on held-out TRAINING-scene samples: format validity and target
 * accuracy, and teacher-forced loss), OUT itself = the policy checkpoint of the best held-out step,
 * OUT/latest = weights + optimizer + step + stream states, for `resume`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { trainStream } from '../../data/shapeworld/index';
import { Rng, deriveSeed, type RngState } from '../../util/rng';
import { AdamW, type ParamGroup } from '../adamw';
import { assignParams, loadCheckpoint, recoverCheckpoint, type CheckpointMeta } from '../checkpoint';
import { JsonlLog } from '../jsonl';
import { lrFactor, type Schedule } from '../schedule';
import { PolicyModel } from '../../models/policy/model';
import { Tokenizer } from '../../models/policy/tokenizer';
import { packForScoring, scoreResponses } from '../../models/policy/logprobs';
import { embedImages, samImageEncoder, type ImageEncoderLike } from '../../models/policy/vision';
import { loadSamCheckpoint } from '../../models/sam/eval';
import { evaluatePolicy } from '../../models/policy/eval';
import { loadEncoder, samSource, savePolicy, writeModelCheckpoint, type EncoderSource, type PolicyCheckpointConfig } from '../../models/policy/checkpoint';
import { resolveSftConfig, type SftConfig } from './config';
import { SftData, makeBatch, type SftBatch, type SftDataState } from './data';
import { halfBatchGrads, joinLabels } from './grad-worker';
import { PerceptionHead } from './perception';
import { GradWorker } from './parallel';
import { loadVisionInit } from '../vision/trainer';
import { respreadEmbeddings } from './respread';

export const HELDOUT_METRIC = 'heldout.targetAccuracy';

export interface SftStepReport {
  step: number;
  /** Mean cross-entropy over the batch's response tokens. */
  loss: number;
  /** Mean auxiliary perception cross-entropy over its vision tokens (0 when off). */
  auxLoss: number;
  lr: number;
  gradNorm: number;
  /** Wall time of the step (data + embedding + forward + backward + update), ms. */
  ms: number;
  /** Of which drawing and encoding the batch's samples (images are embedded with the forward pass), ms. */
  dataMs: number;
  /** The worker thread's share (its half's embedding, forward and backward), ms; 0 without a worker. */
  workerMs: number;
  sequences: number;
  /** Rows trained with their listing as context (`listingFraction`). */
  listedRows: number;
  /** Rows trained on lookup drills (`lookupDrill.fraction`). */
  drilledRows: number;
  /** Prompt + response tokens (without padding) and the padded batch size B × L. */
  tokens: number;
  paddedTokens: number;
  responseTokens: number;
}

export interface SftHeldoutReport {
  step: number;
  /** Teacher-forced loss on the held-out samples. */
  loss: number;
  refshapes: { formatValidity: number; targetAccuracy: number };
  reasonshapes: { formatValidity: number; targetAccuracy: number };
  /** Mean target accuracy over both datasets: the best-checkpoint metric. */
  metric: number;
  improved: boolean;
  ms: number;
}

/** Weight matrices decay; norms, embeddings and position tables do not. The auxiliary head trains with the policy. */
function paramGroups(model: PolicyModel, cfg: SftConfig, aux: PerceptionHead | null): ParamGroup[] {
  const trainable = [...model.params.entries(), ...(aux ? aux.params.entries() : [])].filter(([, v]) => v.trainable);
  const decays = ([name, v]: [string, tf.Variable]): boolean => name.endsWith('.w') && v.rank === 2;
  const isVision = ([name]: [string, tf.Variable]): boolean => name.startsWith('vision.');
  const scale = cfg.visionInit.lrScale;
  const groups: ParamGroup[] = [
    { name: 'decay', vars: trainable.filter((e) => decays(e) && !(isVision(e) && scale !== 1)), weightDecay: cfg.optim.weightDecay },
    { name: 'noDecay', vars: trainable.filter((e) => !decays(e) && !(isVision(e) && scale !== 1)), weightDecay: 0 },
  ];
  if (scale !== 1 && scale > 0) {
    // the vision stack at its own rate (a pre-trained stack fine-tuned gently); 0 leaves it out: frozen
    groups.push({ name: 'visionDecay', vars: trainable.filter((e) => decays(e) && isVision(e)), weightDecay: cfg.optim.weightDecay, lrScale: scale });
    groups.push({ name: 'visionNoDecay', vars: trainable.filter((e) => !decays(e) && isVision(e)), weightDecay: 0, lrScale: scale });
  }
  return groups;
}

/** Same frozen encoder (kind, weights hash, stub seed): what resume and --init require. */
const sameEncoderSource = (a: EncoderSource, b: EncoderSource): boolean => a.kind === b.kind && a.sha256 === b.sha256 && a.seed === b.seed;
const describeEncoder = (e: EncoderSource): string => `${e.kind} ${e.dir ?? ''} ${e.sha256?.slice(0, 12) ?? e.seed}`;

/** Teacher-forced mean cross-entropy over response tokens (call inside a gradient or tidy). */
export function sftLoss(model: PolicyModel, batch: SftBatch, embedding: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const layout = packForScoring(model, batch.prompts, batch.responses);
    const r = scoreResponses(model, layout, model.visionTokens(embedding));
    return r.logProbs.sum().div(r.mask.sum()).neg() as tf.Scalar;
  });
}

export class SftTrainer {
  readonly model: PolicyModel;
  /** The auxiliary perception head (null with `auxPerception` 0). */
  readonly aux: PerceptionHead | null;
  readonly optimizer: AdamW;
  readonly data: SftData;
  readonly schedule: Schedule;
  /** Batch-order RNG (stored in checkpoints; the data order itself is derived from the seed). */
  readonly rng: Rng;
  step = 0;
  best: CheckpointMeta['best'] = null;
  /** Training wall time over all runs of this checkpoint line, ms. */
  elapsedMs = 0;
  /** Trainable parameter names, in the optimizer's order. */
  private readonly varNames: string[];
  private heldout: Sample[] | null = null;
  private worker: GradWorker | null = null;

  constructor(readonly config: SftConfig, readonly encoder: ImageEncoderLike, readonly source: EncoderSource, model?: PolicyModel) {
    this.model = model ?? new PolicyModel(config.model, Tokenizer.default(), encoder, config.seed);
    if (this.model.encoder.embedDim !== encoder.embedDim || this.model.encoder.gridSize !== encoder.gridSize) {
      throw new Error(`sft: the policy expects ${this.model.encoder.gridSize}×${this.model.encoder.gridSize}×${this.model.encoder.embedDim} image embeddings, the encoder gives ${encoder.gridSize}×${encoder.gridSize}×${encoder.embedDim}`);
    }
    const o = config.optim;
    this.aux = config.auxPerception > 0 ? new PerceptionHead(config.model.dim, deriveSeed(config.seed, 'aux-perception')) : null;
    this.optimizer = new AdamW(paramGroups(this.model, config, this.aux), { beta1: o.beta1, beta2: o.beta2, weightDecay: o.weightDecay, clipNorm: o.clipNorm });
    this.varNames = this.optimizer.groups.flatMap((g) => g.vars.map(([n]) => n));
    this.data = new SftData(this.model.tokenizer, {
      seed: config.seed, dataSeed: config.dataSeed, batchSize: config.batchSize, reasonFraction: config.reasonFraction, bucketBatches: config.bucketBatches, imageTokens: this.model.imageTokens, listingFraction: config.listingFraction, lookupDrill: config.lookupDrill,
    });
    this.schedule = { kind: 'warmup-cosine', warmup: o.warmup, total: config.steps, minFactor: o.minLrFactor };
    this.rng = new Rng(deriveSeed(config.seed, 'sft'));
  }

  /** Start the worker thread of `workers: 2` (no-op otherwise, or on a GPU backend). */
  async startWorkers(): Promise<void> {
    if (this.config.workers < 2 || this.worker) return;
    const backend = tf.getBackend();
    if (backend !== 'wasm' && backend !== 'cpu') return; // one device: data parallelism over threads would not help
    this.worker = await GradWorker.start(this.model.config, this.model.tokenizer.toJSON(), this.source, backend, this.config.auxPerception);
  }

  /** One optimizer step on the next batch (split over the worker thread when one is running). */
  async trainStep(): Promise<SftStepReport> {
    const t0 = Date.now();
    const batch = this.data.next();
    const dataMs = Date.now() - t0;
    const total = batch.responseTokens;
    const lr = this.config.optim.lr * lrFactor(this.schedule, this.step);
    // halves interleaved, so both get long and short rows alike
    const split = this.worker && batch.samples.length > 1;
    const mine = batch.samples.map((_, i) => i).filter((i) => !split || i % 2 === 0);
    const theirs = split ? batch.samples.map((_, i) => i).filter((i) => i % 2 === 1) : [];
    const withAux = this.aux != null && batch.tokenLabels.every((l) => l != null);
    const auxTotal = batch.samples.length * this.model.imageTokens;
    const pick = (idx: number[]) => ({
      prompts: idx.map((i) => batch.prompts[i]),
      responses: idx.map((i) => batch.responses[i]),
      images: idx.map((i) => batch.images[i]),
      labels: withAux ? joinLabels(idx.map((i) => batch.tokenLabels[i])) : null,
      lossMask: idx.map((i) => batch.lossMask[i]),
    });
    const remote = split
      ? this.worker!.step(this.varNames, this.varNames.map((n) => this.param(n).dataSync() as Float32Array), pick(theirs), total, auxTotal)
      : null;
    const a = pick(mine);
    const aux = withAux ? { head: this.aux!, labels: a.labels!, weight: this.config.auxPerception, totalTokens: auxTotal } : null;
    const local = halfBatchGrads(this.model, this.encoder, a.prompts, a.responses, a.images, total, this.varNames.map((n) => [n, this.param(n)]), aux, a.lossMask);
    let grads = local.grads;
    let lossSum = local.lossSum;
    let auxSum = local.auxSum;
    let remoteMs = 0;
    try {
      if (remote) {
        const r = await remote;
        remoteMs = r.ms;
        lossSum += r.lossSum;
        auxSum += r.auxSum;
        const summed: Record<string, tf.Tensor> = {};
        this.varNames.forEach((n, i) => {
          summed[n] = tf.tidy(() => local.grads[n].add(tf.tensor(r.grads[i], local.grads[n].shape)));
        });
        tf.dispose(Object.values(local.grads));
        grads = summed;
      }
      const gradNorm = this.optimizer.apply(grads, lr).gradNorm;
      this.step += 1;
      const ms = Date.now() - t0;
      this.elapsedMs += ms;
      const L = Math.max(...batch.prompts.map((p, i) => p.length + batch.responses[i].length));
      return {
        step: this.step, loss: lossSum / total, auxLoss: withAux ? auxSum / auxTotal : 0, lr, gradNorm, ms, dataMs, workerMs: remoteMs,
        sequences: batch.samples.length, listedRows: batch.listedRows, drilledRows: batch.drilledRows, tokens: batch.tokens, paddedTokens: L * batch.samples.length, responseTokens: total,
      };
    } finally {
      tf.dispose(Object.values(grads));
    }
  }

  /** A trainable parameter of the policy or of the auxiliary head, by name. */
  private param(name: string): tf.Variable {
    return this.model.params.has(name) ? this.model.params.get(name) : this.aux!.params.get(name);
  }

  /** The held-out samples: `heldout.samples` of each training stream at the held-out seed (training scenes). */
  heldoutSamples(): Sample[] {
    if (!this.heldout) {
      const n = this.config.heldout.samples;
      this.heldout = [...trainStream('refshapes', { seed: this.config.heldout.seed }).take(n), ...trainStream('reasonshapes', { seed: this.config.heldout.seed }).take(n)];
    }
    return this.heldout;
  }

  /** Greedy held-out evaluation and teacher-forced held-out loss; updates `best`. */
  async evaluateHeldout(): Promise<SftHeldoutReport> {
    const t0 = Date.now();
    const samples = this.heldoutSamples();
    const n = this.config.heldout.samples;
    const part = async (xs: Sample[]) => {
      const r = await evaluatePolicy(this.model, { samples: xs, encoder: this.encoder, maxTokens: this.config.heldout.maxTokens, batchSize: 24 });
      return { formatValidity: r.formatValidity, targetAccuracy: r.targetAccuracy };
    };
    const refshapes = await part(samples.slice(0, n));
    const reasonshapes = await part(samples.slice(n));
    let loss = 0;
    for (let i = 0; i < samples.length; i += 16) {
      const xs = samples.slice(i, i + 16);
      const emb = this.model.embedImages(this.encoder, xs.map((s) => s.image));
      const l = tf.tidy(() => sftLoss(this.model, makeBatch(this.model.tokenizer, xs, this.model.imageTokens), emb).dataSync()[0]);
      emb.dispose();
      loss += l * xs.length;
    }
    loss /= samples.length;
    const metric = (refshapes.targetAccuracy + reasonshapes.targetAccuracy) / 2;
    const improved = this.best == null || metric > this.best.value;
    if (improved) this.best = { metric: HELDOUT_METRIC, value: metric, step: this.step };
    return { step: this.step, loss, refshapes, reasonshapes, metric, improved, ms: Date.now() - t0 };
  }

  private saveOptions(): { step: number; best: CheckpointMeta['best']; rng: Record<string, RngState>; train: SftConfig; extra: Record<string, unknown> } {
    return {
      step: this.step,
      best: this.best,
      rng: { sft: this.rng.getState() },
      train: this.config,
      extra: { data: this.data.getState(), elapsedMs: this.elapsedMs, parameters: this.model.paramCount() },
    };
  }

  /** OUT/latest: weights + optimizer state + step + stream states. */
  async saveLatest(dir: string): Promise<CheckpointMeta> {
    const o = this.saveOptions();
    const opt = this.optimizer.stateTensors();
    const aux = this.aux ? this.aux.params.entries() : [];
    return savePolicy(dir, this.model, this.source, { ...o, extra: { ...o.extra, optimizerStep: opt.step }, extraTensors: [...aux, ...opt.tensors] });
  }

  /** The model checkpoint files (weights only) into a run folder. */
  async saveModel(dir: string): Promise<CheckpointMeta> {
    return writeModelCheckpoint(dir, this.model, this.source, this.saveOptions());
  }

  /**
   * Continue from OUT/latest: weights, optimizer state, step, RNG, stream states, best metric.
   * `steps` may extend (or shorten) the run; the encoder is the recorded one (its sha256 checked).
   */
  static resume(dir: string, opts: { steps?: number; encoder?: { encoder: ImageEncoderLike; source: EncoderSource } } = {}): { trainer: SftTrainer; disposeEncoder: () => void } {
    const { meta, tensors } = loadCheckpoint(dir, { kind: 'policy' });
    let disposeEncoder = () => {};
    try {
      const saved = meta.config as PolicyCheckpointConfig | null;
      if (!saved?.train || !saved.model || !saved.encoder) throw new Error(`checkpoint ${dir} has no training config (config.train); it cannot be resumed`);
      if (meta.extra.optimizerStep == null || meta.extra.data == null) throw new Error(`checkpoint ${dir} holds weights only (no optimizer or stream state): resume from OUT/latest`);
      const { preset, ...rest } = saved.train as SftConfig;
      const config = resolveSftConfig(preset, { ...rest, ...(opts.steps != null ? { steps: opts.steps } : {}) });
      let encoder: ImageEncoderLike;
      if (opts.encoder) {
        const a = opts.encoder.source;
        const b = saved.encoder;
        if (!sameEncoderSource(a, b)) throw new Error(`sft resume: the encoder given (${describeEncoder(a)}) is not the one this run trained with (${describeEncoder(b)})`);
        encoder = opts.encoder.encoder;
      } else {
        const e = loadEncoder(saved.encoder);
        encoder = e.encoder;
        disposeEncoder = e.dispose;
      }
      const model = new PolicyModel(config.model, Tokenizer.fromJSON(saved.tokenizer), saved.encoder, config.seed);
      const trainer = new SftTrainer(config, encoder, saved.encoder, model);
      try {
        assignParams(model.params, tensors);
        if (trainer.aux) assignParams(trainer.aux.params, tensors);
        trainer.optimizer.loadState(meta.extra.optimizerStep as number, tensors);
        trainer.rng.setState(meta.rng.sft as RngState);
        trainer.data.setState(meta.extra.data as SftDataState);
      } catch (e) {
        trainer.dispose();
        throw e;
      }
      trainer.step = meta.step;
      trainer.best = meta.best;
      trainer.elapsedMs = Number(meta.extra.elapsedMs ?? 0);
      return { trainer, disposeEncoder };
    } catch (e) {
      disposeEncoder();
      throw e;
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  /**
   * Start from a stage-2 checkpoint's weights (`sft.policyInit`, `--init DIR`): the policy, and the
   * auxiliary perception head when the folder holds one (OUT/latest does, a best-model folder does
   * not: the head then starts fresh). Optimizer, step and schedule stay new (a warm restart).
   */
  loadPolicyInit(dir: string): { step: number; aux: boolean } {
    const { meta, tensors } = loadCheckpoint(dir, { kind: 'policy' });
    try {
      const saved = meta.config as PolicyCheckpointConfig | null;
      if (!saved?.model || !saved.encoder || !saved.tokenizer) throw new Error(`--init ${dir}: the checkpoint records no model, encoder or vocabulary`);
      if (JSON.stringify(saved.model) !== JSON.stringify(this.config.model)) {
        throw new Error(`--init ${dir}: its policy (${JSON.stringify(saved.model)}) is not this run's (${JSON.stringify(this.config.model)}); use the same preset and model overrides`);
      }
      if (JSON.stringify(saved.tokenizer) !== JSON.stringify(this.model.tokenizer.toJSON())) throw new Error(`--init ${dir}: its vocabulary differs from this run's (a checkpoint of another kit version?)`);
      const a = saved.encoder;
      const b = this.source;
      if (!sameEncoderSource(a, b)) throw new Error(`--init ${dir}: it was trained on the encoder ${describeEncoder(a)}, this run reads ${describeEncoder(b)}`);
      assignParams(this.model.params, tensors);
      const aux = !!this.aux && this.aux.params.entries('').every(([n]) => tensors.has(n));
      if (aux) assignParams(this.aux!.params, tensors);
      return { step: meta.step, aux };
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  dispose(): void {
    void this.worker?.close();
    this.worker = null;
    this.optimizer.dispose();
    this.model.dispose();
    this.aux?.dispose();
  }
}

export interface TrainSftOptions {
  /** Output folder: the best model checkpoint, log.jsonl, latest/. */
  out: string;
  /** The frozen encoder and its source record (`encoderFromFlag` builds both). */
  encoder?: { encoder: ImageEncoderLike; source: EncoderSource };
  /** Continue from OUT/latest. */
  resume?: boolean;
  /** On resume: the new total number of steps (default: the checkpoint's). */
  steps?: number;
  /** Progress lines (default: stderr); null for silence. */
  log?: ((line: string) => void) | null;
  onStep?: (r: SftStepReport) => void;
  onHeldout?: (r: SftHeldoutReport) => void;
}

export interface TrainSftResult {
  out: string;
  step: number;
  best: CheckpointMeta['best'];
  /** Training wall time over all runs, s. */
  seconds: number;
  /** Mean ms per step of this run. */
  msPerStep: number;
  lastLoss: number;
  heldout: SftHeldoutReport | null;
  parameters: number;
}

/** The stage-2 loop (see the module comment). */
export async function trainSft(config: SftConfig, opts: TrainSftOptions): Promise<TrainSftResult> {
  const out = path.resolve(opts.out);
  const latest = path.join(out, 'latest');
  const log = opts.log === undefined ? (line: string) => console.error(line) : opts.log;
  let trainer: SftTrainer;
  let disposeEncoder = () => {};
  recoverCheckpoint(latest); // finish a save that a kill interrupted (see checkpoint.ts)
  recoverCheckpoint(out);
  if (opts.resume) {
    if (!fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`--resume: no checkpoint at ${latest}; start a new run without --resume`);
    const r = SftTrainer.resume(latest, { steps: opts.steps, encoder: opts.encoder });
    trainer = r.trainer;
    disposeEncoder = r.disposeEncoder;
    log?.(`[sft] resumed ${latest} at step ${trainer.step}/${trainer.config.steps}`);
  } else {
    if (!opts.encoder) throw new Error('trainSft: an encoder is required for a new run (the frozen mini-SAM)');
    if (fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`${out} already holds a run (latest/); pass --resume to continue it or choose another --out`);
    trainer = new SftTrainer(config, opts.encoder.encoder, opts.encoder.source);
    if (config.visionInit.dir) {
      const v = loadVisionInit(trainer.model, config.visionInit.dir, opts.encoder.source);
      log?.(`[sft] vision stack from ${config.visionInit.dir} (stage 1b step ${v.step}), learning rate ×${config.visionInit.lrScale}`);
    }
    if (config.policyInit.dir) {
      try {
        const p = trainer.loadPolicyInit(config.policyInit.dir);
        log?.(`[sft] policy from ${config.policyInit.dir} (its step ${p.step}; perception head ${p.aux ? 'too' : 'new'}); new optimizer and schedule`);
      } catch (e) {
        trainer.dispose();
        throw e;
      }
    }
  }
  const cfg = trainer.config;
  await trainer.startWorkers();
  const jsonl = new JsonlLog(path.join(out, 'log.jsonl'));
  let lastLoss = NaN;
  let heldout: SftHeldoutReport | null = null;
  let runMs = 0;
  let runSteps = 0;
  try {
    if (!opts.resume) {
      jsonl.write({ event: 'start', config: cfg, encoder: trainer.source, parameters: trainer.model.paramCount(), vocab: trainer.model.tokenizer.size });
      log?.(`[sft] ${cfg.preset}: ${trainer.model.paramCount()} parameters, vocabulary ${trainer.model.tokenizer.size}, ${cfg.steps} steps of ${cfg.batchSize}`);
    } else {
      jsonl.write({ event: 'resume', step: trainer.step, steps: cfg.steps });
    }
    const acc = { loss: 0, auxLoss: 0, gradNorm: 0, ms: 0, dataMs: 0, tokens: 0, padded: 0, n: 0 };
    const runHeldout = async () => {
      const r = await trainer.evaluateHeldout();
      heldout = r;
      jsonl.write({ event: 'heldout', ...r });
      log?.(`[sft] step ${r.step} held-out: loss ${r.loss.toFixed(4)}, refshapes acc ${r.refshapes.targetAccuracy.toFixed(3)} fmt ${r.refshapes.formatValidity.toFixed(3)}, reasonshapes acc ${r.reasonshapes.targetAccuracy.toFixed(3)} fmt ${r.reasonshapes.formatValidity.toFixed(3)}${r.improved ? ' (best)' : ''} [${(r.ms / 1000).toFixed(1)} s]`);
      if (r.improved) await trainer.saveModel(out);
      opts.onHeldout?.(r);
    };
    while (trainer.step < cfg.steps) {
      if (cfg.respread.steps.includes(trainer.step)) {
        const rep = respreadEmbeddings(trainer.model, cfg.respread.threshold);
        jsonl.write({ event: 'respread', step: trainer.step, groups: rep });
        for (const g of rep.filter((x) => x.applied)) log?.(`[sft] step ${trainer.step}: re-spread ${g.group} in ${g.table} (mean cosine ${g.before.toFixed(3)} -> ${g.after.toFixed(3)})`);
      }
      const r = await trainer.trainStep();
      runMs += r.ms;
      runSteps += 1;
      lastLoss = r.loss;
      acc.loss += r.loss;
      acc.auxLoss += r.auxLoss;
      acc.gradNorm += r.gradNorm;
      acc.ms += r.ms;
      acc.dataMs += r.dataMs;
      acc.tokens += r.tokens;
      acc.padded += r.paddedTokens;
      acc.n += 1;
      opts.onStep?.(r);
      if (r.step % cfg.logEvery === 0 || r.step === cfg.steps) {
        const rec = {
          event: 'train', step: r.step, loss: acc.loss / acc.n, auxLoss: acc.auxLoss / acc.n, lr: r.lr, gradNorm: acc.gradNorm / acc.n, msPerStep: acc.ms / acc.n, dataMsPerStep: acc.dataMs / acc.n,
          tokensPerSec: (acc.tokens / acc.ms) * 1000, padding: 1 - acc.tokens / acc.padded, samples: r.step * cfg.batchSize, elapsedSec: trainer.elapsedMs / 1000,
        };
        jsonl.write(rec);
        log?.(`[sft] step ${r.step}/${cfg.steps} loss ${rec.loss.toFixed(4)}${trainer.aux ? ` aux ${rec.auxLoss.toFixed(3)}` : ''} lr ${r.lr.toExponential(2)} |g| ${rec.gradNorm.toFixed(2)} ${rec.msPerStep.toFixed(0)} ms/step (${rec.dataMsPerStep.toFixed(0)} data)`);
        Object.assign(acc, { loss: 0, auxLoss: 0, gradNorm: 0, ms: 0, dataMs: 0, tokens: 0, padded: 0, n: 0 });
      }
      if (cfg.heldout.samples > 0 && cfg.heldout.every > 0 && r.step % cfg.heldout.every === 0 && r.step < cfg.steps) await runHeldout();
      if (r.step % cfg.checkpointEvery === 0 || r.step === cfg.steps) await trainer.saveLatest(latest);
      await new Promise((res) => setImmediate(res));
    }
    if (cfg.heldout.samples > 0 && (heldout == null || (heldout as SftHeldoutReport).step !== trainer.step)) await runHeldout();
    if (cfg.heldout.samples === 0 || !fs.existsSync(path.join(out, 'checkpoint.json'))) await trainer.saveModel(out);
    await trainer.saveLatest(latest);
    jsonl.write({ event: 'end', step: trainer.step, best: trainer.best, elapsedSec: trainer.elapsedMs / 1000 });
    return {
      out,
      step: trainer.step,
      best: trainer.best,
      seconds: trainer.elapsedMs / 1000,
      msPerStep: runSteps > 0 ? runMs / runSteps : 0,
      lastLoss,
      heldout,
      parameters: trainer.model.paramCount(),
    };
  } finally {
    jsonl.close();
    trainer.dispose();
    disposeEncoder();
  }
}

/** The encoder and its record for `--sam DIR` ('stub' = a random stub, development only). */
export function encoderFromFlag(sam: string | undefined, stubDims: { embedDim: number; gridSize: number } = { embedDim: 64, gridSize: 16 }): { encoder: ImageEncoderLike; source: EncoderSource; dispose: () => void } {
  if (sam == null || sam === '') {
    throw new Error('--sam DIR is required: the frozen mini-SAM checkpoint the policy reads (the shipped one is data/checkpoints/sam-S, once stage 1 has produced it); `--sam stub` trains against a random stub encoder, for development only');
  }
  if (sam === 'stub') {
    const source: EncoderSource = { kind: 'stub', embedDim: stubDims.embedDim, gridSize: stubDims.gridSize, seed: 1 };
    const e = loadEncoder(source);
    return { encoder: e.encoder, source, dispose: e.dispose };
  }
  let dir = sam;
  if (!fs.existsSync(path.join(dir, 'checkpoint.json')) && fs.existsSync(path.join(dir, 'best', 'checkpoint.json'))) dir = path.join(dir, 'best');
  if (!fs.existsSync(path.join(dir, 'checkpoint.json'))) throw new Error(`--sam ${sam}: no mini-SAM checkpoint there (no checkpoint.json, nor best/checkpoint.json); train one with \`coprs train sam\``);
  const model = loadSamCheckpoint(dir);
  const encoder = samImageEncoder(model);
  return { encoder, source: samSource(dir, encoder.embedDim, encoder.gridSize), dispose: () => model.dispose() };
}
