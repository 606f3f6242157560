/**
 * The generic paradigm evaluator (the analog of the CoPRS paper's Tables 1–2, DESIGN §1
 * "Inference" and "Metrics"): greedy decoding, one response per query, the paradigm's own forward
 * path (`Paradigm.predict`: low-res mask logits un-padded, resized to the original image size,
 * thresholded at logit 0), then per split
 *
 * - gIoU (mean per-image IoU; IoU = 1 when both masks are empty) and cIoU (Σ inter / Σ union),
 * - for splits with subsets (reasonshapes short / long), the same per subset,
 * - inference time per sample (batch wall time / batch size, ms; mean over the split),
 * - optional per-sample rows (id, subset, IoU, response, extras).
 *
 * Default splits: refshapes val/testA/testB and reasonshapes val/test (the comparison's splits).
 */
import type { Sample } from '../data/sample';
import { loadSplit } from '../data/shapeworld/store';
import { cIoU, gIoU } from '../metrics/aggregate';
import { iouCounts, iouFromCounts, type IoUCounts } from '../metrics/iou';
import { loadParadigm } from './registry';
import type { Paradigm } from './types';

export const PARADIGM_EVAL_SPLITS = ['refshapes/val', 'refshapes/testA', 'refshapes/testB', 'reasonshapes/val', 'reasonshapes/test'] as const;

export interface ParadigmEvalRow {
  id: string;
  subset?: string;
  query: string;
  iou: number;
  response: string;
  ms: number;
  extra?: Record<string, unknown>;
}

export interface ParadigmSplitResult {
  dataset: string;
  split: string;
  n: number;
  gIoU: number;
  cIoU: number;
  /** Per subset (reasonshapes: short, long), when the split has more than one. */
  subsets?: Record<string, { n: number; gIoU: number; cIoU: number }>;
  /** Mean inference time per sample, ms. */
  msPerSample: number;
  rows?: ParadigmEvalRow[];
}

export interface EvaluateParadigmOptions {
  /** "dataset/split" names (default PARADIGM_EVAL_SPLITS). */
  splits?: readonly string[];
  /** Samples per split (default all). */
  limit?: number;
  /** Evaluate these samples instead (one result, split 'samples'). */
  samples?: Sample[];
  batchSize?: number;
  maxTokens?: number;
  rows?: boolean;
}

/** Score predictions of samples. */
async function scoreSplit(p: Paradigm, samples: Sample[], dataset: string, split: string, opts: EvaluateParadigmOptions): Promise<ParadigmSplitResult> {
  if (samples.length === 0) throw new Error(`evaluateParadigm: ${dataset}/${split} gave no samples`);
  const preds = await p.predict(samples, { batchSize: opts.batchSize, maxTokens: opts.maxTokens });
  const counts: IoUCounts[] = [];
  const bySubset = new Map<string, IoUCounts[]>();
  const rows: ParadigmEvalRow[] = [];
  preds.forEach((pr, i) => {
    const s = samples[i];
    const c = iouCounts(pr.mask, s.mask);
    counts.push(c);
    if (s.subset) bySubset.set(s.subset, [...(bySubset.get(s.subset) ?? []), c]);
    rows.push({ id: s.id, subset: s.subset, query: s.query, iou: iouFromCounts(c), response: pr.response, ms: pr.ms, ...(pr.extra ? { extra: pr.extra } : {}) });
  });
  const res: ParadigmSplitResult = { dataset, split, n: counts.length, gIoU: gIoU(counts), cIoU: cIoU(counts), msPerSample: rows.reduce((a, r) => a + r.ms, 0) / rows.length };
  if (bySubset.size > 1) res.subsets = Object.fromEntries([...bySubset].map(([k, cs]) => [k, { n: cs.length, gIoU: gIoU(cs), cIoU: cIoU(cs) }]));
  if (opts.rows) res.rows = rows;
  return res;
}

/** Parse "dataset/split". */
export function parseSplitName(s: string): { dataset: string; split: string } {
  const [dataset, split, ...rest] = s.trim().split('/');
  if (!dataset || !split || rest.length > 0) throw new Error(`split "${s}": expected dataset/split, e.g. refshapes/testA or reasonshapes/test`);
  return { dataset, split };
}

/** Evaluate a paradigm (or its checkpoint folder) on frozen splits (see the module comment). */
export async function evaluateParadigm(model: Paradigm | string, opts: EvaluateParadigmOptions = {}): Promise<{ paradigm: string; step: number; parameters: Record<string, number>; results: ParadigmSplitResult[] }> {
  const owned = typeof model === 'string' ? loadParadigm(model) : null;
  const p = owned ?? (model as Paradigm);
  try {
    const results: ParadigmSplitResult[] = [];
    if (opts.samples) {
      results.push(await scoreSplit(p, opts.limit !== undefined ? opts.samples.slice(0, opts.limit) : opts.samples, 'samples', 'samples', opts));
    } else {
      for (const name of opts.splits ?? PARADIGM_EVAL_SPLITS) {
        const { dataset, split } = parseSplitName(name);
        const samples = await loadSplit(dataset, split, { limit: opts.limit });
        results.push(await scoreSplit(p, samples, dataset, split, opts));
      }
    }
    return { paradigm: p.name, step: p.step, parameters: p.parameterCounts(), results };
  } finally {
    owned?.dispose();
  }
}
