/**
 * Mask losses shared by mini-SAM pretraining and CoPRS (DESIGN §1):
 *
 * - `sigmoidFocalLoss` (Lin et al.; torchvision's `sigmoid_focal_loss`, which SAM and CoPRS use):
 *     p = σ(x),  ce = BCEWithLogits(x, t),  p_t = p·t + (1 − p)(1 − t),
 *     α_t = α·t + (1 − α)(1 − t),  loss = α_t · ce · (1 − p_t)^γ        (α 0.25, γ 2)
 *   averaged over the pixels of each mask. Targets may be soft (in [0, 1]).
 * - `diceLoss` (SAM / DETR): 1 − (2 Σ σ(x)·t + s) / (Σ σ(x) + Σ t + s), per mask, smooth s = 1.
 * - `bceWithLogits`: max(x, 0) − x·t + log(1 + e^−|x|), per mask mean.
 * - `iouMseLoss`: SAM's IoU-head loss, mean squared error between predicted and actual IoU.
 * - `hardIoU`: IoU of (logit >= 0) against (target >= 0.5), per mask, as a constant target.
 *
 * Inputs: logits and targets of the same shape N x ... (one mask per row, any trailing shape).
 * `valid` (optional, broadcastable to the targets, 1 = counted) restricts every sum and mean to a
 * region, e.g. the unpadded image (CoPRS's `ignorePadding`). Each function returns per-mask values
 * (shape [N]); reduce with `.mean()`. Call inside `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';

export interface MaskLossOptions {
  /** 1 where pixels count, 0 where they are ignored; broadcastable to the targets. */
  valid?: tf.Tensor;
}

/** Flatten N x ... to N x P. */
function rows(t: tf.Tensor): tf.Tensor2D {
  return t.reshape([t.shape[0], -1]) as tf.Tensor2D; // N x P
}

function checkPair(logits: tf.Tensor, targets: tf.Tensor, what: string): void {
  if (logits.shape.join(',') !== targets.shape.join(',')) {
    throw new Error(`${what}: logits [${logits.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must have the same shape`);
  }
  if (logits.rank < 2) throw new Error(`${what}: expected N x ... (one mask per row), got [${logits.shape.join(', ')}]`);
}

/** The valid weights as N x P (ones when absent). */
function validRows(valid: tf.Tensor | undefined, targets: tf.Tensor): tf.Tensor2D | null {
  if (!valid) return null;
  return rows(tf.broadcastTo(valid.toFloat(), targets.shape)); // N x P
}

/** Mean over each row of x (N x P), counting only valid pixels. */
function rowMean(x: tf.Tensor2D, w: tf.Tensor2D | null): tf.Tensor1D {
  if (!w) return x.mean(1) as tf.Tensor1D;
  return x.mul(w).sum(1).div(w.sum(1).maximum(1)) as tf.Tensor1D;
}

/** Element-wise BCE with logits, stable: max(x, 0) − x·t + log(1 + e^−|x|). */
export function bceWithLogitsElementwise(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.relu(x).sub(x.mul(t)).add(tf.log1p(tf.exp(x.abs().neg()))));
}

/** Per-mask BCE with logits (mean over pixels): [N]. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor, opts: MaskLossOptions = {}): tf.Tensor1D {
  checkPair(logits, targets, 'bceWithLogits');
  return tf.tidy(() => rowMean(rows(bceWithLogitsElementwise(logits, targets)), validRows(opts.valid, targets)));
}

/** Per-mask sigmoid focal loss (mean over pixels): [N]. */
export function sigmoidFocalLoss(logits: tf.Tensor, targets: tf.Tensor, opts: MaskLossOptions & { alpha?: number; gamma?: number } = {}): tf.Tensor1D {
  checkPair(logits, targets, 'sigmoidFocalLoss');
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  return tf.tidy(() => {
    const x = rows(logits);
    const t = rows(targets.toFloat());
    const p = tf.sigmoid(x);
    const ce = bceWithLogitsElementwise(x, t);
    const pT = p.mul(t).add(tf.scalar(1).sub(p).mul(tf.scalar(1).sub(t)));
    const oneMinusPT = tf.scalar(1).sub(pT);
    const mod = gamma === 2 ? oneMinusPT.square() : gamma === 0 ? tf.onesLike(oneMinusPT) : tf.pow(oneMinusPT.maximum(0), tf.scalar(gamma));
    let loss = ce.mul(mod);
    if (alpha >= 0) loss = loss.mul(t.mul(alpha).add(tf.scalar(1).sub(t).mul(1 - alpha)));
    return rowMean(loss as tf.Tensor2D, validRows(opts.valid, targets));
  });
}

/** Per-mask dice loss on σ(logits): [N]. */
export function diceLoss(logits: tf.Tensor, targets: tf.Tensor, opts: MaskLossOptions & { smooth?: number } = {}): tf.Tensor1D {
  checkPair(logits, targets, 'diceLoss');
  const s = opts.smooth ?? 1;
  return tf.tidy(() => {
    let p: tf.Tensor = tf.sigmoid(rows(logits));
    let t: tf.Tensor = rows(targets.toFloat());
    const w = validRows(opts.valid, targets);
    if (w) {
      p = p.mul(w);
      t = t.mul(w);
    }
    const num = p.mul(t).sum(1).mul(2).add(s);
    const den = p.sum(1).add(t.sum(1)).add(s);
    return tf.scalar(1).sub(num.div(den)) as tf.Tensor1D;
  });
}

/** Per-mask IoU of (logit >= 0) vs (target >= 0.5); 1 when both are empty. A constant (no gradient). [N] */
export function hardIoU(logits: tf.Tensor, targets: tf.Tensor, opts: MaskLossOptions = {}): tf.Tensor1D {
  checkPair(logits, targets, 'hardIoU');
  return tf.tidy(() => {
    let p: tf.Tensor = rows(logits).greaterEqual(0).toFloat();
    let t: tf.Tensor = rows(targets).greaterEqual(0.5).toFloat();
    const w = validRows(opts.valid, targets);
    if (w) {
      p = p.mul(w);
      t = t.mul(w);
    }
    const inter = p.mul(t).sum(1);
    const union = p.add(t).sub(p.mul(t)).sum(1);
    const iou = tf.where(union.greater(0), inter.div(union.maximum(1)), tf.onesLike(union)) as tf.Tensor1D;
    // Rebuild as a fresh tensor so no gradient path exists back to the logits.
    return tf.tensor1d(iou.dataSync() as Float32Array);
  });
}

/** SAM's IoU-head loss: mean squared error per row between predicted and actual IoU, N x M -> [N]. */
export function iouMseLoss(iouPred: tf.Tensor, iouTarget: tf.Tensor): tf.Tensor1D {
  checkPair(iouPred, iouTarget, 'iouMseLoss');
  return tf.tidy(() => rows(iouPred.sub(iouTarget).square()).mean(1) as tf.Tensor1D);
}
