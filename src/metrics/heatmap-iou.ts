/**
 * IoU of logits (the positional prior H_prior, or the mask logits) against the ground truth, the
 * way inference scores a prediction (DESIGN §1): undo SAM's padding and resize to the original
 * size (`postprocessLogits`), threshold at logit >= 0 (`threshold.ts`), count against the GT mask.
 * The heatmap IoU of the correlation analysis (prior IoU vs mask IoU) is this applied to the prior.
 */
import * as tf from '@tensorflow/tfjs';
import { BinaryMask } from '../data/sample';
import type { PreprocessInfo } from '../io/preprocess';
import { postprocessToMask } from '../io/postprocess';
import { IoUCounts, iouCounts, iouFromCounts } from './iou';

/** Counts of logits [r, r] (over the S x S canvas described by `info`) against `gt` at the original size. */
export async function logitsIoUCounts(
  logits: tf.Tensor2D,
  info: PreprocessInfo,
  gt: BinaryMask,
  ignore?: BinaryMask,
): Promise<IoUCounts> {
  if (gt.width !== info.origW || gt.height !== info.origH) {
    throw new Error(`logitsIoUCounts: ground truth is ${gt.width}x${gt.height} but the preprocess info says ${info.origW}x${info.origH}`);
  }
  const pred = await postprocessToMask(logits, info);
  return iouCounts(pred, gt, ignore);
}

/** Heatmap IoU: IoU of the prior thresholded at logit >= 0 (after postprocessing) with the GT mask. */
export async function heatmapIoU(
  priorLogits: tf.Tensor2D,
  info: PreprocessInfo,
  gt: BinaryMask,
  ignore?: BinaryMask,
): Promise<number> {
  return iouFromCounts(await logitsIoUCounts(priorLogits, info, gt, ignore));
}
