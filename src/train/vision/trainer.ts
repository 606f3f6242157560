/**
 * Stage 1b — vision pre-training of the policy's vision stack (`coprs train vision`).
 *
 * Why (issue #3, README "Vision pre-training"): the paper's policy starts from Qwen2.5-VL, whose
 * vision tower was pre-trained before any instruction tuning; the kit's policy trained its patch
 * tower from scratch inside stage 2, where the only signals are the chain-of-thought cross-entropy
 * and a per-token perception loss read through the decoder. Its chains listed the objects with the
 * wrong shapes (the shipped policy: target shape right in 41 of 80 refshapes val conclusions). This
 * stage trains the vision stack alone — patch tower, projector, position table; the mini-SAM stays
 * frozen — with a linear read-out (head.ts) of the per-token targets of labels.ts, the role of a
 * VLM's vision pre-training. `coprs train sft --vision DIR` then starts stage 2 from it.
 *
 * Loop: each step draws B training scenes (half refshapes, half reasonshapes streams), embeds them
 * with the frozen encoder outside the gradient, and takes one AdamW step (warmup + cosine) on the
 * read-out loss. OUT holds the final weights (kind `vision`), OUT/latest the resumable state,
 * OUT/log.jsonl the log (train lines; held-out accuracies every `heldout.every` steps).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { trainStream } from '../../data/shapeworld/index';
import type { EncoderSource } from '../../models/policy/checkpoint';
import { PolicyModel } from '../../models/policy/model';
import { Tokenizer } from '../../models/policy/tokenizer';
import type { ImageEncoderLike } from '../../models/policy/vision';
import { AdamW } from '../adamw';
import { assignParams, installCheckpointFiles, loadCheckpoint, recoverCheckpoint, saveCheckpoint } from '../checkpoint';
import { joinLabels } from '../sft/grad-worker';
import { JsonlLog } from '../jsonl';
import { lrFactor } from '../schedule';
import { deriveSeed } from '../../util/rng';
import type { VisionPretrainConfig } from './config';
import { VisionReadout, type ReadoutMetrics } from './head';
import { centreLabels, coveringLabels } from './labels';

export const VISION_KIND = 'vision';

/** Same frozen encoder: kind, weights (sha256) and, for the stub, seed. */
const sameEncoder = (a: EncoderSource, b: EncoderSource): boolean => a.kind === b.kind && a.sha256 === b.sha256 && a.seed === b.seed && a.embedDim === b.embedDim && a.gridSize === b.gridSize;
const describe = (e: EncoderSource): string => `${e.kind} ${e.dir ?? ''} ${e.sha256 ? e.sha256.slice(0, 12) + '…' : `seed ${e.seed}`}`.replace(/\s+/g, ' ');

/** Labels of a batch of samples, concatenated (covering B·N × 3, centre B·N × 4). */
export function batchLabels(samples: Sample[], tokenGrid: number): { covering: Int32Array; centre: Int32Array } {
  // both label functions throw rather than return null, so the joins are never null
  return { covering: joinLabels(samples.map((s) => coveringLabels(s, tokenGrid)))!, centre: joinLabels(samples.map((s) => centreLabels(s, tokenGrid)))! };
}

export interface VisionStepReport {
  step: number;
  loss: number;
  covering: number;
  objectness: number;
  centre: number;
  lr: number;
  gradNorm: number;
  ms: number;
}

export class VisionPretrainer {
  readonly model: PolicyModel;
  readonly readout: VisionReadout;
  readonly optimizer: AdamW;
  private readonly vars: [string, tf.Variable][];
  private readonly streams: { refshapes: number; reasonshapes: number };
  step = 0;

  constructor(readonly config: VisionPretrainConfig, readonly encoder: ImageEncoderLike, readonly source: EncoderSource) {
    // the same construction (and seed) as stage 2's policy, so the weights map one to one
    this.model = new PolicyModel(config.model, Tokenizer.default(), encoder, config.seed);
    this.readout = new VisionReadout(config.model.dim, deriveSeed(config.seed, 'vision-readout'));
    this.vars = [...this.model.params.entries('vision'), ...this.readout.params.entries()];
    const decays = ([name, v]: [string, tf.Variable]): boolean => name.endsWith('.w') && v.rank === 2;
    const o = config.optim;
    this.optimizer = new AdamW(
      [
        { name: 'decay', vars: this.vars.filter(decays), weightDecay: o.weightDecay },
        { name: 'noDecay', vars: this.vars.filter((e) => !decays(e)), weightDecay: 0 },
      ],
      { beta1: o.beta1, beta2: o.beta2, weightDecay: o.weightDecay, clipNorm: o.clipNorm },
    );
    this.streams = { refshapes: 0, reasonshapes: 0 };
  }

  /** The next batch: B/2 refshapes and B/2 reasonshapes training scenes. */
  private nextBatch(): Sample[] {
    const half = this.config.batchSize / 2;
    const take = (ds: 'refshapes' | 'reasonshapes'): Sample[] => {
      const s = trainStream(ds, { seed: deriveSeed(this.config.dataSeed, ds), start: this.streams[ds] }).take(half);
      this.streams[ds] += half;
      return s;
    };
    return [...take('refshapes'), ...take('reasonshapes')];
  }

  trainStep(): VisionStepReport {
    const t0 = Date.now();
    const batch = this.nextBatch();
    const { covering, centre } = batchLabels(batch, this.config.model.vision.tokenGrid);
    const e = this.model.embedImages(this.encoder, batch.map((s) => s.image)); // frozen: outside the gradient
    const parts: Record<string, number> = {};
    const { value, grads } = tf.variableGrads(() => {
      const r = this.readout.loss(this.model.visionTokens(e), covering, centre);
      parts.covering = r.covering.dataSync()[0];
      parts.objectness = r.objectness.dataSync()[0];
      parts.centre = r.centre.dataSync()[0];
      return r.loss;
    }, this.vars.map(([, v]) => v));
    e.dispose();
    const loss = value.dataSync()[0];
    value.dispose();
    const named: Record<string, tf.Tensor> = {};
    for (const [n, v] of this.vars) named[n] = grads[v.name];
    try {
      if (!Number.isFinite(loss)) throw new Error(`vision pre-training: non-finite loss ${loss} at step ${this.step + 1}; no weights were changed`);
      const o = this.config.optim;
      const lr = o.lr * lrFactor({ kind: 'warmup-cosine', warmup: o.warmup, total: this.config.steps, minFactor: o.minLrFactor }, this.step);
      const { gradNorm } = this.optimizer.apply(named, lr);
      this.step += 1;
      return { step: this.step, loss, covering: parts.covering, objectness: parts.objectness, centre: parts.centre, lr, gradNorm, ms: Date.now() - t0 };
    } finally {
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  /** Read-out accuracies on the held-out scenes (training-scene stream, its own seed). */
  heldout(): ReadoutMetrics & { n: number } {
    const n = this.config.heldout.samples;
    const samples = trainStream('refshapes', { seed: this.config.heldout.seed }).take(n);
    const { covering, centre } = batchLabels(samples, this.config.model.vision.tokenGrid);
    const e = this.model.embedImages(this.encoder, samples.map((s) => s.image));
    const tok = this.model.visionTokens(e);
    try {
      return { ...this.readout.metrics(tok, covering, centre), n };
    } finally {
      e.dispose();
      tok.dispose();
    }
  }

  private tensors(withState: boolean): [string, tf.Tensor][] {
    const t: [string, tf.Tensor][] = [...this.vars];
    if (withState) t.push(...this.optimizer.stateTensors().tensors);
    return t;
  }

  /** OUT/latest (`withState`: optimizer and streams, for --resume) or the run folder's model files (installed beside latest/ and log.jsonl). */
  async save(dir: string, withState: boolean): Promise<void> {
    if (withState) {
      await this.write(dir, true);
      return;
    }
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.model-${process.pid}-${Date.now()}`);
    try {
      await this.write(tmp, false);
      installCheckpointFiles(tmp, dir);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  private async write(dir: string, withState: boolean): Promise<void> {
    await saveCheckpoint(dir, {
      kind: VISION_KIND,
      size: this.config.preset,
      config: { train: this.config, model: this.config.model, encoder: this.source },
      step: this.step,
      tensors: this.tensors(withState),
      extra: withState ? { optimizerStep: this.optimizer.step, streams: this.streams } : {},
    });
  }

  /** Continue from OUT/latest. */
  restore(dir: string): void {
    const { meta, tensors } = loadCheckpoint(dir, { kind: VISION_KIND });
    try {
      const saved = meta.config as { encoder: EncoderSource };
      if (!sameEncoder(saved.encoder, this.source)) throw new Error(`vision --resume: the run trained on the encoder ${describe(saved.encoder)}, this one is ${describe(this.source)}`);
      assignParams(this.model.params, tensors, { prefix: 'vision' });
      assignParams(this.readout.params, tensors);
      this.optimizer.loadState(meta.extra.optimizerStep as number, tensors);
      Object.assign(this.streams, meta.extra.streams as object);
      this.step = meta.step;
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
    this.readout.dispose();
    this.optimizer.dispose();
  }
}

export interface TrainVisionResult {
  out: string;
  step: number;
  seconds: number;
  msPerStep: number;
  heldout: (ReadoutMetrics & { n: number }) | null;
  parameters: number;
}

/** The stage-1b loop (module comment). */
export async function trainVision(config: VisionPretrainConfig, opts: { out: string; encoder: ImageEncoderLike; source: EncoderSource; resume?: boolean; log?: ((line: string) => void) | null }): Promise<TrainVisionResult> {
  const out = path.resolve(opts.out);
  const latest = path.join(out, 'latest');
  const log = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  recoverCheckpoint(latest);
  recoverCheckpoint(out);
  const trainer = new VisionPretrainer(config, opts.encoder, opts.source);
  if (opts.resume) {
    if (!fs.existsSync(path.join(latest, 'checkpoint.json'))) throw new Error(`--resume: no checkpoint at ${latest}; start a new run without --resume`);
    trainer.restore(latest);
    log?.(`[vision] resumed ${latest} at step ${trainer.step}/${config.steps}`);
  } else if (fs.existsSync(path.join(latest, 'checkpoint.json'))) {
    trainer.dispose();
    throw new Error(`${out} already holds a run (latest/); pass --resume to continue it or choose another --out`);
  }
  const jsonl = new JsonlLog(path.join(out, 'log.jsonl'));
  const parameters = trainer.model.paramCount('vision');
  let heldout: TrainVisionResult['heldout'] = null;
  let ms = 0;
  let n = 0;
  try {
    if (!opts.resume) jsonl.write({ event: 'start', config, encoder: opts.source, parameters });
    const runHeldout = () => {
      heldout = trainer.heldout();
      jsonl.write({ event: 'heldout', step: trainer.step, ...heldout });
      const h = heldout;
      log?.(`[vision] step ${trainer.step} held-out (${h.n}): centre colour/shape/size ${h.centreColor.toFixed(3)}/${h.centreShape.toFixed(3)}/${h.centreSize.toFixed(3)} all ${h.centreAll.toFixed(3)}, objectness recall ${h.objectRecall.toFixed(3)}; covering shape ${h.coverShape.toFixed(3)}`);
    };
    const acc = { loss: 0, covering: 0, objectness: 0, centre: 0, gradNorm: 0, ms: 0, k: 0 };
    while (trainer.step < config.steps) {
      const r = trainer.trainStep();
      ms += r.ms;
      n += 1;
      acc.loss += r.loss;
      acc.covering += r.covering;
      acc.objectness += r.objectness;
      acc.centre += r.centre;
      acc.gradNorm += r.gradNorm;
      acc.ms += r.ms;
      acc.k += 1;
      if (r.step % config.logEvery === 0 || r.step === config.steps) {
        const k = acc.k;
        jsonl.write({ event: 'train', step: r.step, loss: acc.loss / k, covering: acc.covering / k, objectness: acc.objectness / k, centre: acc.centre / k, lr: r.lr, gradNorm: acc.gradNorm / k, msPerStep: acc.ms / k });
        log?.(`[vision] step ${r.step}/${config.steps} loss ${(acc.loss / k).toFixed(4)} (covering ${(acc.covering / k).toFixed(3)}, objectness ${(acc.objectness / k).toFixed(3)}, centre ${(acc.centre / k).toFixed(3)}) ${(acc.ms / k).toFixed(0)} ms/step`);
        Object.assign(acc, { loss: 0, covering: 0, objectness: 0, centre: 0, gradNorm: 0, ms: 0, k: 0 });
      }
      if (config.heldout.samples > 0 && config.heldout.every > 0 && r.step % config.heldout.every === 0 && r.step < config.steps) runHeldout();
      if (r.step % config.checkpointEvery === 0 || r.step === config.steps) await trainer.save(latest, true);
      await new Promise((res) => setImmediate(res));
    }
    if (config.heldout.samples > 0) runHeldout();
    await trainer.save(out, false);
    jsonl.write({ event: 'end', step: trainer.step, heldout });
    return { out, step: trainer.step, seconds: ms / 1000, msPerStep: n > 0 ? ms / n : 0, heldout, parameters };
  } finally {
    jsonl.close();
    trainer.dispose();
  }
}

/**
 * Start a policy's vision stack from a `coprs train vision` checkpoint (`coprs train sft --vision`):
 * the policy config's vision part and dim, and the encoder, must be the ones it was trained with.
 */
export function loadVisionInit(model: PolicyModel, dir: string, source: EncoderSource): { step: number; sha256: string } {
  const { meta, tensors } = loadCheckpoint(dir, { kind: VISION_KIND });
  try {
    const saved = meta.config as { model: { dim: number; vision: unknown }; encoder: EncoderSource };
    if (saved.model.dim !== model.config.dim || JSON.stringify(saved.model.vision) !== JSON.stringify(model.config.vision)) {
      throw new Error(`--vision ${dir}: its vision stack (dim ${saved.model.dim}, ${JSON.stringify(saved.model.vision)}) is not this policy's (dim ${model.config.dim}, ${JSON.stringify(model.config.vision)})`);
    }
    if (!sameEncoder(saved.encoder, source)) {
      throw new Error(`--vision ${dir}: it was trained on the encoder ${describe(saved.encoder)}, this policy reads ${describe(source)} (its tokens would not match)`);
    }
    if (model.params.entries('vision').length === 0) throw new Error('--vision: this policy has no vision stack');
    assignParams(model.params, tensors, { prefix: 'vision' });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { step: meta.step, sha256: meta.weightsSha256 };
}
