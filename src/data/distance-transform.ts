/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", 2012): the squared distance of every pixel to the nearest "site" pixel, computed as
 * two passes of the 1-D lower envelope of parabolas (columns, then rows), O(W·H).
 *
 * For masks: `distanceTransform(mask)` gives, for every foreground pixel, the Euclidean distance
 * (in pixels, between pixel centers) to the nearest background pixel, and 0 on the background.
 * Pixels outside the image count as background by default (the mask is padded with one background
 * pixel, as RITM / SAM evaluation code does before `cv2.distanceTransform`), so an object touching
 * the border is not "deep" at the border. `maxDistancePoint(mask)` is the interior point used as
 * the ground-truth point prompt: the pixel of largest distance, ties broken by the first in
 * row-major order (smallest y, then smallest x).
 */
import type { BinaryMask } from './sample';

const INF = 1e20;

/**
 * 1-D squared distance transform of a sampled function f (length n): d[q] = min_p (q − p)² + f[p].
 * Scratch arrays v (n ints) and z (n + 1 floats) are passed in to avoid allocation per line.
 */
export function distanceTransform1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const dq = q - v[k];
    d[q] = dq * dq + f[v[k]];
  }
}

/**
 * Squared Euclidean distance of every pixel of a width x height grid to the nearest site
 * (`isSite(i)` true at index i = y·width + x). With no site at all, every value is ~1e20.
 */
export function squaredDistanceToSites(width: number, height: number, isSite: (i: number) => boolean): Float64Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`squaredDistanceToSites: expected positive integer width and height, got ${width}x${height}`);
  }
  const out = new Float64Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = isSite(i) ? 0 : INF;
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  // Columns
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = out[y * width + x];
    distanceTransform1d(f, height, d, v, z);
    for (let y = 0; y < height; y++) out[y * width + x] = d[y];
  }
  // Rows
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = out[y * width + x];
    distanceTransform1d(f, width, d, v, z);
    for (let x = 0; x < width; x++) out[y * width + x] = d[x];
  }
  return out;
}

export interface DistanceTransformOptions {
  /** Count pixels outside the image as background (default true). */
  borderIsBackground?: boolean;
}

/**
 * Distance of every foreground pixel to the nearest background pixel (0 on the background), H x W
 * row-major. A mask without background pixels (and `borderIsBackground: false`) gives Infinity.
 */
export function distanceTransform(mask: BinaryMask, opts: DistanceTransformOptions = {}): Float32Array {
  const { width: W, height: H, data } = mask;
  if (data.length !== W * H) throw new Error(`distanceTransform: mask data has ${data.length} values, expected ${W}x${H} = ${W * H}`);
  const border = opts.borderIsBackground ?? true;
  const out = new Float32Array(W * H);
  if (border) {
    const pw = W + 2;
    const ph = H + 2;
    const sq = squaredDistanceToSites(pw, ph, (i) => {
      const x = (i % pw) - 1;
      const y = Math.floor(i / pw) - 1;
      return x < 0 || y < 0 || x >= W || y >= H || data[y * W + x] === 0;
    });
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = Math.sqrt(sq[(y + 1) * pw + x + 1]);
  } else {
    const sq = squaredDistanceToSites(W, H, (i) => data[i] === 0);
    for (let i = 0; i < out.length; i++) out[i] = sq[i] >= INF / 2 ? Infinity : Math.sqrt(sq[i]);
  }
  return out;
}

/** The foreground pixel farthest from the background (first in row-major order on ties), or null for an empty mask. */
export function maxDistancePoint(mask: BinaryMask, opts: DistanceTransformOptions = {}): { x: number; y: number; distance: number } | null {
  const dt = distanceTransform(mask, opts);
  let best = -1;
  let bi = -1;
  for (let i = 0; i < dt.length; i++) {
    if (mask.data[i] !== 0 && dt[i] > best) {
      best = dt[i];
      bi = i;
    }
  }
  if (bi < 0) return null;
  return { x: bi % mask.width, y: Math.floor(bi / mask.width), distance: best };
}
