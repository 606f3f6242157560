/**
 * Table 3 analog: samples grouped by CoT-consistency score into the paper's four ranges
 * [0, 0.25), [0.25, 0.5), [0.5, 0.75), [0.75, 1.0], with the number of samples and the mean
 * heatmap IoU and mean mask IoU of each (binBy in ./ols). Plus the per-dimension view the paper
 * does not give (its judge is an external model): R of each judge dimension with the mask IoU.
 */
import { binBy, pearson } from './ols';
import { JUDGE_WEIGHTS } from './cot-judge';

export const SCORE_EDGES = [0, 0.25, 0.5, 0.75, 1] as const;

export interface ConsistencyBin {
  /** "[0, 0.25)" … "[0.75, 1.0]" as the paper writes them. */
  range: string;
  lo: number;
  hi: number;
  samples: number;
  /** Mean heatmap (prior) IoU and mask IoU of the bin; NaN for an empty bin. */
  heatmapMIoU: number;
  maskMIoU: number;
}

export interface ScoredRow {
  judge: number;
  priorIoU: number;
  maskIoU: number;
}

export function consistencyBins(rows: readonly ScoredRow[], edges: readonly number[] = SCORE_EDGES): ConsistencyBin[] {
  const bins = binBy(rows.map((r) => r.judge), { heatmap: rows.map((r) => r.priorIoU), mask: rows.map((r) => r.maskIoU) }, edges);
  return bins.map((b, i) => ({
    range: `[${b.lo}, ${i === bins.length - 1 ? `${b.hi.toFixed(1)}]` : `${b.hi})`}`,
    lo: b.lo, hi: b.hi, samples: b.count, heatmapMIoU: b.means.heatmap, maskMIoU: b.means.mask,
  }));
}

/**
 * Whether higher bins give higher segmentation quality, the paper's reading of Table 3: the bin
 * means (non-empty bins only) never decrease from one bin to the next.
 */
export function binsIncrease(bins: readonly ConsistencyBin[], key: 'heatmapMIoU' | 'maskMIoU'): boolean {
  const means = bins.filter((b) => b.samples > 0).map((b) => b[key]);
  return means.every((m, i) => i === 0 || m >= means[i - 1]);
}

export interface DimensionRow {
  logical: number;
  relevance: number;
  visual: number;
  localization: number;
  maskIoU: number;
  priorIoU: number;
}

/** Pearson R of each judge dimension (and the total) with mask IoU and heatmap IoU. */
export function dimensionCorrelations(rows: readonly (DimensionRow & { judge: number })[]): { dimension: string; weight: number; mean: number; rMask: number; rHeatmap: number }[] {
  if (rows.length < 2) return [];
  const dims = [...(Object.keys(JUDGE_WEIGHTS) as (keyof typeof JUDGE_WEIGHTS)[]), 'total'] as const;
  return dims.map((d) => {
    const v = rows.map((r) => (d === 'total' ? r.judge : r[d]));
    return {
      dimension: d, weight: d === 'total' ? 1 : JUDGE_WEIGHTS[d], mean: v.reduce((a, b) => a + b, 0) / v.length,
      rMask: pearson(v, rows.map((r) => r.maskIoU)), rHeatmap: pearson(v, rows.map((r) => r.priorIoU)),
    };
  });
}

export interface ConclusionGroup {
  /** The logical-correctness score of the group: 1 right target, 0.5 ambiguous, 0 wrong or none. */
  logical: number;
  conclusion: 'right target' | 'ambiguous' | 'wrong target or none';
  samples: number;
  heatmapMIoU: number;
  maskMIoU: number;
}

/**
 * Mean heatmap and mask IoU by whether the chain of thought concluded the right target (the judge's
 * logical-correctness score): the most direct test of "better reasoning, better masks".
 */
export function byConclusion(rows: readonly (ScoredRow & { logical: number })[]): ConclusionGroup[] {
  const names = { 1: 'right target', 0.5: 'ambiguous', 0: 'wrong target or none' } as const;
  return ([1, 0.5, 0] as const).map((l) => {
    const g = rows.filter((r) => r.logical === l);
    const mean = (f: (r: ScoredRow) => number) => (g.length ? g.reduce((a, r) => a + f(r), 0) / g.length : NaN);
    return { logical: l, conclusion: names[l], samples: g.length, heatmapMIoU: mean((r) => r.priorIoU), maskMIoU: mean((r) => r.maskIoU) };
  });
}
