/**
 * Query programs (CLEVR-style): a list of nodes over the scene graph, each reading the outputs of
 * earlier nodes; the last node's output is the referent. A query is kept only when its program runs
 * without error and selects exactly one object. Evaluation also enforces clarity: spatial relations,
 * image halves and superlatives must not hinge on a few pixels (see `ShapeWorldConfig.relations`,
 * `regionBand`, `superlative`); otherwise the program fails and the query is not used.
 */
import { DEFAULT_CONFIG, type ShapeWorldConfig } from './config';
import { factHolds, getFact } from './knowledge';
import type { SceneGraph, SceneObject } from './scene';
import type { ColorName, RegionName, ShapeKind, SizeName } from './vocab';

/** An attribute test on one object. */
export type Predicate =
  | { type: 'shape'; value: ShapeKind }
  | { type: 'color'; value: ColorName }
  | { type: 'size'; value: SizeName }
  | { type: 'region'; value: RegionName }
  | { type: 'fact'; value: string };

/** Spatial relation of an object to an anchor ("left": the object is left of the anchor). */
export type Relation = 'left' | 'right' | 'above' | 'below' | 'nextTo';

/** Superlatives over a set; each needs a clear winner. */
export type SuperlativeKind = 'largest' | 'smallest' | 'leftmost' | 'rightmost' | 'topmost' | 'bottommost';

/**
 * One program node. Sets are lists of object ids in ascending order.
 * - scene: all objects.
 * - filter: the input objects for which `pred` holds (or does not hold, with `negate`).
 * - unique: the input, which must hold exactly one object (else the program fails).
 * - relate: the objects in `relation` to the single object of the input (never the anchor itself).
 * - intersect: objects in both inputs.
 * - superlative: the single winner of the input (fails on ties closer than the configured margins).
 * - countFilter: the input objects whose `attr` value occurs exactly `count` times in the whole scene.
 * - same: the other objects that share `attr` with the single object of the input.
 */
export type ProgramNode =
  | { op: 'scene' }
  | { op: 'filter'; input: number; pred: Predicate; negate: boolean }
  | { op: 'unique'; input: number }
  | { op: 'relate'; input: number; relation: Relation }
  | { op: 'intersect'; inputs: [number, number] }
  | { op: 'superlative'; input: number; kind: SuperlativeKind }
  | { op: 'countFilter'; input: number; attr: 'color' | 'shape'; count: number }
  | { op: 'same'; input: number; attr: 'color' | 'shape' };

/** A program; the output is the last node. */
export type Program = ProgramNode[];

/** Result of running a program. */
export interface EvalResult {
  /** True when every node ran and the last node selects exactly one object. */
  ok: boolean;
  /** Why the program failed (absent when ok). */
  error?: string;
  /** Object ids output by each node (nodes after a failure are absent). */
  outputs: number[][];
}

/** The ids of the objects for which a predicate holds. */
export function predicateHolds(p: Predicate, o: SceneObject, scene: SceneGraph, cfg: ShapeWorldConfig = DEFAULT_CONFIG): boolean {
  switch (p.type) {
    case 'shape':
      return o.shape === p.value;
    case 'color':
      return o.color === p.value;
    case 'size':
      return o.size === p.value;
    case 'fact':
      return factHolds(getFact(p.value), o);
    case 'region':
      return regionSide(p.value, o, scene, cfg) === 1;
    default:
      throw new Error(`unknown predicate type ${(p as { type: string }).type}; valid: shape, color, size, region, fact`);
  }
}

/** 1 when the object is clearly in the region, -1 clearly not, 0 ambiguous (near the midline). */
export function regionSide(region: RegionName, o: SceneObject, scene: SceneGraph, cfg: ShapeWorldConfig): -1 | 0 | 1 {
  const horizontal = region === 'left' || region === 'right';
  const mid = (horizontal ? scene.width : scene.height) / 2;
  const c = horizontal ? o.centroid[0] : o.centroid[1];
  const d = region === 'left' || region === 'top' ? mid - c : c - mid;
  if (d >= cfg.regionBand) return 1;
  if (d <= -cfg.regionBand) return -1;
  return 0;
}

/**
 * 1 when `o` clearly stands in `rel` to `anchor`, -1 clearly not, 0 ambiguous. Directional
 * relations compare visible centroids (offset at least `relations.margin`) and require both visible
 * box edges to agree; "next to" compares the gap between the visible boxes.
 */
export function relationSide(rel: Relation, o: SceneObject, anchor: SceneObject, cfg: ShapeWorldConfig): -1 | 0 | 1 {
  const r = cfg.relations;
  if (rel === 'nextTo') {
    const [a0, a1, a2, a3] = o.bbox;
    const [b0, b1, b2, b3] = anchor.bbox;
    const gx = Math.max(0, b0 - a2 - 1, a0 - b2 - 1);
    const gy = Math.max(0, b1 - a3 - 1, a1 - b3 - 1);
    const gap = Math.max(gx, gy);
    if (gap <= r.nextToGap) return 1;
    if (gap >= r.farGap) return -1;
    return 0;
  }
  // [centroid, near edge, far edge] offsets; positive when o lies in the relation's direction
  const [oc, ac] = rel === 'left' || rel === 'right' ? [o.centroid[0], anchor.centroid[0]] : [o.centroid[1], anchor.centroid[1]];
  const [o0, o1, a0, a1] = rel === 'left' || rel === 'right' ? [o.bbox[0], o.bbox[2], anchor.bbox[0], anchor.bbox[2]] : [o.bbox[1], o.bbox[3], anchor.bbox[1], anchor.bbox[3]];
  const sign = rel === 'left' || rel === 'above' ? 1 : -1;
  const d = sign * (ac - oc);
  const e0 = sign * (a0 - o0);
  const e1 = sign * (a1 - o1);
  if (d < r.band) return -1;
  // clearly in the relation: centroid offset past the margin, and both box edges agree
  if (d >= r.margin && e0 >= r.band && e1 >= r.band) return 1;
  return 0;
}

/** The value a superlative maximises for an object: full area, or visible centroid along an axis. */
export function superlativeScore(kind: SuperlativeKind, o: SceneObject): number {
  switch (kind) {
    case 'largest':
      return o.fullArea;
    case 'smallest':
      return -o.fullArea;
    case 'leftmost':
      return -o.centroid[0];
    case 'rightmost':
      return o.centroid[0];
    case 'topmost':
      return -o.centroid[1];
    case 'bottommost':
      return o.centroid[1];
    default:
      throw new Error(`unknown superlative ${kind as string}`);
  }
}

/**
 * A second opinion on a superlative: visible area for sizes, the extreme edge of the visible box
 * for positions (a tall triangle's apex can be the highest point while its centroid is not).
 */
export function superlativeCheckScore(kind: SuperlativeKind, o: SceneObject): number {
  switch (kind) {
    case 'largest':
      return o.visibleArea;
    case 'smallest':
      return -o.visibleArea;
    case 'leftmost':
      return -o.bbox[0];
    case 'rightmost':
      return o.bbox[2];
    case 'topmost':
      return -o.bbox[1];
    case 'bottommost':
      return o.bbox[3];
    default:
      throw new Error(`unknown superlative ${kind as string}`);
  }
}

/**
 * Winner of a superlative over some objects, or an error when there is no clear winner: the winner
 * must lead the runner-up by the configured margin, and the second opinion must agree on it.
 */
export function superlativeWinner(kind: SuperlativeKind, objs: SceneObject[], cfg: ShapeWorldConfig): { id: number } | { error: string } {
  if (objs.length === 0) return { error: `${kind} of an empty set` };
  const rank = (score: (k: SuperlativeKind, o: SceneObject) => number) => objs.slice().sort((a, b) => score(kind, b) - score(kind, a) || a.id - b.id);
  const sorted = rank(superlativeScore);
  if (sorted.length === 1) return { id: sorted[0].id };
  const [w, r] = sorted;
  const size = kind === 'largest' || kind === 'smallest';
  if (size) {
    const big = Math.max(w.fullArea, r.fullArea);
    const small = Math.min(w.fullArea, r.fullArea);
    if (big < cfg.superlative.areaRatio * small) return { error: `${kind}: objects ${w.id} and ${r.id} have similar areas` };
  } else if (superlativeScore(kind, w) - superlativeScore(kind, r) < cfg.superlative.positionMargin) {
    return { error: `${kind}: objects ${w.id} and ${r.id} are too close` };
  }
  const [w2, r2] = rank(superlativeCheckScore);
  if (w2.id !== w.id) return { error: `${kind}: objects ${w.id} and ${w2.id} each win by a different measure` };
  if (!size && superlativeCheckScore(kind, w2) - superlativeCheckScore(kind, r2) < cfg.superlative.positionMargin / 2) {
    return { error: `${kind}: the edges of objects ${w2.id} and ${r2.id} are too close` };
  }
  return { id: w.id };
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

/** Runs a program on a scene. Never throws on an invalid query; malformed programs throw. */
export function evaluateProgram(program: Program, scene: SceneGraph, cfg: ShapeWorldConfig = DEFAULT_CONFIG): EvalResult {
  const outputs: number[][] = [];
  const objs = scene.objects;
  const get = (k: number, at: number): number[] => {
    check(Number.isInteger(k) && k >= 0 && k < at, `program node ${at}: input ${k} must refer to an earlier node`);
    return outputs[k];
  };
  const fail = (at: number, error: string): EvalResult => ({ ok: false, error: `node ${at} (${program[at].op}): ${error}`, outputs });
  if (program.length === 0) throw new Error('evaluateProgram: empty program');
  for (let at = 0; at < program.length; at++) {
    const node = program[at];
    let out: number[];
    switch (node.op) {
      case 'scene':
        out = objs.map((o) => o.id);
        break;
      case 'filter': {
        const inp = get(node.input, at);
        if (node.pred.type === 'region') {
          const amb = inp.filter((id) => regionSide(node.pred.value as RegionName, objs[id], scene, cfg) === 0);
          if (amb.length > 0) return fail(at, `objects ${amb.join(',')} are too close to the midline for "${node.pred.value}"`);
        }
        out = inp.filter((id) => predicateHolds(node.pred, objs[id], scene, cfg) !== node.negate);
        break;
      }
      case 'unique': {
        out = get(node.input, at).slice();
        if (out.length !== 1) return fail(at, `expected exactly one object, got ${out.length}`);
        break;
      }
      case 'relate': {
        const a = get(node.input, at);
        if (a.length !== 1) return fail(at, `anchor must be exactly one object, got ${a.length}`);
        const anchor = objs[a[0]];
        const others = objs.filter((o) => o.id !== anchor.id);
        const amb = others.filter((o) => relationSide(node.relation, o, anchor, cfg) === 0);
        if (amb.length > 0) return fail(at, `objects ${amb.map((o) => o.id).join(',')} are ambiguous for "${node.relation}"`);
        out = others.filter((o) => relationSide(node.relation, o, anchor, cfg) === 1).map((o) => o.id);
        break;
      }
      case 'intersect': {
        const b = new Set(get(node.inputs[1], at));
        out = get(node.inputs[0], at).filter((id) => b.has(id));
        break;
      }
      case 'superlative': {
        const w = superlativeWinner(node.kind, get(node.input, at).map((id) => objs[id]), cfg);
        if ('error' in w) return fail(at, w.error);
        out = [w.id];
        break;
      }
      case 'countFilter': {
        const attr = node.attr;
        out = get(node.input, at).filter((id) => objs.filter((o) => o[attr] === objs[id][attr]).length === node.count);
        break;
      }
      case 'same': {
        const a = get(node.input, at);
        if (a.length !== 1) return fail(at, `reference must be exactly one object, got ${a.length}`);
        const ref = objs[a[0]];
        out = objs.filter((o) => o.id !== ref.id && o[node.attr] === ref[node.attr]).map((o) => o.id);
        break;
      }
      default:
        throw new Error(`evaluateProgram: unknown op ${(node as { op: string }).op}; valid ops: scene, filter, unique, relate, intersect, superlative, countFilter, same`);
    }
    outputs.push(out);
  }
  const last = outputs[outputs.length - 1];
  if (last.length !== 1) return { ok: false, error: `program selects ${last.length} objects, expected exactly one`, outputs };
  return { ok: true, outputs };
}

/** Grammar constructs a program uses (attribute, region, knowledge, negation, relation, superlative, counting). */
export function programConstructs(program: Program): string[] {
  const s = new Set<string>();
  for (const n of program) {
    if (n.op === 'filter') {
      s.add(n.pred.type === 'fact' ? 'knowledge' : n.pred.type === 'region' ? 'region' : 'attribute');
      if (n.negate) s.add('negation');
    } else if (n.op === 'relate' || n.op === 'same') s.add('relation');
    else if (n.op === 'superlative') s.add('superlative');
    else if (n.op === 'countFilter') s.add('counting');
  }
  const order = ['attribute', 'region', 'relation', 'superlative', 'counting', 'negation', 'knowledge'];
  return order.filter((c) => s.has(c));
}
