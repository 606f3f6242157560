/**
 * Intersection, union and IoU of binary masks as plain arrays (`BinaryMask`, one byte per pixel).
 *
 * Conventions (DESIGN §1 "Metrics", same as LISA's evaluation):
 * - a pixel is foreground when its value is non-zero;
 * - IoU = intersection / union, and IoU = 1 when the union is 0 (both masks empty: nothing to find,
 *   nothing predicted);
 * - an optional `ignore` mask (1 = ignore) removes pixels from both counts, like LISA's
 *   `ignore_index = 255` for ReasonSeg's "ignore" regions;
 * - masks of different sizes are an error that names both sizes.
 */
import { BinaryMask } from '../data/sample';

/** Pixel counts of one (prediction, ground truth) pair. */
export interface IoUCounts {
  intersection: number;
  union: number;
}

/** Throws, naming both sizes, unless the masks have the same width and height. */
export function assertSameSize(a: BinaryMask, b: BinaryMask, aName = 'prediction', bName = 'ground truth'): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`mask sizes differ: ${aName} is ${a.width}x${a.height}, ${bName} is ${b.width}x${b.height} (width x height)`);
  }
  for (const [m, name] of [[a, aName], [b, bName]] as const) {
    if (m.data.length !== m.width * m.height) {
      throw new Error(`${name}: data has ${m.data.length} values, expected ${m.width}x${m.height} = ${m.width * m.height}`);
    }
  }
}

/** Intersection and union pixel counts; pixels where `ignore` is non-zero are skipped. */
export function iouCounts(pred: BinaryMask, gt: BinaryMask, ignore?: BinaryMask): IoUCounts {
  assertSameSize(pred, gt);
  if (ignore) assertSameSize(ignore, gt, 'ignore mask');
  const p = pred.data;
  const g = gt.data;
  const ig = ignore?.data;
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < p.length; i++) {
    if (ig && ig[i] !== 0) continue;
    const a = p[i] !== 0;
    const b = g[i] !== 0;
    if (a && b) intersection++;
    if (a || b) union++;
  }
  return { intersection, union };
}

/** IoU from counts; 1 when the union is 0. */
export function iouFromCounts(c: IoUCounts): number {
  return c.union === 0 ? 1 : c.intersection / c.union;
}

/** Per-image IoU of two binary masks (1 when both are empty). */
export function maskIoU(pred: BinaryMask, gt: BinaryMask, ignore?: BinaryMask): number {
  return iouFromCounts(iouCounts(pred, gt, ignore));
}
