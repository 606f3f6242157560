/**
 * Dataset-level segmentation scores from per-image counts (DESIGN §1 "Metrics"):
 *
 * - gIoU = mean over images of the per-image IoU (an image whose prediction and ground truth are
 *   both empty scores 1);
 * - cIoU = Σ intersection / Σ union over all images (cumulative IoU, dominated by large objects).
 *   When Σ union = 0 (every image empty in both masks) cIoU is 1, consistent with the per-image rule.
 *   (LISA divides by union + 1e-10 and would report 0 there.)
 * - With no images both are NaN.
 */
import { IoUCounts, iouFromCounts } from './iou';

/** Mean per-image IoU; NaN for an empty list. */
export function gIoU(counts: readonly IoUCounts[]): number {
  if (counts.length === 0) return NaN;
  let s = 0;
  for (const c of counts) s += iouFromCounts(c);
  return s / counts.length;
}

/** Σ intersection / Σ union; 1 when Σ union = 0; NaN for an empty list. */
export function cIoU(counts: readonly IoUCounts[]): number {
  if (counts.length === 0) return NaN;
  let inter = 0;
  let union = 0;
  for (const c of counts) {
    inter += c.intersection;
    union += c.union;
  }
  return union === 0 ? 1 : inter / union;
}
