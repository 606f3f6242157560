/**
 * `SegMetrics`: an accumulator of per-image intersection/union counts that reports gIoU and cIoU
 * (see `aggregate.ts` for the definitions). Feed it plain masks, tensors, or counts.
 */
import * as tf from '@tensorflow/tfjs';
import { BinaryMask } from '../data/sample';
import { cIoU, gIoU } from './aggregate';
import { IoUCounts, iouCounts, iouFromCounts } from './iou';
import { iouCountsFromTensors } from './tensor-iou';

/** What `SegMetrics.summary()` reports. */
export interface SegSummary {
  /** mean per-image IoU (NaN when count is 0) */
  gIoU: number;
  /** Σ intersection / Σ union (1 when Σ union is 0, NaN when count is 0) */
  cIoU: number;
  /** number of images added */
  count: number;
  /** Σ intersection and Σ union, pixels */
  intersection: number;
  union: number;
}

export class SegMetrics {
  private readonly counts: IoUCounts[] = [];

  /** Adds one image (plain masks of equal size; `ignore` pixels are skipped). Returns its counts. */
  add(pred: BinaryMask, gt: BinaryMask, ignore?: BinaryMask): IoUCounts {
    return this.addCounts(iouCounts(pred, gt, ignore));
  }

  /** Adds one image from its counts. */
  addCounts(c: IoUCounts): IoUCounts {
    if (!(c.intersection >= 0) || !(c.union >= c.intersection)) {
      throw new Error(`SegMetrics.addCounts: need 0 <= intersection <= union, got ${c.intersection} / ${c.union}`);
    }
    this.counts.push({ intersection: c.intersection, union: c.union });
    return c;
  }

  /**
   * Adds a batch of tensors: pred and gt [H, W] or [B, H, W] with values in [0, 1], binarised at
   * >= 0.5 (threshold logits first with `binarizeLogits`). Returns the counts of each image.
   */
  async addTensors(pred: tf.Tensor, gt: tf.Tensor): Promise<IoUCounts[]> {
    const cs = await iouCountsFromTensors(pred, gt);
    for (const c of cs) this.addCounts(c);
    return cs;
  }

  /** Per-image IoU in the order added. */
  perImage(): number[] {
    return this.counts.map(iouFromCounts);
  }

  /** gIoU, cIoU, count and the summed counts. */
  summary(): SegSummary {
    let intersection = 0;
    let union = 0;
    for (const c of this.counts) {
      intersection += c.intersection;
      union += c.union;
    }
    return { gIoU: gIoU(this.counts), cIoU: cIoU(this.counts), count: this.counts.length, intersection, union };
  }

  /** Forgets everything added. */
  reset(): void {
    this.counts.length = 0;
  }
}
