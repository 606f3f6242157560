/**
 * Seg-Zero's answer (Liu et al., "Seg-Zero: Reasoning-Chain Guided Segmentation via Cognitive
 * Reinforcement", 2025; official code dvlab-research/Seg-Zero):
 *
 *   <think> … </think><answer>{"bbox": [x1, y1, x2, y2], "points_1": [x, y], "points_2": [x, y]}</answer>
 *
 * in image pixels (x right, y down, inclusive pixel indices as SAM's boxes). Parsing follows the
 * official reward code: the FIRST `{…}` (no nested braces) of the completion is read as JSON; the box
 * is the first key containing "bbox" (4 values), the points the first two keys containing "point"
 * (2 values each). Anything else — no braces, invalid JSON, a missing key, a wrong length, a value
 * that is not a finite number — is no answer (every accuracy reward 0).
 *
 * Ground truth (Seg-Zero's prompt asks for "the bbox and the center points of the two largest
 * inscribed circles inside the object"): the mask's tight box, and two points from its distance
 * transform: point 1 = the deepest pixel (the center of the largest inscribed circle); point 2 = the
 * deepest pixel of the mask with that circle (radius = point 1's depth) removed — the kit's reading
 * of "the second largest inscribed circle" (falls back to point 1 for a mask the first circle covers).
 * Both points lie inside the mask.
 */
import type { BinaryMask } from '../../data/sample';
import { maxDistancePoint } from '../../data/distance-transform';
import { maskBox, type SamBox } from '../../models/sam/prompts';

export type Point = [number, number];

export interface SegZeroAnswer {
  bbox: [number, number, number, number];
  points: [Point, Point];
}

// `reason?` and `answer?` on the other branch: tslab compiles without strictNullChecks, where `p.ok ? … : p.reason` does not narrow.
export type ParseResult = { ok: true; answer: SegZeroAnswer; reason?: undefined } | { ok: false; reason: string; answer?: undefined };

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parse a completion's answer (see the module comment). */
export function parseSegZeroAnswer(text: string): ParseResult {
  const m = /\{[^}]+\}/.exec(text);
  if (!m) return { ok: false, reason: 'no {…} object in the completion' };
  let data: unknown;
  try {
    data = JSON.parse(m[0]);
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (data == null || typeof data !== 'object' || Array.isArray(data)) return { ok: false, reason: 'the answer is not a JSON object' };
  const obj = data as Record<string, unknown>;
  const keys = Object.keys(obj);
  const bboxKey = keys.find((k) => k.toLowerCase().includes('bbox'));
  const pointKeys = keys.filter((k) => k !== bboxKey && k.toLowerCase().includes('point')).slice(0, 2);
  if (!bboxKey) return { ok: false, reason: 'no "bbox" key' };
  if (pointKeys.length < 2) return { ok: false, reason: `expected two point keys (points_1, points_2), found ${pointKeys.length}` };
  const box = obj[bboxKey];
  if (!Array.isArray(box) || box.length !== 4 || !box.every(isNum)) return { ok: false, reason: `"${bboxKey}" must be 4 numbers, got ${JSON.stringify(box)}` };
  const pts: Point[] = [];
  for (const k of pointKeys) {
    const p = obj[k];
    if (!Array.isArray(p) || p.length !== 2 || !p.every(isNum)) return { ok: false, reason: `"${k}" must be 2 numbers, got ${JSON.stringify(p)}` };
    pts.push([p[0], p[1]]);
  }
  return { ok: true, answer: { bbox: [box[0], box[1], box[2], box[3]], points: [pts[0], pts[1]] } };
}

/** The answer JSON text (integers), as the cold start's target writes it. */
export function answerJson(a: SegZeroAnswer): string {
  const r = (v: number) => Math.round(v);
  return `{"bbox": [${a.bbox.map(r).join(', ')}], "points_1": [${a.points[0].map(r).join(', ')}], "points_2": [${a.points[1].map(r).join(', ')}]}`;
}

/** The full target response of the format cold start. */
export function segZeroResponseText(cot: string, a: SegZeroAnswer): string {
  return `<think>${cot}</think><answer>${answerJson(a)}</answer>`;
}

/** Ground-truth points: centers of the two largest inscribed circles (see the module comment), or null for an empty mask. */
export function groundTruthPoints(mask: BinaryMask): [Point, Point] | null {
  const p1 = maxDistancePoint(mask);
  if (!p1) return null;
  const { width: W, height: H } = mask;
  const rest = new Uint8Array(mask.data);
  const r2 = p1.distance * p1.distance;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if ((x - p1.x) ** 2 + (y - p1.y) ** 2 < r2) rest[y * W + x] = 0;
    }
  }
  const p2 = maxDistancePoint({ width: W, height: H, data: rest });
  return [[p1.x, p1.y], p2 ? [p2.x, p2.y] : [p1.x, p1.y]];
}

/** The ground-truth answer of a mask (tight box + the two points), or null for an empty mask. Cached per mask object. */
const GT_CACHE = new WeakMap<BinaryMask, SegZeroAnswer | null>();
export function groundTruthAnswer(mask: BinaryMask): SegZeroAnswer | null {
  if (GT_CACHE.has(mask)) return GT_CACHE.get(mask)!;
  const box: SamBox | null = maskBox(mask);
  const pts = box ? groundTruthPoints(mask) : null;
  const a = box && pts ? { bbox: box, points: pts } : null;
  GT_CACHE.set(mask, a);
  return a;
}
