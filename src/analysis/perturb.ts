/**
 * Controlled perturbations of a ground-truth mask, for looking at a reward as a function of IoU
 * (notebook 08, the reward lab). Each takes a `BinaryMask` and returns a new mask (the input is never
 * changed) together with its IoU against the input (metrics/iou.ts: IoU 1 when both are empty).
 *
 *   shift   (dx, dy) pixels: translate; pixels moved out of the image are lost, vacated ones are 0.
 *   dilate  k pixels: morphological dilation by a structuring element of radius k —
 *           'disk' (default): every pixel within Euclidean distance k of the mask (k = 1 is the
 *           4-neighbour cross); 'square': within Chebyshev distance k ((2k+1)×(2k+1) square).
 *   erode   k pixels: morphological erosion by the same elements; pixels outside the image count as
 *           background (scipy's `binary_erosion` default), so a mask touching the border also
 *           shrinks from the border. erode(A) = NOT dilate(NOT A) with the outside as foreground of NOT A.
 *   noise   p: flip exactly round(p · W · H) distinct pixels, drawn uniformly over the WHOLE image
 *           (salt-and-pepper, not boundary noise) by a seeded Fisher–Yates draw (util/rng.ts): the
 *           same seed gives the same pixels on any engine.
 *
 * Parameters are checked: integers where pixels are counted, a shift that moves the mask wholly out
 * of the image, k beyond the image's size or p outside [0, 1] are errors that say what is allowed.
 */
import type { BinaryMask } from '../data/sample';
import { checkMask } from '../data/sample';
import { squaredDistanceToSites } from '../data/distance-transform';
import { maskIoU } from '../metrics/iou';
import { Rng } from '../util/rng';

export const PERTURBATIONS = ['shift', 'dilate', 'erode', 'noise'] as const;
export type PerturbationKind = (typeof PERTURBATIONS)[number];

export type StructuringElement = 'disk' | 'square';

/** One perturbation with its parameters. */
export type PerturbSpec =
  | { kind: 'shift'; dx: number; dy: number }
  | { kind: 'dilate'; k: number; element?: StructuringElement }
  | { kind: 'erode'; k: number; element?: StructuringElement }
  | { kind: 'noise'; p: number; seed: number };

export interface Perturbed {
  mask: BinaryMask;
  /** IoU of the perturbed mask against the original. */
  iou: number;
}

function fail(what: string, msg: string): never {
  throw new Error(`${what}: ${msg}`);
}

function checkInput(mask: BinaryMask, what: string): void {
  if (mask == null || typeof mask !== 'object') fail(what, `expected a BinaryMask {width, height, data}, got ${mask}`);
  if (!Number.isInteger(mask.width) || !Number.isInteger(mask.height) || mask.width <= 0 || mask.height <= 0) fail(what, `mask size must be positive integers, got ${mask.width}x${mask.height}`);
  checkMask(mask, undefined, `${what}: mask`);
}

function checkRadius(k: number, mask: BinaryMask, what: string): void {
  const max = Math.max(mask.width, mask.height);
  if (!Number.isInteger(k) || k < 0) fail(what, `k must be an integer number of pixels ≥ 0, got ${k}`);
  if (k > max) fail(what, `k = ${k} is larger than the mask (${mask.width}x${mask.height}); use k ≤ ${max}`);
}

function checkElement(element: unknown, what: string): StructuringElement {
  if (element === undefined) return 'disk';
  if (element !== 'disk' && element !== 'square') fail(what, `element must be "disk" or "square", got ${JSON.stringify(element)}`);
  return element;
}

const withIoU = (original: BinaryMask, mask: BinaryMask): Perturbed => ({ mask, iou: maskIoU(mask, original) });

/** Translate by (dx, dy) pixels (x right, y down). |dx| < width and |dy| < height. */
export function shiftMask(mask: BinaryMask, dx: number, dy: number): Perturbed {
  const what = 'shiftMask';
  checkInput(mask, what);
  const { width: W, height: H } = mask;
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) fail(what, `dx and dy must be integers (pixels), got (${dx}, ${dy})`);
  if (Math.abs(dx) >= W || Math.abs(dy) >= H) fail(what, `shift (${dx}, ${dy}) moves every pixel out of the ${W}x${H} mask; use |dx| < ${W} and |dy| < ${H}`);
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= H) continue;
    for (let x = 0; x < W; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < W) out[y * W + x] = mask.data[sy * W + sx];
    }
  }
  return withIoU(mask, { width: W, height: H, data: out });
}

/** Dilation of the foreground (non-zero) of a W x H grid by an element of radius k (the outside counts as background). */
function dilateRaw(data: Uint8Array, W: number, H: number, k: number, element: StructuringElement): Uint8Array {
  const out = new Uint8Array(W * H);
  if (k === 0) {
    out.set(data);
    return out;
  }
  if (element === 'disk') {
    const sq = squaredDistanceToSites(W, H, (i) => data[i] !== 0);
    for (let i = 0; i < out.length; i++) out[i] = sq[i] <= k * k ? 1 : 0;
    return out;
  }
  // square: separable max filter, rows then columns
  const rows = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (let t = Math.max(0, x - k); t <= Math.min(W - 1, x + k) && !v; t++) v = data[y * W + t];
      rows[y * W + x] = v ? 1 : 0;
    }
  }
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) {
      let v = 0;
      for (let t = Math.max(0, y - k); t <= Math.min(H - 1, y + k) && !v; t++) v = rows[t * W + x];
      out[y * W + x] = v;
    }
  }
  return out;
}

/** Morphological dilation by k pixels ('disk': Euclidean radius k, default; 'square': (2k+1)² square). */
export function dilateMask(mask: BinaryMask, k: number, element?: StructuringElement): Perturbed {
  const what = 'dilateMask';
  checkInput(mask, what);
  checkRadius(k, mask, what);
  const el = checkElement(element, what);
  return withIoU(mask, { width: mask.width, height: mask.height, data: dilateRaw(mask.data, mask.width, mask.height, k, el) });
}

/** Morphological erosion by k pixels (same elements; pixels outside the image count as background). */
export function erodeMask(mask: BinaryMask, k: number, element?: StructuringElement): Perturbed {
  const what = 'erodeMask';
  checkInput(mask, what);
  checkRadius(k, mask, what);
  const el = checkElement(element, what);
  const { width: W, height: H } = mask;
  if (k === 0) return withIoU(mask, { width: W, height: H, data: Uint8Array.from(mask.data) });
  // NOT A padded by k with foreground (the outside is background of A), dilated, cropped, negated.
  const pw = W + 2 * k;
  const ph = H + 2 * k;
  const comp = new Uint8Array(pw * ph).fill(1);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) comp[(y + k) * pw + x + k] = mask.data[y * W + x] ? 0 : 1;
  const grown = dilateRaw(comp, pw, ph, k, el);
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = grown[(y + k) * pw + x + k] ? 0 : 1;
  return withIoU(mask, { width: W, height: H, data: out });
}

/** The number of pixels `flipNoise` flips: round(p · W · H). */
export function noiseFlips(mask: BinaryMask, p: number): number {
  return Math.round(p * mask.width * mask.height);
}

/** Flip exactly round(p · W · H) distinct pixels, drawn uniformly over the image with a seeded RNG. */
export function flipNoise(mask: BinaryMask, p: number, seed: number): Perturbed {
  const what = 'flipNoise';
  checkInput(mask, what);
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) fail(what, `p (the fraction of pixels to flip) must be in [0, 1], got ${p}`);
  if (!Number.isInteger(seed)) fail(what, `seed must be an integer, got ${seed}`);
  const n = mask.width * mask.height;
  const flips = noiseFlips(mask, p);
  const rng = new Rng(seed);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const data = Uint8Array.from(mask.data);
  // partial Fisher–Yates: the first `flips` positions are a uniform sample without replacement
  for (let i = 0; i < flips; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
    data[idx[i]] ^= 1;
  }
  return withIoU(mask, { width: mask.width, height: mask.height, data });
}

/** Apply one perturbation spec. */
export function perturbMask(mask: BinaryMask, spec: PerturbSpec): Perturbed {
  switch (spec?.kind) {
    case 'shift':
      return shiftMask(mask, spec.dx, spec.dy);
    case 'dilate':
      return dilateMask(mask, spec.k, spec.element);
    case 'erode':
      return erodeMask(mask, spec.k, spec.element);
    case 'noise':
      return flipNoise(mask, spec.p, spec.seed);
    default:
      throw new Error(`perturbMask: unknown perturbation ${JSON.stringify((spec as { kind?: unknown })?.kind)}; expected one of ${PERTURBATIONS.join(', ')}`);
  }
}
