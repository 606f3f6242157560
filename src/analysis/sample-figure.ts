/**
 * Fig. 5 / 7 / 8 analogs: one row per sample, left to right — the image with its id and query, the
 * positional prior, the predicted mask, (for failure cases) the ground truth, and the chain of
 * thought as text. Composed in JS over RGBImage and encoded by sharp (one PNG).
 *
 * The prior is drawn as the paper draws it, over the image: sigmoid(H_prior) divided by its maximum
 * (the kit's choice: a weak prior stays below 0.5 everywhere and would look flat; the caption gives
 * the maximum, and the IoU uses the unscaled prior at 0.5) through the kit's heatmap ramp, blended at
 * 65% so the objects stay visible. The predicted mask is blue, the ground truth hatched (readable on
 * any object color).
 */
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import type { BinaryMask, RGBImage, Sample } from '../data/sample';
import { shapeWorldMeta } from '../data/shapeworld/index';
import { heatmapImage, overlayMask, PALETTE, upscale, wrapText } from '../notebook/overlay';
import { thinkText } from './cot-judge';

export type Column = 'image' | 'prior' | 'mask' | 'gt';

export interface SampleView {
  sample: Sample;
  /** sigmoid(H_prior) at the image size, row-major. */
  priorProb: ArrayLike<number>;
  mask: BinaryMask;
  response: string;
  priorIoU: number;
  maskIoU: number;
  /** CoT-consistency score, if judged. */
  judge?: number;
}

export interface SampleFigureOptions {
  columns?: Column[];
  /** Integer upscaling of each tile (default 2). */
  scale?: number;
  /** Width of the text column in pixels (default 3 tiles). */
  textWidth?: number;
  fontSize?: number;
  /** Caption lines under each tile (default 3). */
  captionLines?: number;
  /** A title line at the top. */
  title?: string;
}

/** The prior over the image: the heatmap ramp blended at `alpha`. */
export function priorOverlay(img: RGBImage, prob: ArrayLike<number>, alpha = 0.65): RGBImage {
  const heat = heatmapImage(prob, img.width, img.height);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(img.data[i] * (1 - alpha) + heat.data[i] * alpha);
  return { width: img.width, height: img.height, data: out };
}

const maxOf = (p: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > m) m = p[i];
  return m;
};
/** p / max(p): the prior's shape whatever its scale (a weak prior stays below 0.5 everywhere). */
const scaled = (p: ArrayLike<number>, max: number): Float32Array => Float32Array.from(p as ArrayLike<number>, (v) => (max > 0 ? v / max : 0));

/** Diagnostics where the sample carries a ShapeWorld-RS scene, else null. */
const diagnosticsOf = (v: SampleView): ViewDiagnostics | null => ((v.sample.meta as { generator?: string } | undefined)?.generator === 'shapeworld-rs' ? viewDiagnostics(v) : null);

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface ViewDiagnostics {
  id: string;
  /** Largest σ(H_prior). */
  priorMax: number;
  /** The object under the prior's highest pixel (null: background). */
  peakObject: number | null;
  peakOnTarget: boolean;
  /** Objects with at least half of their visible pixels inside the predicted mask. */
  objectsCovered: number;
  targetCovered: boolean;
}

/** Where the prior peaks and which objects the mask covers, read off the scene's label map. */
export function viewDiagnostics(v: SampleView): ViewDiagnostics {
  const meta = shapeWorldMeta(v.sample);
  let at = 0;
  for (let i = 1; i < v.priorProb.length; i++) if (v.priorProb[i] > v.priorProb[at]) at = i;
  const label = meta.labelMap.data[at];
  const peakObject = label > 0 ? label - 1 : null;
  const covered = meta.instanceMasks.map((m) => {
    let inside = 0;
    let total = 0;
    for (let i = 0; i < m.data.length; i++) if (m.data[i]) {
      total++;
      inside += v.mask.data[i];
    }
    return total > 0 && inside / total >= 0.5;
  });
  return {
    id: v.sample.id, priorMax: v.priorProb.length ? v.priorProb[at] : 0, peakObject, peakOnTarget: peakObject !== null && meta.targetIds.includes(peakObject),
    objectsCovered: covered.filter(Boolean).length, targetCovered: meta.targetIds.some((t) => covered[t]),
  };
}

function tileOf(v: SampleView, c: Column): { image: RGBImage; caption: string } {
  const img = v.sample.image;
  switch (c) {
    case 'image':
      return { image: img, caption: `${v.sample.id}: ${v.sample.query}` };
    case 'prior': {
      const max = maxOf(v.priorProb);
      const d = diagnosticsOf(v);
      const peak = d ? ` · peak on ${d.peakOnTarget ? 'the target' : d.peakObject === null ? 'background' : 'another object'}` : '';
      return { image: priorOverlay(img, scaled(v.priorProb, max)), caption: `positional prior · IoU ${v.priorIoU.toFixed(2)} · max σ(H) ${max.toFixed(2)}${peak}` };
    }
    case 'mask': {
      const d = diagnosticsOf(v);
      const cov = d ? ` · covers ${d.objectsCovered} object${d.objectsCovered === 1 ? '' : 's'}${d.targetCovered ? ' (target too)' : ''}` : '';
      return { image: overlayMask(img, v.mask, PALETTE.prediction), caption: `predicted mask · IoU ${v.maskIoU.toFixed(2)}${cov}` };
    }
    case 'gt':
      return { image: overlayMask(img, v.sample.mask, 'hatch'), caption: 'ground truth (hatched)' };
  }
}

/** The chain of thought to print: the think text, plus what follows it and the judge score. */
function cotText(v: SampleView): string {
  const think = thinkText(v.response).trim();
  const tail = /<\/think>/.test(v.response) ? '' : ' [no </think>]';
  return `${think}${tail}${v.judge !== undefined ? `  [consistency ${v.judge.toFixed(2)}]` : ''}`;
}

/** Pixel size of the figure for `n` rows (what `sampleFigurePng` will produce). */
export function sampleFigureSize(n: number, tileW: number, tileH: number, opts: SampleFigureOptions = {}): { width: number; height: number } {
  const cols = (opts.columns ?? ['image', 'prior', 'mask']).length;
  const scale = opts.scale ?? 2;
  const fontSize = opts.fontSize ?? 11;
  const lineH = Math.ceil(fontSize * 1.3);
  const gap = 8;
  const capH = (opts.captionLines ?? 3) * lineH + 4;
  const titleH = opts.title ? lineH + 2 * gap : 0;
  const tw = tileW * scale;
  const th = tileH * scale;
  const textW = opts.textWidth ?? 3 * tw;
  return { width: cols * (tw + gap) + textW + 2 * gap, height: titleH + n * (th + capH + gap) + gap };
}

/** One row per sample: the tiles, their captions, and the chain of thought beside them. */
export async function sampleFigurePng(views: readonly SampleView[], opts: SampleFigureOptions = {}): Promise<Buffer> {
  if (views.length === 0) throw new Error('sampleFigurePng: no samples');
  const columns = opts.columns ?? ['image', 'prior', 'mask'];
  const scale = opts.scale ?? 2;
  const fontSize = opts.fontSize ?? 11;
  const lineH = Math.ceil(fontSize * 1.3);
  const gap = 8;
  const captionLines = opts.captionLines ?? 3;
  const tileW = Math.max(...views.map((v) => v.sample.image.width));
  const tileH = Math.max(...views.map((v) => v.sample.image.height));
  const tw = tileW * scale;
  const th = tileH * scale;
  const capH = captionLines * lineH + 4;
  const textW = opts.textWidth ?? 3 * tw;
  const { width: W, height: H } = sampleFigureSize(views.length, tileW, tileH, opts);
  const titleH = opts.title ? lineH + 2 * gap : 0;
  const composites: OverlayOptions[] = [];
  const svg: string[] = [];
  const text = (x: number, y: number, s: string, extra = '') => svg.push(`<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#222"${extra}>${escapeXml(s)}</text>`);
  if (opts.title) text(gap, gap + lineH - 3, opts.title, ' font-weight="bold"');
  const capChars = Math.max(8, Math.floor(tw / (fontSize * 0.55)));
  const textChars = Math.max(16, Math.floor(textW / (fontSize * 0.55)));
  const textLines = Math.max(1, Math.floor((th + capH) / lineH));
  views.forEach((v, r) => {
    const y = titleH + gap + r * (th + capH + gap);
    columns.forEach((c, j) => {
      const x = gap + j * (tw + gap);
      const t = tileOf(v, c);
      const img = upscale(t.image, scale);
      composites.push({ input: Buffer.from(img.data), raw: { width: img.width, height: img.height, channels: 3 }, left: x, top: y });
      wrapText(t.caption, capChars, captionLines).forEach((line, k) => text(x, y + th + 2 + (k + 1) * lineH - 3, line));
    });
    const x = gap + columns.length * (tw + gap);
    wrapText(cotText(v), textChars, textLines).forEach((line, k) => text(x, y + (k + 1) * lineH - 3, line));
  });
  composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${svg.join('')}</svg>`), left: 0, top: 0 });
  return sharp({ create: { width: W, height: H, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png().toBuffer();
}
