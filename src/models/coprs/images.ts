/**
 * The image side of a CoPRS batch, computed once per image and shared by the G rollouts of its
 * prompt (the mini-SAM image encoder is frozen; the paper precomputes its ViT-H features):
 *
 *   x      [B, S, S, 3]   SAM input (longest side to S, normalised, zero-padded)
 *   E      [B, h, w, C]   the frozen embedding (keys of the heatmap head, the mask decoder's image)
 *   policy [B, h, w, C+P] the policy's image input: E + the colour side channel (withPixelChannel)
 *   valid  [B, r, r, 1]   1 inside the unpadded region at the prior's resolution r = 4h (validRegionMask)
 *
 * and the soft targets of the SEG loss (DESIGN §1): the ground-truth mask in the model frame (resized
 * like the image and padded), bilinearly resized to r x r and clamped to [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, RGBImage } from '../../data/sample';
import { preprocessMask, validRegionMask, type PreprocessInfo } from '../../io/preprocess';
import type { Sam } from '../sam/sam';
import { withPixelChannel } from '../policy/vision';

export interface ImageBatch {
  E: tf.Tensor4D;
  policyInput: tf.Tensor4D;
  valid: tf.Tensor4D;
  infos: PreprocessInfo[];
}

/** Encode images once (no gradient: the encoder is frozen). The caller disposes with `disposeImageBatch`. */
export function encodeImages(sam: Sam, images: RGBImage[], pixelPool: number): ImageBatch {
  if (images.length === 0) throw new Error('CoPRS: no images to encode');
  const { tensor: x, infos } = sam.preprocess(images); // B x S x S x 3
  try {
    const r = sam.maskSize;
    const out = tf.tidy(() => {
      const E = sam.imageEmbed(x); // B x h x w x C
      const policyInput = withPixelChannel(E, x, pixelPool); // B x h x w x (C + P)
      const valid = tf.stack(infos.map((info) => validRegionMask(info, r))).expandDims(-1) as tf.Tensor4D; // B x r x r x 1
      return { E, policyInput: policyInput === E ? E.clone() : policyInput, valid };
    });
    return { ...out, infos };
  } finally {
    x.dispose();
  }
}

export function disposeImageBatch(b: ImageBatch): void {
  tf.dispose([b.E, b.policyInput, b.valid]);
}

/** Soft targets [B, r, r] of ground-truth masks (any size; each resized and padded like its image). */
export function softTargets(masks: BinaryMask[], S: number, r: number): tf.Tensor3D {
  return tf.tidy(() => {
    const frames = masks.map((m) => preprocessMask(m, S, { soft: true }).tensor); // S x S each, in [0, 1], in the model frame
    const stacked = tf.stack(frames).expandDims(-1) as tf.Tensor4D; // B x S x S x 1
    tf.dispose(frames);
    const resized = tf.image.resizeBilinear(stacked, [r, r], false, true); // B x r x r x 1 (align_corners = False)
    return resized.clipByValue(0, 1).squeeze([3]) as tf.Tensor3D; // B x r x r
  });
}

/**
 * Repeat each of B rows G times (prompt-major: row b·G + g is row b), as a broadcast — its
 * gradient is a sum over the group, where `tf.gather`'s would be a scatter. [B, ...] → [B·G, ...].
 */
export function repeatRows<T extends tf.Tensor>(t: T, G: number): T {
  if (G === 1) return t.clone() as T;
  return tf.tidy(() => {
    const [B, ...rest] = t.shape;
    const size = rest.reduce((a, b) => a * b, 1);
    return tf.zeros([B, G, size]).add(t.reshape([B, 1, size])).reshape([B * G, ...rest]) as T; // B·G x ...rest
  });
}
