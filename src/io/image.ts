/**
 * Image and mask files <-> `RGBImage` / `BinaryMask` <-> tensors.
 *
 * Decoding goes through sharp (libvips): PNG, JPEG and whatever else sharp reads (WebP, GIF, TIFF).
 * Every failure (missing file, not an image, corrupt or truncated data) is rethrown as one error
 * that names the file and what was expected, with sharp's own message appended. sharp's default
 * `failOn: 'warning'` is kept, so a truncated JPEG or PNG is an error, not a silently grey image.
 *
 * Tensor convention (the one the models use): images are float32 [H, W, 3] in [0, 1]
 * (`value / 255`); masks are float32 [H, W] with values 0 or 1.
 *
 * Writes are atomic: the PNG is encoded in memory, written to a temporary file beside the target
 * and renamed over it, so a crash never leaves a half-written file under the final name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { OutputInfo, Sharp } from 'sharp';
import { BinaryMask, RGBImage, checkImage, checkMask } from '../data/sample';
import { writeFileAtomic } from '../util/atomic';

/** Where an image comes from: a file path or an encoded buffer (PNG/JPEG bytes). */
export type ImageSource = string | Buffer | Uint8Array;

export interface LoadImageOptions {
  /**
   * Apply the EXIF orientation tag (rotate/flip as a viewer would). Default false: the pixels as
   * stored. LabelMe (ReasonSeg) and OpenCV's `imread` apply it; COCO sizes are of the stored pixels.
   */
  autoOrient?: boolean;
  /** Name used in error messages when `source` is a buffer (default `<buffer>`). */
  name?: string;
}

/** A readable name for error messages. */
function describe(source: ImageSource, name?: string): string {
  return typeof source === 'string' ? `"${source}"` : (name ?? '<buffer>');
}

/** Fails early, with the file name, when a path does not exist or is not a regular file. */
function assertFile(file: string, expected: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new Error(`${expected} "${file}": file not found`);
  }
  if (!st.isFile()) throw new Error(`${expected} "${file}": not a regular file`);
}

/** Decodes `source` with sharp into raw bytes; `configure` adds the pipeline steps. */
async function decodeRaw(
  source: ImageSource,
  expected: string,
  options: LoadImageOptions,
  configure: (s: Sharp) => Sharp,
): Promise<{ data: Buffer; info: OutputInfo }> {
  if (typeof source === 'string') assertFile(source, `cannot read ${expected}`);
  const input = typeof source === 'string' ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  try {
    let s = sharp(input, { failOn: 'warning', autoOrient: options.autoOrient ?? false });
    s = configure(s);
    return await s.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot read ${expected} ${describe(source, options.name)}: expected a PNG or JPEG file that decodes cleanly (sharp: ${msg})`);
  }
}

/**
 * Loads any PNG/JPEG as 8-bit RGB: alpha is dropped (not composited), grey is expanded to RGB,
 * other colour spaces (CMYK, 16-bit) are converted to 8-bit sRGB.
 */
export async function loadImage(source: ImageSource, options: LoadImageOptions = {}): Promise<RGBImage> {
  const { data, info } = await decodeRaw(source, 'image', options, (s) => s.removeAlpha().toColourspace('srgb'));
  if (info.channels !== 3) {
    throw new Error(`cannot read image ${describe(source, options.name)}: expected 3 channels after conversion, got ${info.channels}`);
  }
  // Copy into a plain Uint8Array that owns its memory (sharp's Buffer may be a pooled slice).
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/**
 * Loads a mask image: a pixel is 1 when any of its colour channels is non-zero (alpha ignored),
 * else 0. Works for 0/1, 0/255, grey, RGB and palette PNGs (palette indices are read as their
 * colours, so index 0 must be black). 16-bit PNGs are scaled to 8 bits by sharp, so a 16-bit mask
 * must use large values (e.g. 65535), not 1. With `expectedSize`, a size mismatch is an error.
 */
export async function loadMaskPng(
  source: ImageSource,
  expectedSize?: { width: number; height: number },
  options: LoadImageOptions = {},
): Promise<BinaryMask> {
  const { data, info } = await decodeRaw(source, 'mask', options, (s) => s.removeAlpha());
  const { width, height, channels } = info;
  if (expectedSize && (width !== expectedSize.width || height !== expectedSize.height)) {
    throw new Error(
      `mask ${describe(source, options.name)}: size ${width}x${height} differs from the expected ${expectedSize.width}x${expectedSize.height}`,
    );
  }
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    let any = 0;
    for (let c = 0; c < channels; c++) any |= data[i * channels + c];
    out[i] = any !== 0 ? 1 : 0;
  }
  return { width, height, data: out };
}

export { writeFileAtomic };

/** Encodes an RGB image as PNG (lossless) and writes it atomically. Returns the encoded bytes. */
export async function saveImagePng(img: RGBImage, file: string): Promise<Buffer> {
  checkImage(img, `saveImagePng("${file}")`);
  const png = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png()
    .toBuffer();
  writeFileAtomic(file, png);
  return png;
}

/** Encodes a binary mask as an 8-bit grey PNG with values 0 / 255 and writes it atomically. */
export async function saveMaskPng(mask: BinaryMask, file: string): Promise<Buffer> {
  checkMask(mask, undefined, `saveMaskPng("${file}")`);
  const grey = new Uint8Array(mask.data.length);
  for (let i = 0; i < grey.length; i++) grey[i] = mask.data[i] ? 255 : 0;
  const png = await sharp(Buffer.from(grey.buffer), { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .png()
    .toBuffer();
  writeFileAtomic(file, png);
  return png;
}

/** RGB image -> float32 tensor [H, W, 3] with values in [0, 1]. */
export function imageToTensor(img: RGBImage): tf.Tensor3D {
  checkImage(img);
  return tf.tidy(() => {
    const bytes = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'); // [H, W, 3]
    return bytes.toFloat().div(255) as tf.Tensor3D;
  });
}

/** Binary mask -> float32 tensor [H, W] with values 0 / 1. */
export function maskToTensor(mask: BinaryMask): tf.Tensor2D {
  checkMask(mask);
  return tf.tidy(() => tf.tensor2d(mask.data, [mask.height, mask.width], 'int32').toFloat()); // [H, W]
}

/** Float tensor [H, W, 3] in [0, 1] -> RGB image (rounded, clamped to 0..255). */
export async function tensorToImage(t: tf.Tensor3D): Promise<RGBImage> {
  const [height, width, c] = t.shape;
  if (c !== 3) throw new Error(`tensorToImage: expected [H, W, 3], got [${t.shape.join(', ')}]`);
  const bytes = tf.tidy(() => t.mul(255).round().clipByValue(0, 255).toInt()); // [H, W, 3]
  const values = await bytes.data();
  bytes.dispose();
  return { width, height, data: Uint8Array.from(values) };
}

/**
 * Tensor [H, W] -> binary mask: 1 where value >= threshold (default 0.5, for 0/1 or probability
 * tensors; pass 0 for logits, see `metrics/threshold`).
 */
export async function tensorToMask(t: tf.Tensor2D, threshold = 0.5): Promise<BinaryMask> {
  const [height, width] = t.shape;
  const bin = tf.tidy(() => t.greaterEqual(threshold).toInt()); // [H, W]
  const values = await bin.data();
  bin.dispose();
  return { width, height, data: Uint8Array.from(values) };
}
