/**
 * Polygon rasterisation for LabelMe-style (ReasonSeg) and COCO polygon annotations.
 *
 * Rule: pixel (x, y) is inside when its centre (x + 0.5, y + 0.5) is inside the polygon under the
 * even-odd rule (a scanline through the pixel centres; an edge counts when one endpoint is at or
 * above the line and the other strictly below, so a shared vertex is counted once). Coordinates are
 * continuous pixel coordinates: the image covers [0, W] x [0, H], so the square with corners
 * (0, 0) and (2, 2) fills exactly the 4 pixels x, y in {0, 1}.
 *
 * Differences from the tools that made the annotations, documented rather than imitated:
 * OpenCV's `fillPoly` (LISA) rounds vertices to integers and also paints the boundary, and
 * pycocotools upsamples by 5 and rounds; both give masks about half a pixel larger all round.
 *
 * Points outside the image are allowed; the polygon is clipped to the image. Several polygons are
 * combined by union (each polygon filled with even-odd on its own, then OR-ed).
 */
import { BinaryMask } from './sample';

/** A point [x, y] in image pixels (origin top-left, x right, y down). */
export type Point = [number, number];

/** A polygon with an optional label (used in error messages). */
export interface LabeledPolygon {
  points: Point[];
  label?: string;
}

function describePolygon(index: number, label: string | undefined): string {
  return label === undefined ? `polygon ${index}` : `polygon ${index} ("${label}")`;
}

/** Throws unless the polygon has >= 3 finite points. */
export function checkPolygon(points: readonly Point[], index = 0, label?: string): void {
  const what = describePolygon(index, label);
  if (!Array.isArray(points)) throw new Error(`${what}: points must be an array of [x, y] pairs`);
  if (points.length < 3) throw new Error(`${what}: needs at least 3 points, got ${points.length}`);
  points.forEach((p, k) => {
    if (!Array.isArray(p) || p.length < 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new Error(`${what}: point ${k} must be [x, y] with finite numbers, got ${JSON.stringify(p)}`);
    }
  });
}

/** Fills one polygon into `out` (a width x height byte array) with `value`, even-odd rule. */
export function fillPolygonInto(out: Uint8Array, width: number, height: number, points: readonly Point[], value = 1): void {
  const n = points.length;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [, y] of points) {
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  // Rows whose centre y + 0.5 lies in [minY, maxY].
  const y0 = Math.max(0, Math.ceil(minY - 0.5));
  const y1 = Math.min(height - 1, Math.floor(maxY - 0.5));
  const xs: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const yc = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if (yi <= yc !== yj <= yc) xs.push(xi + ((yc - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [xs[k], xs[k + 1]).
      const xa = Math.max(0, Math.ceil(xs[k] - 0.5));
      const xb = Math.min(width, Math.ceil(xs[k + 1] - 0.5));
      const row = y * width;
      for (let x = xa; x < xb; x++) out[row + x] = value;
    }
  }
}

/** One polygon -> binary mask of the given size. */
export function rasterizePolygon(points: readonly Point[], width: number, height: number, label?: string): BinaryMask {
  return rasterizePolygons([{ points: points as Point[], label }], width, height);
}

/**
 * Union of polygons -> binary mask. Throws on an empty list, on a polygon with fewer than 3
 * points or non-finite coordinates (naming the polygon's index and label), and on a bad size.
 */
export function rasterizePolygons(polygons: readonly (LabeledPolygon | Point[])[], width: number, height: number): BinaryMask {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`rasterizePolygons: size must be positive integers, got ${width}x${height}`);
  }
  if (!Array.isArray(polygons) || polygons.length === 0) throw new Error('rasterizePolygons: the polygon list is empty');
  const data = new Uint8Array(width * height);
  polygons.forEach((p, i) => {
    const { points, label } = Array.isArray(p) ? { points: p, label: undefined } : p;
    checkPolygon(points, i, label);
    fillPolygonInto(data, width, height, points);
  });
  return { width, height, data };
}

/** COCO's flat [x1, y1, x2, y2, ...] -> points. Throws on an odd length. */
export function flatToPoints(flat: readonly number[], what = 'polygon'): Point[] {
  if (flat.length % 2 !== 0) throw new Error(`${what}: a flat coordinate list needs an even length, got ${flat.length}`);
  const pts: Point[] = [];
  for (let i = 0; i < flat.length; i += 2) pts.push([flat[i], flat[i + 1]]);
  return pts;
}

/** Bounding box [minX, minY, maxX, maxY] of a polygon. */
export function polygonBounds(points: readonly Point[]): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return [minX, minY, maxX, maxY];
}

/** True when the polygon's bounding box overlaps the image [0, W] x [0, H] with positive area. */
export function polygonOverlapsImage(points: readonly Point[], width: number, height: number): boolean {
  const [minX, minY, maxX, maxY] = polygonBounds(points);
  return maxX > 0 && maxY > 0 && minX < width && minY < height;
}
