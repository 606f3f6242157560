/**
 * Pictures of samples: mask overlays, contours, captions and grids, composed in JS and encoded by
 * sharp. Pure functions over RGBImage / BinaryMask plus one async PNG encoder.
 */
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import type { BinaryMask, RGBImage } from '../data/sample';
import { checkImage, checkMask } from '../data/sample';

export type RGB = [number, number, number];

export const PALETTE: Record<string, RGB> = {
  target: [255, 40, 40],
  prediction: [40, 200, 255],
  prior: [255, 200, 0],
};

/**
 * Highlight a mask on an image so it reads on any object color: white diagonal hatching inside and
 * a black outline (the default), or a flat `color` blended at `alpha` with an opaque outline.
 */
export function overlayMask(img: RGBImage, mask: BinaryMask, color: RGB | 'hatch' = 'hatch', alpha = 0.45, outline = true): RGBImage {
  checkImage(img);
  checkMask(mask, img, 'overlay mask');
  const { width: W, height: H } = img;
  const out = new Uint8Array(img.data);
  const m = mask.data;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!m[i]) continue;
      const edge = outline && (x === 0 || y === 0 || x === W - 1 || y === H - 1 || !m[i - 1] || !m[i + 1] || !m[i - W] || !m[i + W]);
      let ink: RGB;
      let a: number;
      if (color === 'hatch') {
        if (edge) [ink, a] = [[0, 0, 0], 1];
        else if ((x + y) % 4 < 2) [ink, a] = [[255, 255, 255], 0.7];
        else continue;
      } else {
        [ink, a] = [color, edge ? 1 : alpha];
      }
      for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(out[i * 3 + c] * (1 - a) + ink[c] * a);
    }
  }
  return { width: W, height: H, data: out };
}

/** Nearest-neighbour upscaling by an integer factor (keeps pixels crisp in figures). */
export function upscale(img: RGBImage, factor: number): RGBImage {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upscale: factor must be a positive integer, got ${factor}`);
  if (factor === 1) return img;
  const W = img.width * factor;
  const H = img.height * factor;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < W; x++) {
      const s = (sy * img.width + Math.floor(x / factor)) * 3;
      const d = (y * W + x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}

/** A heatmap (values in [0, 1], row-major h x w) as an RGB image with a simple viridis-like ramp. */
export function heatmapImage(values: ArrayLike<number>, width: number, height: number): RGBImage {
  if (values.length !== width * height) throw new Error(`heatmapImage: expected ${width * height} values, got ${values.length}`);
  const stops: RGB[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(1, Math.max(0, Number.isFinite(values[i]) ? values[i] : 0)) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(v));
    const t = v - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(stops[k][c] * (1 - t) + stops[k + 1][c] * t);
  }
  return { width, height, data: out };
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Greedy word wrap to at most `maxChars` per line and `maxLines` lines (ellipsis when cut). */
export function wrapText(text: string, maxChars: number, maxLines: number): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line.length === 0) line = w;
    else if (line.length + 1 + w.length <= maxChars) line += ` ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const cut = lines.slice(0, maxLines);
    cut[maxLines - 1] = `${cut[maxLines - 1].slice(0, Math.max(0, maxChars - 1))}…`;
    return cut;
  }
  return lines;
}

export interface Tile {
  image: RGBImage;
  /** Caption under the tile (wrapped). */
  caption?: string;
}

export interface GridOptions {
  columns?: number;
  /** Integer upscaling of each tile. */
  scale?: number;
  gap?: number;
  captionLines?: number;
  fontSize?: number;
  background?: RGB;
}

/** Lay tiles out in a grid with captions and encode it as PNG. */
export async function gridPng(tiles: Tile[], opts: GridOptions = {}): Promise<Buffer> {
  if (tiles.length === 0) throw new Error('gridPng: no tiles');
  const { columns = 4, scale = 2, gap = 8, captionLines = 3, fontSize = 11, background = [255, 255, 255] } = opts;
  const tw = Math.max(...tiles.map((t) => t.image.width)) * scale;
  const th = Math.max(...tiles.map((t) => t.image.height)) * scale;
  const lineH = Math.ceil(fontSize * 1.3);
  const capH = tiles.some((t) => t.caption) ? captionLines * lineH + 4 : 0;
  const cols = Math.min(columns, tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const W = cols * tw + (cols + 1) * gap;
  const H = rows * (th + capH) + (rows + 1) * gap;
  const composites: OverlayOptions[] = [];
  const svgText: string[] = [];
  const maxChars = Math.max(8, Math.floor(tw / (fontSize * 0.55)));
  tiles.forEach((t, i) => {
    const x = gap + (i % cols) * (tw + gap);
    const y = gap + Math.floor(i / cols) * (th + capH + gap);
    const img = upscale(t.image, scale);
    composites.push({ input: Buffer.from(img.data), raw: { width: img.width, height: img.height, channels: 3 }, left: x, top: y });
    if (t.caption) {
      wrapText(t.caption, maxChars, captionLines).forEach((line, k) => {
        svgText.push(`<text x="${x}" y="${y + th + 2 + (k + 1) * lineH - 3}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#222">${escapeXml(line)}</text>`);
      });
    }
  });
  if (svgText.length > 0) {
    composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${svgText.join('')}</svg>`), left: 0, top: 0 });
  }
  return sharp({ create: { width: W, height: H, channels: 3, background: { r: background[0], g: background[1], b: background[2] } } })
    .composite(composites)
    .png()
    .toBuffer();
}

/** One RGB image as PNG. */
export async function imagePng(img: RGBImage, scale = 1): Promise<Buffer> {
  checkImage(img);
  const up = upscale(img, scale);
  return sharp(Buffer.from(up.data), { raw: { width: up.width, height: up.height, channels: 3 } }).png().toBuffer();
}

/** A copy of `img` with a 1-pixel rectangle outline [x0, y0, x1, y1] (inclusive) in `color`. */
export function drawBox(img: RGBImage, box: readonly [number, number, number, number], color: RGB = [0, 220, 0]): RGBImage {
  const out = { width: img.width, height: img.height, data: new Uint8Array(img.data) };
  const [x0, y0, x1, y1] = box.map((v) => Math.round(v));
  const put = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    out.data.set(color, (y * img.width + x) * 3);
  };
  for (let x = x0; x <= x1; x++) {
    put(x, y0);
    put(x, y1);
  }
  for (let y = y0; y <= y1; y++) {
    put(x0, y);
    put(x1, y);
  }
  return out;
}

/** A copy of `img` with a small cross marker at (x, y). */
export function drawPoint(img: RGBImage, x: number, y: number, color: RGB = [0, 220, 0], radius = 3): RGBImage {
  const out = { width: img.width, height: img.height, data: new Uint8Array(img.data) };
  const cx = Math.round(x);
  const cy = Math.round(y);
  for (let d = -radius; d <= radius; d++) {
    for (const [px, py] of [[cx + d, cy], [cx, cy + d]]) {
      if (px >= 0 && py >= 0 && px < img.width && py < img.height) out.data.set(color, (py * img.width + px) * 3);
    }
  }
  return out;
}
