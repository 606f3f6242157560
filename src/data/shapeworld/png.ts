/**
 * PNG encoding and decoding through sharp with fixed options, so a given sharp/libvips/libpng/zlib
 * build writes bit-identical files (no metadata, no palette, fixed filter and compression). Pixel
 * content never depends on the codec: the manifest's per-split checksums are over decoded pixels.
 */
import sharp from 'sharp';
import type { RGBImage } from '../sample';
import type { LabelMap } from './render';

/** Encoder options used for every file. */
export const PNG_OPTIONS = { compressionLevel: 9, adaptiveFiltering: false, palette: false } as const;

/** The codec identity (recorded in the manifest: file hashes are only reproducible with the same build). */
export function codecInfo(): string {
  const v = sharp.versions as Record<string, string | undefined>;
  return `sharp ${v.sharp} (libvips ${v.vips}, libpng ${v.png ?? '?'}, zlib-ng ${v['zlib-ng'] ?? '?'}); png ${JSON.stringify(PNG_OPTIONS)}`;
}

/** An RGB image as PNG bytes. */
export async function encodeRgbPng(img: RGBImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png(PNG_OPTIONS)
    .toBuffer();
}

/** A label map as a one-channel 8-bit PNG (values 0..n stored as is). */
export async function encodeLabelPng(lm: LabelMap): Promise<Buffer> {
  return sharp(Buffer.from(lm.data.buffer, lm.data.byteOffset, lm.data.byteLength), { raw: { width: lm.width, height: lm.height, channels: 1 } })
    .toColourspace('b-w')
    .png(PNG_OPTIONS)
    .toBuffer();
}

/** Decodes an RGB PNG (file path or bytes). */
export async function decodeRgbPng(src: string | Buffer): Promise<RGBImage> {
  const { data, info } = await sharp(src).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decodeRgbPng: expected 3 channels, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Decodes a one-channel label PNG (file path or bytes). */
export async function decodeLabelPng(src: string | Buffer): Promise<LabelMap> {
  const { data, info } = await sharp(src).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
