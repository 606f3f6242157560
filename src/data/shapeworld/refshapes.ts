/**
 * The refshapes grammar (RefCOCO analog): short explicit referring expressions built from
 * attributes ("the big blue square"), image halves ("the circle on the left side"), superlatives and
 * comparatives ("the leftmost star", "the bigger circle") and relations to an anchor ("the green
 * shape above the star", "the small star next to the yellow hexagon"). For a target, every family
 * proposes the programs that select exactly it with no redundant conjunct; a family is drawn by
 * weight and its shortest expression is used (sometimes one word longer, for variety).
 */
import { Rng } from '../../util/rng';
import type { ShapeWorldConfig } from './config';
import type { Program, Relation, SuperlativeKind } from './program';
import { regionSide, relationSide } from './program';
import { COMPARATIVE_WORDS, RELATION_PHRASES, SUPERLATIVE_WORDS, appendFilters, nounPhrase, pos, rngPick, type DescItem, type Pick } from './phrases';
import { candidateWords, chooseFamily, groupByFamily, isMinimal, outputSet, toQuery, type Query, type QueryCandidate } from './query';
import type { SceneGraph, SceneObject } from './scene';
import { REGIONS } from './vocab';

type Attr = 'size' | 'color' | 'shape';

/** Attribute subsets, shortest first (the empty one means "any shape"). */
const COMBOS: Attr[][] = [[], ['shape'], ['color'], ['color', 'shape'], ['size', 'shape'], ['size'], ['size', 'color'], ['size', 'color', 'shape']];
const ANCHOR_COMBOS: Attr[][] = [['shape'], ['color'], ['color', 'shape'], ['size', 'shape'], ['size', 'color', 'shape']];
const RELATIONS: Relation[] = ['left', 'right', 'above', 'below', 'nextTo'];
const SUPERLATIVES: SuperlativeKind[] = ['leftmost', 'rightmost', 'topmost', 'bottommost', 'largest', 'smallest'];

/** Relative weights of the refshapes families. */
export const REF_FAMILY_WEIGHTS: Record<string, number> = { attribute: 4, relation: 3, superlative: 2, region: 1 };

/** The description of an object by some of its attributes. */
export function attrDesc(o: SceneObject, combo: readonly Attr[]): DescItem[] {
  return combo.map((a) => pos(a === 'shape' ? { type: 'shape', value: o.shape } : a === 'color' ? { type: 'color', value: o.color } : { type: 'size', value: o.size }));
}

/** scene -> filters. */
export function filterProgram(desc: readonly DescItem[]): Program {
  const p: Program = [{ op: 'scene' }];
  appendFilters(p, 0, desc);
  return p;
}

/** scene -> filters -> superlative. */
export function superlativeProgram(desc: readonly DescItem[], kind: SuperlativeKind): Program {
  const p = filterProgram(desc);
  p.push({ op: 'superlative', input: p.length - 1, kind });
  return p;
}

/** (scene -> target filters) AND relate(rel, unique(scene -> anchor filters)). */
export function relationProgram(desc: readonly DescItem[], anchor: readonly DescItem[], rel: Relation): Program {
  const p: Program = [{ op: 'scene' }];
  const g = appendFilters(p, 0, desc);
  const a = appendFilters(p, 0, anchor);
  p.push({ op: 'unique', input: a });
  p.push({ op: 'relate', input: p.length - 1, relation: rel });
  if (desc.length > 0) p.push({ op: 'intersect', inputs: [g, p.length - 1] });
  return p;
}

/** Ids the filter chain keeps (null when a filter is ambiguous). */
export function filterIds(desc: readonly DescItem[], scene: SceneGraph, cfg: ShapeWorldConfig): number[] | null {
  return outputSet(filterProgram(desc), scene, cfg);
}

/** The shortest attribute description that singles out an object (null when none does). */
export function anchorDescription(scene: SceneGraph, a: SceneObject, cfg: ShapeWorldConfig): DescItem[] | null {
  for (const combo of ANCHOR_COMBOS) {
    const d = attrDesc(a, combo);
    if (isMinimal(d, filterProgram, a.id, scene, cfg)) return d;
  }
  return null;
}

/** Every refshapes candidate for one target. */
export function refCandidates(scene: SceneGraph, target: number, cfg: ShapeWorldConfig): QueryCandidate[] {
  const T = scene.objects[target];
  const out: QueryCandidate[] = [];
  const np = (d: readonly DescItem[]) => (pick: Pick) => nounPhrase(d, { pick });
  for (const combo of COMBOS) {
    const d = attrDesc(T, combo);
    // attribute
    if (combo.length > 0 && isMinimal(d, filterProgram, target, scene, cfg)) {
      out.push({ family: 'attribute', program: filterProgram(d), targetId: target, realize: np(d), asks: np(d) });
    }
    // region
    for (const r of REGIONS) {
      if (regionSide(r, T, scene, cfg) !== 1) continue;
      const dr = [...d, pos({ type: 'region', value: r })];
      if (isMinimal(dr, filterProgram, target, scene, cfg)) {
        out.push({ family: 'region', program: filterProgram(dr), targetId: target, realize: np(dr), asks: np(dr) });
      }
    }
    // superlative / comparative
    const group = filterIds(d, scene, cfg) ?? [];
    if (group.length >= 2) {
      for (const kind of SUPERLATIVES) {
        if (combo.includes('size') && (kind === 'largest' || kind === 'smallest')) continue;
        const build = (x: DescItem[]) => superlativeProgram(x, kind);
        if (!isMinimal(d, build, target, scene, cfg)) continue;
        const two = group.length === 2;
        const realize = (pick: Pick): string => {
          const body = nounPhrase(d, { pick, noArticle: true });
          if (!two) return `the ${pick(SUPERLATIVE_WORDS[kind])} ${body}`;
          if (kind === 'leftmost' || kind === 'rightmost') {
            const side = kind === 'leftmost' ? 'left' : 'right';
            return pick([`the ${body} on the ${side}`, `the ${side} ${body}`]);
          }
          return `the ${pick(COMPARATIVE_WORDS[kind])} ${body}`;
        };
        out.push({ family: 'superlative', program: build(d), targetId: target, realize, asks: realize });
      }
    }
    // relation to an anchor
    const others = group.filter((id) => id !== target);
    if (others.length >= 1) {
      for (const A of scene.objects) {
        if (A.id === target) continue;
        if (group.filter((id) => id !== A.id).length < 2) continue;
        const rels = RELATIONS.filter((rel) => relationSide(rel, T, A, cfg) === 1);
        if (rels.length === 0) continue;
        const ad = anchorDescription(scene, A, cfg);
        if (!ad) continue;
        for (const rel of rels) {
          const build = (x: DescItem[]) => relationProgram(x, ad, rel);
          if (!isMinimal(d, build, target, scene, cfg)) continue;
          const realize = (pick: Pick): string => `${nounPhrase(d, { pick })} ${pick(RELATION_PHRASES[rel])} ${nounPhrase(ad, { pick })}`;
          out.push({ family: 'relation', program: build(d), targetId: target, realize, asks: realize });
        }
      }
    }
  }
  return out;
}

/** Chooses the shortest candidate of a family, or one word longer with probability 0.3. */
function shortest(rng: Rng, cands: QueryCandidate[]): QueryCandidate {
  const words = cands.map(candidateWords);
  const min = Math.min(...words);
  const slack = rng.bool(0.3) ? 1 : 0;
  return rng.pick(cands.filter((_, k) => words[k] <= min + slack));
}

/**
 * A refshapes query about a scene: targets are tried in a seeded order until one has candidates.
 * Returns null when no object can be referred to unambiguously.
 */
export function refShapesQuery(scene: SceneGraph, rng: Rng, cfg: ShapeWorldConfig): Query | null {
  for (const id of rng.shuffle(scene.objects.map((o) => o.id))) {
    const cands = refCandidates(scene, id, cfg);
    if (cands.length === 0) continue;
    const fam = chooseFamily(rng, groupByFamily(cands), REF_FAMILY_WEIGHTS)!;
    return toQuery(shortest(rng, fam), rngPick(rng));
  }
  return null;
}
