/**
 * Prompts as plain values, and how a batch of them becomes the prompt encoder's point tensors.
 *
 * One prompt holds any number of points (label 1 positive, 0 negative) and at most one box
 * (x0, y0, x1, y1: the pixel indices of the extreme pixels, inclusive, as SAM's
 * `batched_mask_to_box`). Coordinates are pixels, x right and y down, origin at the top-left pixel.
 *
 * Tokens follow SAM's order: the points, then the two box corners (labels 2, 3, which the prompt
 * encoder embeds exactly like SAM's `_embed_boxes`), or one not-a-point pad (label −1) when there is
 * no box. Rows of a batch are right-padded with −1 to the longest one, so one batch can mix point,
 * box and point + box prompts; a prompt with neither points nor a box has no tokens (mask-only).
 *
 * Prompts outside the image are an error that names the coordinate and the image size (no silent
 * clamp): a point needs 0 <= x < W and 0 <= y < H, a box 0 <= x0 <= x1 < W and 0 <= y0 <= y1 < H.
 */
import * as tf from '@tensorflow/tfjs';
import type { PreprocessInfo } from '../../io/preprocess';

export interface SamPoint {
  x: number;
  y: number;
  /** 1 foreground (positive), 0 background (negative). */
  label: 0 | 1;
}

export type SamBox = [number, number, number, number];

export interface SamPrompt {
  points?: SamPoint[];
  /** x0, y0, x1, y1 (inclusive pixel coordinates). */
  box?: SamBox;
}

/** Throws unless every point and box of `prompt` lies inside a width x height image. */
export function checkPromptInside(prompt: SamPrompt, width: number, height: number, what = 'prompt'): void {
  for (const [i, p] of (prompt.points ?? []).entries()) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y) || p.x < 0 || p.y < 0 || p.x >= width || p.y >= height) {
      throw new Error(`${what}: point ${i} (x=${p.x}, y=${p.y}) lies outside the ${width}x${height} image; expected 0 <= x < ${width} and 0 <= y < ${height}`);
    }
    if (p.label !== 0 && p.label !== 1) throw new Error(`${what}: point ${i} has label ${p.label}; expected 1 (foreground) or 0 (background)`);
  }
  if (prompt.box) {
    const b = prompt.box;
    const [x0, y0, x1, y1] = b;
    const ok = b.length === 4 && b.every(Number.isFinite) && x0 >= 0 && y0 >= 0 && x0 <= x1 && y0 <= y1 && x1 < width && y1 < height;
    if (!ok) {
      throw new Error(`${what}: box [${b.join(', ')}] is not inside the ${width}x${height} image; expected [x0, y0, x1, y1] with 0 <= x0 <= x1 < ${width} and 0 <= y0 <= y1 < ${height}`);
    }
  }
}

/**
 * A prompt in original-image pixels -> model-input pixels (SAM's `ResizeLongestSide.apply_coords`:
 * scale x by validW / origW and y by validH / origH). Checks it lies inside the original image.
 */
export function transformPrompt(prompt: SamPrompt, info: PreprocessInfo, what = 'prompt'): SamPrompt {
  checkPromptInside(prompt, info.origW, info.origH, what);
  const sx = info.validW / info.origW;
  const sy = info.validH / info.origH;
  const out: SamPrompt = {};
  if (prompt.points) out.points = prompt.points.map((p) => ({ x: p.x * sx, y: p.y * sy, label: p.label }));
  if (prompt.box) out.box = [prompt.box[0] * sx, prompt.box[1] * sy, prompt.box[2] * sx, prompt.box[3] * sy];
  return out;
}

/** The point tensors of a batch of prompts (see the module comment). */
export interface PromptTokens {
  /** N x P x 2 float (x, y), model-input pixels. Null when no prompt has a token (P = 0). */
  coords: tf.Tensor3D | null;
  /** N rows of P labels in −1..3. */
  labels: number[][];
  /** Tokens per row P. */
  tokens: number;
}

/** One prompt's tokens in SAM's order: points, then box corners or one pad. */
function promptRow(p: SamPrompt): { xy: number[]; labels: number[] } {
  const xy: number[] = [];
  const labels: number[] = [];
  for (const pt of p.points ?? []) {
    xy.push(pt.x, pt.y);
    labels.push(pt.label);
  }
  if (p.box) {
    xy.push(p.box[0], p.box[1], p.box[2], p.box[3]);
    labels.push(2, 3);
  } else if (labels.length > 0) {
    xy.push(0, 0);
    labels.push(-1);
  }
  return { xy, labels };
}

/** Batch prompts (already in model-input pixels) into point tensors, right-padded with −1. */
export function promptTokens(prompts: SamPrompt[]): PromptTokens {
  const rows = prompts.map(promptRow);
  const P = Math.max(0, ...rows.map((r) => r.labels.length));
  const labels = rows.map((r) => [...r.labels, ...Array<number>(P - r.labels.length).fill(-1)]);
  if (P === 0) return { coords: null, labels, tokens: 0 };
  const coords = new Float32Array(prompts.length * P * 2);
  rows.forEach((r, i) => coords.set(r.xy, i * P * 2));
  return { coords: tf.tensor3d(coords, [prompts.length, P, 2]), labels, tokens: P };
}

/** Tight box of a binary mask (inclusive pixel indices), or null when the mask is empty. */
export function maskBox(mask: { width: number; height: number; data: ArrayLike<number> }): SamBox | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  const { width, height, data } = mask;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}
