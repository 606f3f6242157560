/**
 * SAM's input transform (DESIGN §1): resize the longest side to S keeping the aspect ratio, then
 * pad bottom/right with zeros to S x S. S is a parameter (128 in the kit's `small` preset, 1024 in
 * the paper). The inverse for logits lives in `postprocess.ts` (re-exported here).
 *
 * - Size rule: SAM's `ResizeLongestSide.get_preprocess_shape`: scale = S / max(H, W),
 *   newH = floor(H * scale + 0.5), newW = floor(W * scale + 0.5).
 * - Images: antialiased bilinear resize (SAM's `apply_image_torch`, `antialias=True`), optional
 *   per-channel normalisation, then zero padding (as SAM: normalise, then pad, so padding is exactly
 *   0 in the normalised space too).
 * - Masks: the same antialiased bilinear resize, then threshold at >= 0.5 (binary, default) or kept
 *   soft in [0, 1]; zero padding.
 * - Tensors: images float32 [S, S, 3] in [0, 1] (before normalisation); masks float32 [S, S].
 */
import * as tf from '@tensorflow/tfjs';
import { BinaryMask, RGBImage } from '../data/sample';
import { imageToTensor, maskToTensor } from './image';
import { resizeBilinearAntialias } from './resize';

export { postprocessLogits, postprocessToMask } from './postprocess';

/** What the preprocessing did to one image, enough to undo it. */
export interface PreprocessInfo {
  /** original image height and width, pixels */
  origH: number;
  origW: number;
  /** size of the resized (unpadded) image inside the S x S canvas, top-left aligned */
  validH: number;
  validW: number;
  /** S, the side of the padded square */
  size: number;
}

/** SAM's pixel statistics rescaled to [0, 1] inputs (ImageNet mean/std). */
export const SAM_PIXEL_MEAN: [number, number, number] = [123.675 / 255, 116.28 / 255, 103.53 / 255];
export const SAM_PIXEL_STD: [number, number, number] = [58.395 / 255, 57.12 / 255, 57.375 / 255];

export interface PreprocessImageOptions {
  /** Per-channel (x - mean) / std applied before padding, in [0, 1] units. Default: none. */
  normalize?: { mean: [number, number, number]; std: [number, number, number] };
}

/** True for a tf.Tensor (duck-typed, so it also holds across duplicate tfjs copies). */
function isTensor(x: object): x is tf.Tensor {
  return x instanceof tf.Tensor || ('dataId' in x && 'shape' in x && 'dtype' in x);
}

/**
 * SAM's `get_preprocess_shape` plus the bookkeeping of the padding. A side that would round to 0
 * (a sliver image) is kept at 1 pixel.
 */
export function computePreprocessInfo(origH: number, origW: number, size: number): PreprocessInfo {
  for (const [k, v] of [['origH', origH], ['origW', origW], ['size', size]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`computePreprocessInfo: ${k} must be a positive integer, got ${v}`);
  }
  const scale = (size * 1.0) / Math.max(origH, origW);
  const validH = Math.floor(origH * scale + 0.5);
  const validW = Math.floor(origW * scale + 0.5);
  return { origH, origW, validH: Math.max(1, validH), validW: Math.max(1, validW), size };
}

/** Zero-pads [h, w, C] or [h, w] at the bottom and right to [S, S, (C)]. */
function padBottomRight<T extends tf.Tensor2D | tf.Tensor3D>(x: T, size: number): T {
  const [h, w] = x.shape;
  const pads: [number, number][] = [[0, size - h], [0, size - w]];
  if (x.rank === 3) pads.push([0, 0]);
  return tf.pad(x, pads, 0) as T;
}

/**
 * Image (RGBImage, or float tensor [H, W, 3] in [0, 1]) -> padded tensor [S, S, 3] and its info.
 * The caller owns (and disposes) the returned tensor.
 */
export function preprocessImage(
  img: RGBImage | tf.Tensor3D,
  size: number,
  options: PreprocessImageOptions = {},
): { tensor: tf.Tensor3D; info: PreprocessInfo } {
  const [h, w] = isTensor(img) ? img.shape : [img.height, img.width];
  if (isTensor(img) && img.shape[2] !== 3) {
    throw new Error(`preprocessImage: expected a [H, W, 3] tensor, got [${img.shape.join(', ')}]`);
  }
  const info = computePreprocessInfo(h, w, size);
  const tensor = tf.tidy(() => {
    const x = isTensor(img) ? img.toFloat() : imageToTensor(img); // [H, W, 3]
    let r = resizeBilinearAntialias(x, info.validH, info.validW); // [validH, validW, 3]
    if (options.normalize) {
      const { mean, std } = options.normalize;
      r = r.sub(tf.tensor1d(mean)).div(tf.tensor1d(std)); // [validH, validW, 3]
    }
    return padBottomRight(r, size); // [S, S, 3]
  });
  return { tensor, info };
}

/** A batch of images (any sizes) -> [B, S, S, 3] and one info per image. */
export function preprocessImages(
  imgs: (RGBImage | tf.Tensor3D)[],
  size: number,
  options: PreprocessImageOptions = {},
): { tensor: tf.Tensor4D; infos: PreprocessInfo[] } {
  const infos: PreprocessInfo[] = [];
  const tensor = tf.tidy(() => {
    const each = imgs.map((img) => {
      const r = preprocessImage(img, size, options);
      infos.push(r.info);
      return r.tensor; // [S, S, 3]
    });
    return tf.stack(each) as tf.Tensor4D; // [B, S, S, 3]
  });
  return { tensor, infos };
}

export interface PreprocessMaskOptions {
  /** Keep the resized values in [0, 1] instead of thresholding at 0.5. Default false. */
  soft?: boolean;
}

/**
 * Mask (BinaryMask, or tensor [H, W] in [0, 1]) -> padded tensor [S, S] (0/1, or soft with
 * `soft: true`) and its info. Same geometry as `preprocessImage`.
 */
export function preprocessMask(
  mask: BinaryMask | tf.Tensor2D,
  size: number,
  options: PreprocessMaskOptions = {},
): { tensor: tf.Tensor2D; info: PreprocessInfo } {
  const [h, w] = isTensor(mask) ? mask.shape : [mask.height, mask.width];
  const info = computePreprocessInfo(h, w, size);
  const tensor = tf.tidy(() => {
    const m = isTensor(mask) ? mask.toFloat() : maskToTensor(mask); // [H, W]
    const r = resizeBilinearAntialias(m, info.validH, info.validW); // [validH, validW]
    const v = options.soft ? r.clipByValue(0, 1) : r.greaterEqual(0.5).toFloat(); // [validH, validW]
    return padBottomRight(v as tf.Tensor2D, size); // [S, S]
  });
  return { tensor, info };
}

/**
 * Number of rows and columns of a res x res grid over the S x S canvas that belong to the valid
 * (unpadded) region. Rounding: up (`ceil(validH * res / S)`), i.e. a cell is valid when it covers
 * any real image pixel, so a border cell half on the image is kept.
 */
export function validRegionCells(info: PreprocessInfo, res: number): { rows: number; cols: number } {
  if (!Number.isInteger(res) || res <= 0) throw new Error(`validRegionCells: res must be a positive integer, got ${res}`);
  const rows = Math.min(res, Math.floor((info.validH * res + info.size - 1) / info.size));
  const cols = Math.min(res, Math.floor((info.validW * res + info.size - 1) / info.size));
  return { rows, cols };
}

/** float32 [res, res] with 1 in the valid region (see `validRegionCells`) and 0 in the padding. */
export function validRegionMask(info: PreprocessInfo, res: number): tf.Tensor2D {
  const { rows, cols } = validRegionCells(info, res);
  return tf.tidy(() => tf.ones([rows, cols]).pad([[0, res - rows], [0, res - cols]], 0) as tf.Tensor2D); // [res, res]
}
