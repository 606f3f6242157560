/**
 * Scan conversion at sub-sample resolution. The image is a grid of (size*S) x (size*S) sub-samples
 * (S = supersample); sub-sample (i, j) sits at ((i + 0.5) / S, (j + 0.5) / S) in image pixels. A
 * shape becomes a list of horizontal spans of covered sub-samples. Only IEEE +,-,*,/ and Math.sqrt
 * are used, so the result is the same on every engine.
 */

/** Spans of one shape: triplets (row j, first column i0, last column i1), rows ascending. */
export interface Spans {
  /** Flattened triplets [j, i0, i1, j, i0, i1, ...] (i1 inclusive). */
  data: Int32Array;
  /** Number of triplets. */
  count: number;
}

/** Geometry of one shape in image pixels. */
export type ShapeGeometry = { kind: 'circle'; cx: number; cy: number; r: number } | { kind: 'polygon'; vertices: [number, number][] };

function pushSpan(out: number[], j: number, i0: number, i1: number, gridW: number): void {
  if (i0 < 0) i0 = 0;
  if (i1 > gridW - 1) i1 = gridW - 1;
  if (i1 >= i0) out.push(j, i0, i1);
}

/** Covered sub-samples of a shape on a gridW x gridH sub-sample grid with S sub-samples per pixel. */
export function rasterize(geom: ShapeGeometry, S: number, gridW: number, gridH: number): Spans {
  const out: number[] = [];
  if (geom.kind === 'circle') {
    const { cx, cy, r } = geom;
    const j0 = Math.max(0, Math.ceil((cy - r) * S - 0.5));
    const j1 = Math.min(gridH - 1, Math.floor((cy + r) * S - 0.5));
    const r2 = r * r;
    for (let j = j0; j <= j1; j++) {
      const dy = (j + 0.5) / S - cy;
      const d2 = r2 - dy * dy;
      if (d2 < 0) continue;
      const h = Math.sqrt(d2);
      pushSpan(out, j, Math.ceil((cx - h) * S - 0.5), Math.floor((cx + h) * S - 0.5), gridW);
    }
  } else {
    const v = geom.vertices;
    const n = v.length;
    let minY = Infinity;
    let maxY = -Infinity;
    for (const [, y] of v) {
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    const j0 = Math.max(0, Math.ceil(minY * S - 0.5));
    const j1 = Math.min(gridH - 1, Math.floor(maxY * S - 0.5));
    const xs: number[] = [];
    for (let j = j0; j <= j1; j++) {
      const y = (j + 0.5) / S;
      xs.length = 0;
      for (let e = 0; e < n; e++) {
        const [ax, ay] = v[e];
        const [bx, by] = v[(e + 1) % n];
        if ((ay <= y && by > y) || (by <= y && ay > y)) xs.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        pushSpan(out, j, Math.ceil(xs[k] * S - 0.5), Math.ceil(xs[k + 1] * S - 0.5) - 1, gridW);
      }
    }
  }
  return { data: Int32Array.from(out), count: out.length / 3 };
}

/** Pixel bounding box [x0, y0, x1, y1] (inclusive) of some spans, or null when empty. */
export function spansPixelBox(sp: Spans, S: number): [number, number, number, number] | null {
  if (sp.count === 0) return null;
  let x0 = Infinity;
  let x1 = -Infinity;
  const d = sp.data;
  for (let t = 0; t < sp.count; t++) {
    if (d[3 * t + 1] < x0) x0 = d[3 * t + 1];
    if (d[3 * t + 2] > x1) x1 = d[3 * t + 2];
  }
  return [Math.floor(x0 / S), Math.floor(d[0] / S), Math.floor(x1 / S), Math.floor(d[3 * (sp.count - 1)] / S)];
}

/** Number of pixels that a shape covers on at least half of their sub-samples (its unoccluded area). */
export function spansArea(sp: Spans, S: number): number {
  const box = spansPixelBox(sp, S);
  if (!box) return 0;
  const [x0, y0, x1, y1] = box;
  const bw = x1 - x0 + 1;
  const cnt = new Uint16Array(bw * (y1 - y0 + 1));
  const d = sp.data;
  for (let t = 0; t < sp.count; t++) {
    const row = (Math.floor(d[3 * t] / S) - y0) * bw - x0;
    for (let i = d[3 * t + 1]; i <= d[3 * t + 2]; i++) cnt[row + Math.floor(i / S)]++;
  }
  const half = Math.ceil((S * S) / 2);
  let area = 0;
  for (let k = 0; k < cnt.length; k++) if (cnt[k] >= half) area++;
  return area;
}
