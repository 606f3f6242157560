/**
 * ReasonSeg (LISA, Lai et al. 2024) in its published format:
 *
 *   <root>/<split>/<name>.jpg
 *   <root>/<split>/<name>.json   LabelMe-style: { "text": [query, ...], "is_sentence": bool,
 *                                 "shapes": [{ "label", "points": [[x, y], ...], "shape_type" }, ...],
 *                                 optional "imageWidth", "imageHeight", ... }
 *
 * Mask construction follows LISA's `get_mask_from_json`:
 * - shapes labelled "flag" (any case) are skipped (deprecated annotations);
 * - the others are painted largest area first, so a smaller shape drawn later overwrites a larger
 *   one; a label containing "ignore" paints the ignore value, any other label paints the target;
 * - the target mask is the target pixels; the ignore pixels (LISA's 255, excluded from
 *   intersection and union at evaluation) are kept in `meta.ignore` as a `BinaryMask` when any exist.
 * Polygons are rasterised by `data/polygon.ts` (pixel centres, even-odd), not OpenCV's `fillPoly`.
 *
 * One `Sample` per (image, query), subset 'long' if `is_sentence` else 'short'. LISA's evaluation
 * uses only the first query of each image: `firstQueryOnly: true` reproduces that. The samples of
 * one image share its `RGBImage` object.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImage } from '../../io/image';
import { fillPolygonInto, polygonOverlapsImage, Point } from '../polygon';
import { BinaryMask, RGBImage, Sample } from '../sample';
import {
  Located,
  asArray,
  asBoolean,
  asInteger,
  asObject,
  asPoints,
  asString,
  child,
  field,
  fieldError,
  readJsonFile,
} from './json-check';
import { mapLimit } from '../../util/async';

/** The splits ReasonSeg ships. */
export const REASONSEG_SPLITS = ['train', 'val', 'test'] as const;
export type ReasonSegSplit = (typeof REASONSEG_SPLITS)[number];

export interface ReasonSegOptions {
  /** Keep only 'short' (is_sentence false) or 'long' (is_sentence true) queries. */
  subset?: 'short' | 'long';
  /** One sample per image with its first query, as LISA's evaluation does. Default false. */
  firstQueryOnly?: boolean;
  /** Apply EXIF orientation when decoding images (LabelMe does). Default true. */
  autoOrient?: boolean;
  /** Load at most this many images (in file-name order). */
  limit?: number;
  /** Images decoded concurrently. Default 4. */
  concurrency?: number;
}

/** The parsed content of one ReasonSeg JSON file. */
export interface ReasonSegAnnotation {
  queries: string[];
  isSentence: boolean;
  shapes: { label: string; points: Point[]; at: Located }[];
  /** imageWidth / imageHeight when the file has them */
  size?: { width: number; height: number };
}

const IMAGE_EXTS = ['.jpg', '.jpeg', '.png'];

/** Parses and checks one ReasonSeg JSON file (fields named in errors). */
export function parseReasonSegJson(file: string): ReasonSegAnnotation {
  const root: Located = { file, path: '' };
  const obj = asObject(readJsonFile(file), { file, path: '(top level)' });
  const textRaw = field(obj, 'text', root);
  const queries = typeof textRaw === 'string' ? [textRaw] : asArray(textRaw, child(root, 'text')).map((t, i) => asString(t, child(child(root, 'text'), i)));
  if (queries.length === 0) throw fieldError(child(root, 'text'), 'has no queries');
  queries.forEach((q, i) => {
    if (q.trim() === '') throw fieldError(child(child(root, 'text'), i), 'is an empty query');
  });
  const isSentence = asBoolean(field(obj, 'is_sentence', root), child(root, 'is_sentence'));
  const shapesAt = child(root, 'shapes');
  const shapes = asArray(field(obj, 'shapes', root), shapesAt).map((s, i) => {
    const at = child(shapesAt, i);
    const so = asObject(s, at);
    const label = asString(field(so, 'label', at), child(at, 'label'));
    let points = asPoints(field(so, 'points', at), child(at, 'points'));
    const type = so.shape_type ?? 'polygon';
    if (type === 'rectangle') {
      if (points.length !== 2) throw fieldError(child(at, 'points'), `a rectangle needs 2 corner points, got ${points.length}`);
      const [[x0, y0], [x1, y1]] = points;
      points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    } else if (type !== 'polygon') {
      throw fieldError(child(at, 'shape_type'), `must be "polygon" or "rectangle", got ${JSON.stringify(type)}`);
    }
    if (points.length < 3 && label.toLowerCase() !== 'flag') {
      throw fieldError(child(at, 'points'), `polygon ${i} ("${label}") needs at least 3 points, got ${points.length}`);
    }
    return { label, points, at: child(at, 'points') };
  });
  let size: ReasonSegAnnotation['size'];
  if (obj.imageWidth !== undefined && obj.imageWidth !== null && obj.imageHeight !== undefined && obj.imageHeight !== null) {
    size = { width: asInteger(obj.imageWidth, child(root, 'imageWidth')), height: asInteger(obj.imageHeight, child(root, 'imageHeight')) };
  }
  return { queries, isSentence, shapes, size };
}

/** LISA's mask: target and ignore masks from the shapes, painted largest first. */
export function reasonSegMasks(anno: ReasonSegAnnotation, width: number, height: number): { mask: BinaryMask; ignore?: BinaryMask } {
  const IGNORE = 2;
  const painted = anno.shapes
    .filter((s) => s.label.toLowerCase() !== 'flag')
    .map((s) => {
      if (!polygonOverlapsImage(s.points, width, height)) {
        throw fieldError(s.at, `polygon ("${s.label}") lies entirely outside the ${width}x${height} image`);
      }
      const one = new Uint8Array(width * height);
      fillPolygonInto(one, width, height, s.points);
      let area = 0;
      for (const v of one) area += v;
      return { shape: s, one, area };
    })
    .sort((a, b) => b.area - a.area); // stable: ties keep file order
  const canvas = new Uint8Array(width * height);
  for (const { shape, one } of painted) {
    const value = shape.label.toLowerCase().includes('ignore') ? IGNORE : 1;
    for (let i = 0; i < canvas.length; i++) if (one[i]) canvas[i] = value;
  }
  const mask = new Uint8Array(width * height);
  const ignore = new Uint8Array(width * height);
  let nIgnore = 0;
  for (let i = 0; i < canvas.length; i++) {
    mask[i] = canvas[i] === 1 ? 1 : 0;
    if (canvas[i] === IGNORE) {
      ignore[i] = 1;
      nIgnore++;
    }
  }
  return { mask: { width, height, data: mask }, ignore: nIgnore > 0 ? { width, height, data: ignore } : undefined };
}

/** Samples of one image + JSON pair. */
export async function loadReasonSegItem(
  imageFile: string,
  jsonFile: string,
  split: string,
  options: ReasonSegOptions = {},
): Promise<Sample[]> {
  const anno = parseReasonSegJson(jsonFile);
  const subset = anno.isSentence ? 'long' : 'short';
  if (options.subset && options.subset !== subset) return [];
  const image: RGBImage = await loadImage(imageFile, { autoOrient: options.autoOrient ?? true });
  const root: Located = { file: jsonFile, path: '' };
  if (anno.size && (anno.size.width !== image.width || anno.size.height !== image.height)) {
    throw fieldError(
      child(root, 'imageWidth'),
      `/ "imageHeight" say ${anno.size.width}x${anno.size.height} but the image "${imageFile}" is ${image.width}x${image.height}`,
    );
  }
  const { mask, ignore } = reasonSegMasks(anno, image.width, image.height);
  if (!mask.data.some((v) => v === 1)) {
    throw fieldError(child(root, 'shapes'), 'has no target pixels (every shape is "flag" or "ignore", or covers no pixel centre)');
  }
  const stem = path.basename(jsonFile, '.json');
  const queries = options.firstQueryOnly ? anno.queries.slice(0, 1) : anno.queries;
  return queries.map((query, q) => ({
    id: `reasonseg/${split}/${stem}/${q}`,
    dataset: 'reasonseg',
    split,
    subset,
    image,
    mask,
    query,
    meta: { file: jsonFile, imageFile, queryIndex: q, isSentence: anno.isSentence, ...(ignore ? { ignore } : {}) },
  }));
}

/** Image + JSON pairs of a split folder, sorted by name; unpaired files are errors. */
export function listReasonSegPairs(dir: string, split: string): { image: string; json: string }[] {
  if (!(REASONSEG_SPLITS as readonly string[]).includes(split)) {
    throw new Error(`ReasonSeg: unknown split "${split}"; expected one of ${REASONSEG_SPLITS.join(', ')}`);
  }
  const folder = path.join(dir, split);
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    throw new Error(`ReasonSeg: folder "${folder}" not found (expected <root>/${split}/ holding name.jpg + name.json pairs)`);
  }
  const names = fs.readdirSync(folder).sort();
  const images = new Map<string, string>();
  const jsons: string[] = [];
  for (const n of names) {
    const ext = path.extname(n).toLowerCase();
    if (ext === '.json') jsons.push(n);
    else if (IMAGE_EXTS.includes(ext)) images.set(path.basename(n, path.extname(n)), n);
  }
  const pairs = jsons.map((j) => {
    const stem = path.basename(j, '.json');
    const img = images.get(stem);
    if (!img) throw new Error(`${path.join(folder, j)}: no image ${stem}.jpg (or .jpeg/.png) beside it`);
    images.delete(stem);
    return { image: path.join(folder, img), json: path.join(folder, j) };
  });
  const orphan = images.values().next();
  if (!orphan.done) throw new Error(`${path.join(folder, orphan.value)}: no annotation file ${path.basename(orphan.value, path.extname(orphan.value))}.json beside it`);
  if (pairs.length === 0) throw new Error(`ReasonSeg: folder "${folder}" holds no name.json annotation files`);
  return pairs;
}

/** Loads a ReasonSeg split: one `Sample` per (image, query), in file-name order. */
export async function loadReasonSeg(dir: string, split: string, options: ReasonSegOptions = {}): Promise<Sample[]> {
  let pairs = listReasonSegPairs(dir, split);
  if (options.limit !== undefined) pairs = pairs.slice(0, options.limit);
  const per = await mapLimit(pairs, options.concurrency ?? 4, (p) => loadReasonSegItem(p.image, p.json, split, options));
  return per.flat();
}
