/**
 * mini-SAM evaluation on refshapes with ground-truth prompts, and checkpoint loading.
 *
 * For every sample, a prompt is derived from its target mask: `box` = the tight box (inclusive pixel
 * indices), `point` = one positive point at the maximum of the exact Euclidean distance transform
 * (the most interior pixel; `data/distance-transform.ts`). The single-mask output (or, with
 * `multimaskOutput`, the disambiguation mask of highest predicted IoU) is resized to the original
 * image with `postprocessLogits`, thresholded at logit >= 0, and scored with `SegMetrics`:
 * mIoU = gIoU (mean per-sample IoU) and cIoU (Σ intersection / Σ union).
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, Sample } from '../../data/sample';
import { loadSplit } from '../../data/shapeworld/store';
import { maxDistancePoint } from '../../data/distance-transform';
import { binarizeLogits } from '../../metrics/threshold';
import { SegMetrics } from '../../metrics/seg-metrics';
import { assignParams, loadCheckpoint, readCheckpointMeta } from '../../train/checkpoint';
import { SamConfig, parseSamSize, resolveSamConfig } from './config';
import { buildSamFromConfig } from './build-sam';
import type { Sam } from './sam';
import { SamPrompt, maskBox, transformPrompt } from './prompts';

export const SAM_EVAL_SPLITS = ['val', 'testA', 'testB'] as const;
export type SamEvalSplit = (typeof SAM_EVAL_SPLITS)[number];
export const SAM_EVAL_PROMPTS = ['box', 'point'] as const;
export type SamEvalPrompt = (typeof SAM_EVAL_PROMPTS)[number];

/** The ground-truth prompt of a mask (original-image pixels), or null for an empty mask. */
export function groundTruthPrompt(mask: BinaryMask, kind: SamEvalPrompt): SamPrompt | null {
  switch (kind) {
    case 'box': {
      const box = maskBox(mask);
      return box ? { box } : null;
    }
    case 'point': {
      const p = maxDistancePoint(mask);
      return p ? { points: [{ x: p.x, y: p.y, label: 1 }] } : null;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown prompt kind "${never}": expected one of ${SAM_EVAL_PROMPTS.join(', ')}`);
    }
  }
}

export interface EvaluateSamOptions {
  /** refshapes split (default 'testA'). */
  split?: SamEvalSplit;
  /** Ground-truth prompt kind (default 'box'). */
  prompt?: SamEvalPrompt;
  /** Only the first `limit` samples. */
  limit?: number;
  /** Evaluate these samples instead of loading the split. */
  samples?: Sample[];
  /** Images per forward pass (default 16). */
  batchSize?: number;
  /** Use the three disambiguation masks and keep the one of highest predicted IoU (default false: the single mask). */
  multimaskOutput?: boolean;
  /** Return per-sample IoUs. */
  perSample?: boolean;
}

export interface EvaluateSamResult {
  split: string;
  prompt: SamEvalPrompt;
  /** mean per-sample IoU (= gIoU) */
  mIoU: number;
  gIoU: number;
  cIoU: number;
  count: number;
  /** Wall time of the evaluation, ms. */
  ms: number;
  perSample?: { id: string; iou: number; prompt: SamPrompt }[];
}

/** Evaluate a model (or a checkpoint folder) on a refshapes split with ground-truth prompts. */
export async function evaluateSam(model: Sam | string, opts: EvaluateSamOptions = {}): Promise<EvaluateSamResult> {
  const split = opts.split ?? 'testA';
  if (!(SAM_EVAL_SPLITS as readonly string[]).includes(split)) throw new Error(`evaluateSam: unknown split "${split}": expected one of ${SAM_EVAL_SPLITS.join(', ')}`);
  const kind = opts.prompt ?? 'box';
  if (!(SAM_EVAL_PROMPTS as readonly string[]).includes(kind)) throw new Error(`evaluateSam: unknown prompt "${kind}": expected one of ${SAM_EVAL_PROMPTS.join(', ')}`);
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluateSam: batchSize must be a positive integer, got ${batchSize}`);
  const owned = typeof model === 'string';
  const sam = typeof model === 'string' ? loadSamCheckpoint(model) : model;
  const t0 = Date.now();
  try {
    let samples = opts.samples ?? (await loadSplit('refshapes', split, { limit: opts.limit }));
    if (opts.samples && opts.limit !== undefined) samples = samples.slice(0, opts.limit);
    const metrics = new SegMetrics();
    const perSample: { id: string; iou: number; prompt: SamPrompt }[] = [];
    for (let b = 0; b < samples.length; b += batchSize) {
      const batch = samples.slice(b, b + batchSize);
      const masks = await predictMasks(sam, batch, kind, opts.multimaskOutput ?? false);
      batch.forEach((s, i) => {
        const c = metrics.add(masks[i].mask, s.mask);
        if (opts.perSample) perSample.push({ id: s.id, iou: c.union === 0 ? 1 : c.intersection / c.union, prompt: masks[i].prompt });
      });
    }
    const sum = metrics.summary();
    const out: EvaluateSamResult = { split: opts.samples ? 'samples' : split, prompt: kind, mIoU: sum.gIoU, gIoU: sum.gIoU, cIoU: sum.cIoU, count: sum.count, ms: Date.now() - t0 };
    if (opts.perSample) out.perSample = perSample;
    return out;
  } finally {
    if (owned) sam.dispose();
  }
}

/** Predicted binary masks (original size) of a batch of samples with their ground-truth prompts. */
async function predictMasks(sam: Sam, batch: Sample[], kind: SamEvalPrompt, multimask: boolean): Promise<{ mask: BinaryMask; prompt: SamPrompt }[]> {
  const prompts = batch.map((s) => {
    const p = groundTruthPrompt(s.mask, kind);
    if (!p) throw new Error(`evaluateSam: sample ${s.id} has an empty target mask; no ${kind} prompt can be derived from it`);
    return p;
  });
  const { tensor, infos } = sam.preprocess(batch.map((s) => s.image));
  const inModel = prompts.map((p, i) => transformPrompt(p, infos[i], `sample ${batch[i].id}`));
  const bins = tf.tidy(() => {
    const emb = sam.imageEmbed(tensor);
    const dec = sam.decode(emb, inModel, { multimaskOutput: multimask });
    const [n, m, r] = dec.masks.shape;
    let pick = [...Array(n)].map(() => 0);
    if (m > 1) {
      const iou = dec.iouPred.arraySync();
      pick = iou.map((row) => row.indexOf(Math.max(...row)));
    }
    return batch.map((_, i) => {
      const low = dec.masks.slice([i, pick[i], 0, 0], [1, 1, r, r]).reshape([r, r]) as tf.Tensor2D; // r x r
      return binarizeLogits(sam.postprocessMasks(low, infos[i])); // origH x origW
    });
  });
  tensor.dispose();
  const out: { mask: BinaryMask; prompt: SamPrompt }[] = [];
  for (let i = 0; i < bins.length; i++) {
    const values = await bins[i].data();
    out.push({ mask: { width: infos[i].origW, height: infos[i].origH, data: Uint8Array.from(values) }, prompt: prompts[i] });
  }
  tf.dispose(bins);
  return out;
}

/** What a mini-SAM checkpoint's `config` holds. */
export interface SamCheckpointConfig {
  /** The resolved model config the weights belong to. */
  model: SamConfig;
  /** The resolved training config (absent in hand-made checkpoints). */
  train?: unknown;
}

/**
 * Load a mini-SAM checkpoint folder (kind 'sam'): build the model from its saved config and assign
 * the weights. `expectSize` makes a checkpoint of another size an error.
 */
export function loadSamCheckpoint(dir: string, expectSize?: string): Sam {
  const size = expectSize != null ? parseSamSize(expectSize) : undefined;
  const meta = readCheckpointMeta(dir, { kind: 'sam', size });
  const cfg = meta.config as SamCheckpointConfig | null;
  if (!cfg || typeof cfg !== 'object' || !cfg.model || typeof cfg.model !== 'object') {
    throw new Error(`checkpoint ${dir}: config.model (the mini-SAM build config) is missing; it is not a mini-SAM checkpoint written by the kit`);
  }
  const model = resolveSamConfig(parseSamSize(meta.size), cfg.model);
  const { tensors } = loadCheckpoint(dir, { kind: 'sam', size });
  const sam = buildSamFromConfig(model);
  try {
    assignParams(sam.params, tensors);
  } catch (e) {
    sam.dispose();
    throw e;
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return sam;
}
