/**
 * The ShapeWorld-RS scene generator. A scene is a textured background and 2-6 objects (shape kind,
 * named color, size class, position, rotation) stacked in z order. Objects may overlap, but each
 * keeps a minimum visible fraction and a minimum visible pixel count: a placement that breaks that
 * for any object is undone and resampled. The scene graph records, for every object, its full
 * geometry and what is visible of it (area, fraction, box, centroid, position words).
 *
 * Conventions: object id = index in `objects` = z (higher z is drawn on top); coordinates in image
 * pixels, origin top-left, y down; pixel (x, y) covers [x, x+1) x [y, y+1), so a centroid of pixel
 * centers is at x + 0.5.
 */
import { Rng } from '../../util/rng';
import { sampleBackground, type BackgroundSpec } from './background';
import { Canvas } from './canvas';
import { DEFAULT_CONFIG, type ProfileName, type SceneProfile, type ShapeWorldConfig } from './config';
import { objectSpans } from './layout';
import { spansArea, spansPixelBox, type Spans } from './raster';
import {
  COLOR_RGB, COLORS, SHAPE_SPECS, SHAPES, SIZES, cos15, positionWord, shapeVertices, sin15,
  type ColorName, type PositionWord, type ShapeKind, type SizeName,
} from './vocab';

/** Full geometry of one object. */
export interface ObjectGeometry {
  /** Center in pixels (integers). */
  cx: number;
  cy: number;
  /** Nominal radius of the size class (integer pixels). */
  radius: number;
  /** Outline scale in pixels: radius * the shape's scale (circle: its radius). */
  extent: number;
  /** Rotation in degrees (a multiple of 15). */
  rotation: number;
  /** Outline vertices in pixels, rounded to 0.01 (empty for circles); the renderer recomputes them exactly. */
  vertices: [number, number][];
}

/** One object of a scene graph. */
export interface SceneObject {
  /** Index in the scene's object list; also its z (higher is on top). */
  id: number;
  shape: ShapeKind;
  color: ColorName;
  /** The drawn color (the named color with a small jitter). */
  rgb: [number, number, number];
  size: SizeName;
  geometry: ObjectGeometry;
  /** Drawing order; equals id. */
  z: number;
  /** Pixels the object would cover alone (at least half of their sub-samples). */
  fullArea: number;
  /** Pixels of the object's instance mask (visible pixels). */
  visibleArea: number;
  /** visibleArea / fullArea, rounded to 1e-4. */
  visibleFraction: number;
  /** Box of the visible pixels [x0, y0, x1, y1], inclusive. */
  bbox: [number, number, number, number];
  /** Mean of the visible pixel centers [x, y], rounded to 0.01. */
  centroid: [number, number];
  /** 3x3-grid position of the visible centroid ("top left", "center", ...). */
  position: PositionWord;
}

/** A whole scene. */
export interface SceneGraph {
  width: number;
  height: number;
  /** The profile it was generated with ('mixed' | 'sparse' | 'crowded' | 'reasoning' | 'custom'). */
  profile: string;
  background: BackgroundSpec;
  /** Objects in z order (objects[k].id === k). */
  objects: SceneObject[];
}

/** Options of `generateScene`. */
export interface SceneOptions {
  /** Generator config (default: DEFAULT_CONFIG). */
  config?: ShapeWorldConfig;
  /** Profile name or a custom profile (default: 'mixed'). */
  profile?: ProfileName | SceneProfile;
  /** Force an object count (default: drawn from the profile's range). */
  numObjects?: number;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const round4 = (v: number): number => Math.round(v * 10000) / 10000;

/** Largest distance from the center to a unit-outline vertex (1 for the circle). */
function unitReach(shape: ShapeKind): number {
  let r = 1;
  for (const [x, y] of SHAPE_SPECS[shape].unit) r = Math.max(r, Math.sqrt(x * x + y * y));
  return r;
}

interface Draft {
  shape: ShapeKind;
  color: ColorName;
  rgb: [number, number, number];
  size: SizeName;
  radius: number;
  extent: number;
  reach: number;
  rotation: number;
  cx: number;
  cy: number;
}

/** Sub-sample box [i0, j0, i1, j1] (inclusive) of some spans. */
function subBox(sp: Spans): [number, number, number, number] {
  let i0 = Infinity;
  let i1 = -Infinity;
  const d = sp.data;
  for (let t = 0; t < sp.count; t++) {
    if (d[3 * t + 1] < i0) i0 = d[3 * t + 1];
    if (d[3 * t + 2] > i1) i1 = d[3 * t + 2];
  }
  return [i0, d[0], i1, d[3 * (sp.count - 1)]];
}

/**
 * True when the new object's sub-samples come within `g` sub-samples of a visible sub-sample of an
 * earlier object of the same color (checked before the new object is painted).
 */
function sameColorClash(sp: Spans, color: ColorName, drafts: Draft[], boxes: [number, number, number, number][], canvas: Canvas, g: number): boolean {
  const nb = subBox(sp);
  const d = sp.data;
  const gw = canvas.gridW;
  for (let m = 0; m < drafts.length; m++) {
    if (drafts[m].color !== color) continue;
    const mb = boxes[m];
    if (nb[0] - g > mb[2] || nb[2] + g < mb[0] || nb[1] - g > mb[3] || nb[3] + g < mb[1]) continue;
    const v = m + 1;
    for (let t = 0; t < sp.count; t++) {
      const j = d[3 * t];
      const r0 = Math.max(j - g, mb[1]);
      const r1 = Math.min(j + g, mb[3]);
      if (r0 > r1) continue;
      const c0 = Math.max(d[3 * t + 1] - g, mb[0]);
      const c1 = Math.min(d[3 * t + 2] + g, mb[2]);
      for (let r = r0; r <= r1; r++) {
        const row = r * gw;
        for (let i = c0; i <= c1; i++) if (canvas.owner[row + i] === v) return true;
      }
    }
  }
  return false;
}

/** Draws one object's attributes and position; null when the drawn position does not fit the image. */
function drawObject(rng: Rng, placed: Draft[], cfg: ShapeWorldConfig, p: SceneProfile): Draft | null {
  let shape: ShapeKind = rng.pick(SHAPES);
  let color: ColorName = rng.pick(COLORS);
  if (placed.length > 0 && rng.bool(cfg.attributeRepeat)) {
    const other = rng.pick(placed);
    if (rng.bool()) shape = other.shape;
    else color = other.color;
  }
  const size = SIZES[rng.weighted(p.sizeWeights)];
  const [rlo, rhi] = cfg.sizes[size];
  const radius = rng.int(rlo, rhi);
  const spec = SHAPE_SPECS[shape];
  const rotation = rng.pick(spec.rotations);
  const extent = radius * spec.scale;
  const reach = extent * unitReach(shape);
  const j = cfg.colorJitter;
  const rgb = COLOR_RGB[color].map((v) => Math.max(0, Math.min(255, v + rng.int(-j, j)))) as [number, number, number];
  const W = cfg.imageSize;
  const lo = Math.ceil(reach) + cfg.margin;
  const hi = W - 1 - lo;
  if (hi < lo) throw new Error(`ShapeWorld: a ${size} ${shape} (reach ${reach.toFixed(1)} px) does not fit a ${W}px image; lower sizes.${size}`);
  let cx: number;
  let cy: number;
  if (placed.length > 0 && rng.bool(p.overlapBias)) {
    const o = rng.pick(placed);
    const dir = 15 * rng.int(0, 23);
    const d = rng.int(Math.floor(0.45 * (o.reach + reach)), Math.ceil(0.9 * (o.reach + reach)));
    cx = o.cx + Math.round(d * cos15(dir));
    cy = o.cy + Math.round(d * sin15(dir));
    if (cx < lo || cx > hi || cy < lo || cy > hi) return null;
  } else {
    cx = rng.int(lo, hi);
    cy = rng.int(lo, hi);
  }
  return { shape, color, rgb, size, radius, extent, reach, rotation, cx, cy };
}

function resolveProfile(profile: SceneOptions['profile'], cfg: ShapeWorldConfig): { name: string; p: SceneProfile } {
  if (profile === undefined) return { name: 'mixed', p: cfg.profiles.mixed };
  if (typeof profile === 'string') {
    const p = cfg.profiles[profile];
    if (!p) throw new Error(`ShapeWorld: unknown scene profile "${profile}"; valid profiles: ${Object.keys(cfg.profiles).join(', ')}`);
    return { name: profile, p };
  }
  return { name: 'custom', p: profile };
}

/**
 * Generates one scene from the generator state. Deterministic: the same Rng state and options give
 * the same scene graph. Throws when no valid scene is found within `config.sceneTries` restarts.
 */
export function generateScene(rng: Rng, opts: SceneOptions = {}): SceneGraph {
  const cfg = opts.config ?? DEFAULT_CONFIG;
  const { name, p } = resolveProfile(opts.profile, cfg);
  const W = cfg.imageSize;
  const S = cfg.supersample;
  const canvas = new Canvas(W, W, S);
  for (let attempt = 0; attempt < cfg.sceneTries; attempt++) {
    const background = sampleBackground(rng, cfg);
    const n = opts.numObjects ?? rng.int(p.minObjects, p.maxObjects);
    canvas.clear();
    const drafts: Draft[] = [];
    const boxes: [number, number, number, number][] = [];
    const full: number[] = [];
    let complete = true;
    for (let k = 0; k < n && complete; k++) {
      let placed = false;
      for (let t = 0; t < cfg.placementTries && !placed; t++) {
        const d = drawObject(rng, drafts, cfg, p);
        if (!d) continue;
        const spans = objectSpans({ shape: d.shape, geometry: { ...d, vertices: [] } }, W, W, S);
        const box = spansPixelBox(spans, S);
        if (!box) continue;
        if (sameColorClash(spans, d.color, drafts, boxes, canvas, cfg.sameColorGap * S)) continue;
        const area = spansArea(spans, S);
        canvas.save();
        canvas.paint(k, spans);
        canvas.relabel(box, k + 1);
        full[k] = area;
        let ok = true;
        for (let i = 0; i <= k && ok; i++) {
          const v = canvas.visible[i];
          if (v < cfg.minVisiblePixels || v < p.minVisibleFraction * full[i]) ok = false;
        }
        if (ok) {
          drafts.push(d);
          boxes.push(subBox(spans));
          placed = true;
        } else {
          canvas.rollback();
        }
      }
      if (!placed) complete = false;
    }
    if (!complete) continue;
    return finalizeScene(canvas, drafts, full, background, name, W);
  }
  throw new Error(`ShapeWorld: no valid scene for profile "${name}" after ${cfg.sceneTries} tries; loosen minVisibleFraction or shrink sizes`);
}

/** One hand-placed object for `composeScene`. */
export interface ObjectSpec {
  shape: ShapeKind;
  color: ColorName;
  size: SizeName;
  /** Center in pixels (integers). */
  cx: number;
  cy: number;
  /** Nominal radius (default: the middle of the size class's range). */
  radius?: number;
  /** Rotation in degrees, a multiple of 15 (default 0). */
  rotation?: number;
  /** Drawn color (default: the named color exactly). */
  rgb?: [number, number, number];
}

/**
 * A scene from hand-placed objects (drawn in the given order, later on top), with the same
 * visibility statistics as generated scenes. No placement rule is enforced: for tests, figures and
 * teaching.
 */
export function composeScene(specs: readonly ObjectSpec[], opts: { config?: ShapeWorldConfig; background?: BackgroundSpec } = {}): SceneGraph {
  const cfg = opts.config ?? DEFAULT_CONFIG;
  const W = cfg.imageSize;
  const S = cfg.supersample;
  const canvas = new Canvas(W, W, S);
  const drafts: Draft[] = [];
  const full: number[] = [];
  specs.forEach((o, k) => {
    const [lo, hi] = cfg.sizes[o.size];
    const radius = o.radius ?? Math.floor((lo + hi) / 2);
    const extent = radius * SHAPE_SPECS[o.shape].scale;
    const d: Draft = {
      shape: o.shape, color: o.color, rgb: o.rgb ?? ([...COLOR_RGB[o.color]] as [number, number, number]), size: o.size,
      radius, extent, reach: extent * unitReach(o.shape), rotation: o.rotation ?? 0, cx: o.cx, cy: o.cy,
    };
    const spans = objectSpans({ shape: d.shape, geometry: { ...d, vertices: [] } }, W, W, S);
    canvas.paint(k, spans);
    full.push(spansArea(spans, S));
    drafts.push(d);
  });
  canvas.relabel([0, 0, W - 1, W - 1], drafts.length);
  const background = opts.background ?? { kind: 'checker', base: [180, 180, 180], amplitude: 0, cell: 16, direction: 0, seed: 0 };
  const missing = drafts.findIndex((_, k) => (canvas.visible[k] ?? 0) === 0);
  if (missing >= 0) throw new Error(`composeScene: object ${missing} is completely hidden or outside the image`);
  return finalizeScene(canvas, drafts, full, background, 'custom', W);
}

/** Visible statistics per object from the final label map. */
function finalizeScene(canvas: Canvas, drafts: Draft[], full: number[], background: BackgroundSpec, profile: string, W: number): SceneGraph {
  const n = drafts.length;
  const sx = new Float64Array(n);
  const sy = new Float64Array(n);
  const cnt = new Int32Array(n);
  const box = drafts.map(() => [Infinity, Infinity, -Infinity, -Infinity]);
  for (let y = 0; y < W; y++) {
    for (let x = 0; x < W; x++) {
      const l = canvas.label[y * W + x];
      if (l === 0) continue;
      const k = l - 1;
      sx[k] += x;
      sy[k] += y;
      cnt[k]++;
      const b = box[k];
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  const objects: SceneObject[] = drafts.map((d, k) => {
    const centroid: [number, number] = [round2(sx[k] / cnt[k] + 0.5), round2(sy[k] / cnt[k] + 0.5)];
    const vertices = shapeVertices(d.shape, d.cx, d.cy, d.extent, d.rotation).map(([x, y]) => [round2(x), round2(y)] as [number, number]);
    return {
      id: k,
      shape: d.shape,
      color: d.color,
      rgb: d.rgb,
      size: d.size,
      geometry: { cx: d.cx, cy: d.cy, radius: d.radius, extent: d.extent, rotation: d.rotation, vertices },
      z: k,
      fullArea: full[k],
      visibleArea: cnt[k],
      visibleFraction: round4(cnt[k] / full[k]),
      bbox: box[k] as [number, number, number, number],
      centroid,
      position: positionWord(centroid[0], centroid[1], W, W),
    };
  });
  return { width: W, height: W, profile, background, objects };
}
