/**
 * IoU on tensors, for batches that are already on the backend (training-time evaluation, reward
 * code). Same conventions as `iou.ts`: IoU = 1 when the union is 0; sizes must match.
 *
 * Inputs are [H, W] or [B, H, W] with values in [0, 1]; a pixel is foreground when its value is
 * >= 0.5 (so 0/1 masks, probabilities and soft targets all work). Threshold logits first with
 * `binarizeLogits` (logit >= 0).
 */
import * as tf from '@tensorflow/tfjs';
import { IoUCounts } from './iou';

function assertSameShape(pred: tf.Tensor, gt: tf.Tensor): void {
  const ok = pred.rank === gt.rank && pred.shape.every((d, i) => d === gt.shape[i]);
  if (!ok || (pred.rank !== 2 && pred.rank !== 3)) {
    throw new Error(
      `tensor IoU: prediction [${pred.shape.join(', ')}] and ground truth [${gt.shape.join(', ')}] must have the same shape, [H, W] or [B, H, W]`,
    );
  }
}

/**
 * Per-image intersection and union counts as float32 tensors: shape [B] for [B, H, W] inputs,
 * scalars for [H, W] inputs.
 */
export function iouCountsTensor(pred: tf.Tensor, gt: tf.Tensor): { intersection: tf.Tensor; union: tf.Tensor } {
  assertSameShape(pred, gt);
  return tf.tidy(() => {
    const axes = pred.rank === 3 ? [1, 2] : [0, 1];
    const p = pred.greaterEqual(0.5).toFloat(); // same shape as pred
    const g = gt.greaterEqual(0.5).toFloat();
    const intersection = p.mul(g).sum(axes); // [B] or []
    const union = p.add(g).sub(p.mul(g)).sum(axes); // [B] or []
    return { intersection, union };
  });
}

/** Per-image IoU tensor ([B] or scalar), 1 where the union is 0. */
export function iouTensor(pred: tf.Tensor, gt: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { intersection, union } = iouCountsTensor(pred, gt);
    const empty = union.equal(0);
    return tf.where(empty, tf.onesLike(union), intersection.div(tf.maximum(union, 1)));
  });
}

/** Reads the per-image counts back as numbers (one entry per image; one for an [H, W] pair). */
export async function iouCountsFromTensors(pred: tf.Tensor, gt: tf.Tensor): Promise<IoUCounts[]> {
  const { intersection, union } = iouCountsTensor(pred, gt);
  const [i, u] = await Promise.all([intersection.data(), union.data()]);
  intersection.dispose();
  union.dispose();
  return Array.from(i, (v, k) => ({ intersection: Math.round(v), union: Math.round(u[k]) }));
}
