/**
 * The one rule that turns logits into a binary mask, shared by inference, the metrics and the
 * heatmap IoU: foreground where logit >= 0, i.e. where sigmoid(logit) >= 0.5.
 *
 * `>=` (not `>`) so that it agrees with the reward's hard IoU (pred >= 0.5, DESIGN §1). SAM's
 * `postprocess_masks` callers use `> mask_threshold (0.0)`; the two differ only on logits that
 * are exactly 0, which bilinear interpolation of real logits essentially never produces.
 */
import * as tf from '@tensorflow/tfjs';

/** Threshold applied to mask and prior logits. */
export const MASK_LOGIT_THRESHOLD = 0;

/** Logits (any shape) -> float32 0/1 tensor of the same shape: 1 where logit >= 0. */
export function binarizeLogits<T extends tf.Tensor>(logits: T): T {
  return tf.tidy(() => logits.greaterEqual(MASK_LOGIT_THRESHOLD).toFloat()) as T;
}

/** Logits as a plain array -> 0/1 bytes: 1 where logit >= 0. */
export function binarizeLogitsArray(logits: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(logits.length);
  for (let i = 0; i < out.length; i++) out[i] = logits[i] >= MASK_LOGIT_THRESHOLD ? 1 : 0;
  return out;
}
