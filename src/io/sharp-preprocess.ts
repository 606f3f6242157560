/**
 * The SAM resize-longest-side + pad transform done by sharp on an `RGBImage`, for figures,
 * caches and data preparation outside the model (the models use the tensor path in
 * `preprocess.ts`). Geometry is identical (`computePreprocessInfo`); pixel values differ slightly
 * because sharp's `linear` kernel and rounding to 8 bits are not the tensor path's float math.
 */
import sharp from 'sharp';
import { RGBImage, checkImage } from '../data/sample';
import { PreprocessInfo, computePreprocessInfo } from './preprocess';

/** Resizes the longest side to `size` (bilinear, antialiased) and pads bottom/right with black. */
export async function resizePadImage(img: RGBImage, size: number): Promise<{ image: RGBImage; info: PreprocessInfo }> {
  checkImage(img, 'resizePadImage');
  const info = computePreprocessInfo(img.height, img.width, size);
  const { data, info: out } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(info.validW, info.validH, { fit: 'fill', kernel: 'linear' })
    .extend({ bottom: size - info.validH, right: size - info.validW, background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (out.width !== size || out.height !== size || out.channels !== 3) {
    throw new Error(`resizePadImage: sharp returned ${out.width}x${out.height}x${out.channels}, expected ${size}x${size}x3`);
  }
  return { image: { width: size, height: size, data: new Uint8Array(data) }, info };
}
