/**
 * The inverse of `preprocess.ts` for logits, exactly SAM's `Sam.postprocess_masks`:
 *
 *   logits [r, r] (any resolution: the 64 x 64 mask logits or prior of the kit, 256 x 256 in the paper)
 *     -> bilinear to [S, S]                      (F.interpolate, align_corners=False, no antialias)
 *     -> crop the valid region [validH, validW]  (drop the padding)
 *     -> bilinear to [origH, origW]              (same interpolation)
 *
 * Then inference thresholds at logit >= 0 (`metrics/threshold`).
 */
import * as tf from '@tensorflow/tfjs';
import { BinaryMask } from '../data/sample';
import { binarizeLogits } from '../metrics/threshold';
import type { PreprocessInfo } from './preprocess';
import { resizeBilinear } from './resize';

/** Logits [r, c] at any resolution over the S x S canvas -> logits [origH, origW]. */
export function postprocessLogits(logits: tf.Tensor2D, info: PreprocessInfo): tf.Tensor2D {
  if (logits.rank !== 2) {
    throw new Error(`postprocessLogits: expected logits [r, r], got [${logits.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const full = resizeBilinear(logits.toFloat(), info.size, info.size); // [S, S]
    const valid = full.slice([0, 0], [info.validH, info.validW]); // [validH, validW]
    return resizeBilinear(valid, info.origH, info.origW); // [origH, origW]
  });
}

/** Logits [r, c] -> the predicted binary mask at the original size (logit >= 0). */
export async function postprocessToMask(logits: tf.Tensor2D, info: PreprocessInfo): Promise<BinaryMask> {
  const bin = tf.tidy(() => binarizeLogits(postprocessLogits(logits, info)).toInt()); // [origH, origW]
  const values = await bin.data();
  bin.dispose();
  return { width: info.origW, height: info.origH, data: Uint8Array.from(values) };
}
