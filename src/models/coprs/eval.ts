/**
 * CoPRS evaluation (DESIGN §1 "Inference" and "Metrics"): greedy decoding, one response per query,
 * the same forward path as training; the mask logits and the prior are un-padded, resized to the
 * original image size and thresholded at logit 0, then scored against the ground truth:
 *
 * - gIoU / cIoU of the mask (mean per-image IoU; Σ intersection / Σ union),
 * - heatmap gIoU / cIoU: the same for the prior H_prior (the correlation analysis' x axis),
 * - format rate: share of responses whose format reward (paper rules) is 1.0,
 * - per-sample rows (id, prior IoU, mask IoU, response, format) for the correlation analysis.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { loadSplit } from '../../data/shapeworld/store';
import { logitsIoUCounts } from '../../metrics/heatmap-iou';
import { cIoU, gIoU } from '../../metrics/aggregate';
import { iouFromCounts, type IoUCounts } from '../../metrics/iou';
import { checkFormat } from '../../rewards/format';
import { CoprsModel } from './model';
import { loadCoprs } from './checkpoint';

export interface CoprsEvalRow {
  id: string;
  subset?: string;
  query: string;
  /** IoU of the prior (logit ≥ 0) and of the mask with the ground truth, at the original size. */
  priorIoU: number;
  maskIoU: number;
  response: string;
  /** Format reward (paper rules): 0, 0.9 or 1. */
  format: number;
  refPosFound: boolean;
  length: number;
}

export interface CoprsEvalResult {
  dataset: string;
  split: string;
  n: number;
  gIoU: number;
  cIoU: number;
  heatmap: { gIoU: number; cIoU: number };
  /** Share of responses with format reward 1.0. */
  formatRate: number;
  /** Share of responses with a `<REF_POS>`. */
  refPosRate: number;
  meanLength: number;
  ms: number;
  rows?: CoprsEvalRow[];
}

export interface EvaluateCoprsOptions {
  dataset?: string;
  split?: string;
  limit?: number;
  /** Evaluate these samples instead of loading a split. */
  samples?: Sample[];
  /** Queries per forward batch (default 16). */
  batchSize?: number;
  /** Generation cap (default: what maxSeqLen leaves, at most 400). */
  maxTokens?: number;
  /** Return per-sample rows. */
  rows?: boolean;
}

/** Evaluate a CoPRS model (or checkpoint folder) greedily on a frozen split or given samples. */
export async function evaluateCoprs(model: CoprsModel | string, opts: EvaluateCoprsOptions = {}): Promise<CoprsEvalResult> {
  const dataset = opts.dataset ?? 'refshapes';
  const split = opts.split ?? 'val';
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluateCoprs: batchSize must be a positive integer, got ${batchSize}`);
  const owned = typeof model === 'string' ? loadCoprs(model).model : null;
  const m = owned ?? (model as CoprsModel);
  const t0 = Date.now();
  try {
    let samples = opts.samples ?? (await loadSplit(dataset, split, { limit: opts.limit }));
    if (opts.samples && opts.limit !== undefined) samples = samples.slice(0, opts.limit);
    if (samples.length === 0) throw new Error(`evaluateCoprs: ${dataset}/${split} gave no samples`);
    const maskCounts: IoUCounts[] = [];
    const priorCounts: IoUCounts[] = [];
    const rows: CoprsEvalRow[] = [];
    for (let s0 = 0; s0 < samples.length; s0 += batchSize) {
      const batch = samples.slice(s0, s0 + batchSize);
      const out = m.run(batch.map((s) => s.image), batch.map((s) => s.query), { maxTokens: opts.maxTokens });
      try {
        for (let i = 0; i < batch.length; i++) {
          const s = batch[i];
          const r = m.maskSize;
          const [prior2d, mask2d] = tf.tidy(() => [
            out.prior.slice([i, 0, 0, 0], [1, r, r, 1]).reshape([r, r]) as tf.Tensor2D, // r x r
            out.masks.slice([i, 0, 0], [1, r, r]).reshape([r, r]) as tf.Tensor2D, // r x r
          ]);
          try {
            const pc = await logitsIoUCounts(prior2d, out.infos[i], s.mask);
            const mc = await logitsIoUCounts(mask2d, out.infos[i], s.mask);
            priorCounts.push(pc);
            maskCounts.push(mc);
            const response = out.generation.text[i];
            rows.push({
              id: s.id, subset: s.subset, query: s.query, priorIoU: iouFromCounts(pc), maskIoU: iouFromCounts(mc), response,
              format: checkFormat(response, 'paper').reward, refPosFound: out.refPosFound[i], length: out.generation.lengths[i],
            });
          } finally {
            tf.dispose([prior2d, mask2d]);
          }
        }
      } finally {
        tf.dispose([out.prior, out.masks]);
      }
      await new Promise((res) => setImmediate(res));
    }
    const mean = (f: (r: CoprsEvalRow) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
    const result: CoprsEvalResult = {
      dataset: opts.samples ? 'samples' : dataset,
      split: opts.samples ? 'samples' : split,
      n: rows.length,
      gIoU: gIoU(maskCounts),
      cIoU: cIoU(maskCounts),
      heatmap: { gIoU: gIoU(priorCounts), cIoU: cIoU(priorCounts) },
      formatRate: mean((r) => (r.format === 1 ? 1 : 0)),
      refPosRate: mean((r) => (r.refPosFound ? 1 : 0)),
      meanLength: mean((r) => r.length),
      ms: Date.now() - t0,
    };
    if (opts.rows) result.rows = rows;
    return result;
  } finally {
    owned?.dispose();
  }
}
