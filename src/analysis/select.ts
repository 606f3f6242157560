/**
 * Choosing samples to draw, from per-sample evaluation rows, deterministically (ties broken by the
 * prior IoU, then the id): the best masks (Fig. 5/8 analogs: "successful cases"), the worst (Fig. 7
 * analog: failure cases found automatically), or a spread over the mask-IoU quantiles (typical
 * cases: the kit's addition, since at this scale the best cases alone would flatter the model).
 */
export interface SelectableRow {
  id: string;
  priorIoU: number;
  maskIoU: number;
}

const byId = (a: SelectableRow, b: SelectableRow) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The k rows with the highest mask IoU (ties: higher prior IoU, then id). */
export function selectBest<T extends SelectableRow>(rows: readonly T[], k: number): T[] {
  return [...rows].sort((a, b) => b.maskIoU - a.maskIoU || b.priorIoU - a.priorIoU || byId(a, b)).slice(0, Math.max(0, k));
}

/** Failure cases: the k rows with the lowest mask IoU (ties: lower prior IoU, then id). */
export function selectFailures<T extends SelectableRow>(rows: readonly T[], k: number): T[] {
  return [...rows].sort((a, b) => a.maskIoU - b.maskIoU || a.priorIoU - b.priorIoU || byId(a, b)).slice(0, Math.max(0, k));
}

/** k rows at evenly spaced ranks of mask IoU, lowest to highest (the minimum and the maximum included when k ≥ 2). */
export function selectSpread<T extends SelectableRow>(rows: readonly T[], k: number): T[] {
  const sorted = [...rows].sort((a, b) => a.maskIoU - b.maskIoU || a.priorIoU - b.priorIoU || byId(a, b));
  if (k <= 0 || sorted.length === 0) return [];
  if (k >= sorted.length) return sorted;
  if (k === 1) return [sorted[Math.floor((sorted.length - 1) / 2)]];
  return Array.from({ length: k }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (k - 1))]);
}
