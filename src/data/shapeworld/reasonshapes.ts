/**
 * The reasonshapes grammar (ReasonSeg analog): implicit queries that need several steps. Families:
 * - knowledge:   "the shape that could roll", "the blue thing that could be stacked like a block"
 * - superlative: "the largest shape on the right side that could roll"
 * - negation:    "the shape that is neither red nor round", "the largest shape that is not red"
 * - counting:    "the only shape of its kind", "the circle whose color appears exactly twice"
 * - relation:    "the red shape to the left of the thing you might see in the night sky"
 * - same:        "the other shape with the same color as the thing that could roll"
 * Every candidate is a program that selects exactly one object with no redundant conjunct. Each has
 * a short form (one implicit phrase) and a long form (a situation sentence + a question, at least
 * `LONG_MIN_WORDS` words), so one candidate serves both subsets.
 */
import { Rng } from '../../util/rng';
import type { ShapeWorldConfig } from './config';
import { FACTS, factHolds, getFact, type Fact } from './knowledge';
import { relationSide, type Program, type Relation, type SuperlativeKind } from './program';
import {
  RELATION_PHRASES, SUPERLATIVE_WORDS, appendFilters, clauseVps, joinList, neg, nounPhrase, pos, rngPick, wordCount,
  type DescItem, type Pick,
} from './phrases';
import { chooseFamily, groupByFamily, isMinimal, outputSet, selectsOne, toQuery, type Query, type QueryCandidate } from './query';
import { attrDesc, filterIds, filterProgram, relationProgram, superlativeProgram } from './refshapes';
import type { SceneGraph, SceneObject } from './scene';
import { REGIONS, SHAPE_WORDS, type ColorName, type ShapeKind } from './vocab';

/** Long queries have at least this many words (a generic lead-in is added when a template falls short). */
export const LONG_MIN_WORDS = 15;

/** Relative weights of the reasonshapes families. */
export const REASON_FAMILY_WEIGHTS: Record<string, number> = { knowledge: 3, superlative: 3, negation: 3, counting: 2.5, relation: 2.5, same: 1 };

const RELATIONS: Relation[] = ['left', 'right', 'above', 'below', 'nextTo'];
const SUPERLATIVES: SuperlativeKind[] = ['largest', 'smallest', 'leftmost', 'rightmost', 'topmost', 'bottommost'];
const SIZE_SUPERLATIVES: readonly SuperlativeKind[] = ['largest', 'smallest'];

const LEAD_INS = [
  'Look carefully at all of the shapes in this picture before you answer.',
  'Take a close look at the picture and think about each shape in turn.',
];
const SIZE_SITUATIONS = [
  'You are sorting the shapes in this picture from the biggest to the smallest.',
  'A child wants to keep just one of these shapes and cares a lot about its size.',
];
const POSITION_SITUATIONS = [
  'Imagine the picture is a map and you are reading where each shape sits.',
  'A robot arm scans the picture from one edge to the other.',
];
const COUNT_WORDS = ['never', 'once', 'twice', 'three times', 'four times', 'five times', 'six times'];

/** "once", "twice", "three times", ... */
export function timesWord(n: number): string {
  return COUNT_WORDS[n] ?? `${n} times`;
}

/** Adds a lead-in sentence until a long query has enough words. */
function ensureLong(text: string, pick: Pick): string {
  return wordCount(text) >= LONG_MIN_WORDS ? text : `${pick(LEAD_INS)} ${text}`;
}

/** The first fact in a description, if any. */
function firstFact(desc: readonly DescItem[]): Fact | null {
  const d = desc.find((x) => x.pred.type === 'fact');
  return d ? getFact(d.pred.value as string) : null;
}

/** Situation sentence for a description: from its first fact, else from `fallback`. */
function situation(desc: readonly DescItem[], pick: Pick, fallback: readonly string[]): string {
  const f = firstFact(desc);
  return pick(f ? f.situations : fallback);
}

/** Splits a description into the part a plural noun phrase can carry (attributes, regions) and the rest. */
function splitDesc(desc: readonly DescItem[]): { np: DescItem[]; clauses: DescItem[] } {
  const np = desc.filter((d) => !d.negate && d.pred.type !== 'fact');
  const clauses = desc.filter((d) => d.negate || d.pred.type === 'fact');
  return { np, clauses };
}

/** "Which blue shape in the picture could be stacked like a block?" */
function whichQuestion(desc: readonly DescItem[], pick: Pick): string {
  const { np, clauses } = splitDesc(desc);
  const base = nounPhrase(np, { pick, noArticle: true });
  const vps = clauseVps(clauses, pick);
  if (vps.length === 0) return `Which one is the ${base}?`;
  return `Which ${base} in the picture ${joinList(vps)}?`;
}

/** Implicit (fact-based) descriptions of an object, shortest first. */
function implicitDescs(o: SceneObject): DescItem[][] {
  const facts = FACTS.filter((f) => factHolds(f, o));
  const out: DescItem[][] = [];
  for (const f of facts) out.push([pos({ type: 'fact', value: f.id })]);
  const colorFacts = facts.filter((f) => f.about === 'color');
  for (const f of facts) {
    if (f.about === 'shape') {
      for (const g of colorFacts) out.push([pos({ type: 'fact', value: f.id }), pos({ type: 'fact', value: g.id })]);
      out.push([pos({ type: 'color', value: o.color }), pos({ type: 'fact', value: f.id })]);
    } else {
      out.push([pos({ type: 'shape', value: o.shape }), pos({ type: 'fact', value: f.id })]);
    }
    out.push([pos({ type: 'size', value: o.size }), pos({ type: 'fact', value: f.id })]);
  }
  return out;
}

/** The first minimal implicit description that singles out an object, or null. */
function implicitAnchor(scene: SceneGraph, a: SceneObject, cfg: ShapeWorldConfig): DescItem[] | null {
  for (const d of implicitDescs(a)) if (isMinimal(d, filterProgram, a.id, scene, cfg)) return d;
  return null;
}

/** Attribute subsets of an object, including the empty one. */
function attrSubsets(o: SceneObject): DescItem[][] {
  return [[], ['shape'], ['color'], ['size'], ['size', 'shape'], ['color', 'shape'], ['size', 'color']].map((c) => attrDesc(o, c as ('size' | 'color' | 'shape')[]));
}

function knowledgeCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  const out: QueryCandidate[] = [];
  const seen = new Set<string>();
  for (const o of scene.objects) {
    for (const d of implicitDescs(o)) {
      const key = JSON.stringify(d);
      if (seen.has(key) || !isMinimal(d, filterProgram, o.id, scene, cfg)) continue;
      seen.add(key);
      const realize = (pick: Pick) => nounPhrase(d, { pick, head: pick(['shape', 'thing', 'one', 'something']) });
      const realizeLong = (pick: Pick) => ensureLong(`${situation(d, pick, LEAD_INS)} ${whichQuestion(d, pick)}`, pick);
      out.push({ family: 'knowledge', template: d.length === 1 ? 'fact' : d.every((x) => x.pred.type === 'fact') ? 'fact+fact' : 'fact+attribute', program: filterProgram(d), targetId: o.id, realize, realizeLong, asks: (p) => nounPhrase(d, { pick: p }) });
    }
  }
  return out;
}

/** Base descriptions for superlatives: facts and regions, optionally with one attribute. */
function superlativeBases(scene: SceneGraph): DescItem[][] {
  const facts = FACTS.filter((f) => scene.objects.some((o) => factHolds(f, o)));
  const bases: DescItem[][] = [];
  for (const f of facts) bases.push([pos({ type: 'fact', value: f.id })]);
  for (const r of REGIONS) {
    bases.push([pos({ type: 'region', value: r })]);
    for (const f of facts) bases.push([pos({ type: 'region', value: r }), pos({ type: 'fact', value: f.id })]);
  }
  for (const f of facts) {
    const colors = [...new Set(scene.objects.map((o) => o.color))];
    if (f.about === 'shape') for (const c of colors) bases.push([pos({ type: 'color', value: c }), pos({ type: 'fact', value: f.id })]);
  }
  return bases;
}

/** "Among the shapes on the right side, which one could roll and is the largest?" */
function amongQuestion(desc: readonly DescItem[], supWord: string, pick: Pick): string {
  const { np, clauses } = splitDesc(desc);
  const group = np.length > 0 ? nounPhrase(np, { pick, plural: true }) : 'all the shapes';
  const vps = [...clauseVps(clauses, pick), `is the ${supWord}`];
  return `Among ${group}, which one ${joinList(vps)}?`;
}

function superlativeCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  const out: QueryCandidate[] = [];
  for (const d of superlativeBases(scene)) {
    const group = filterIds(d, scene, cfg);
    if (!group || group.length < 2) continue;
    for (const kind of SUPERLATIVES) {
      const build = (x: DescItem[]) => superlativeProgram(x, kind);
      const t = selectsOne(build(d), scene, cfg);
      if (t === null || !isMinimal(d, build, t, scene, cfg)) continue;
      const realize = (pick: Pick) => `the ${pick(SUPERLATIVE_WORDS[kind])} ${nounPhrase(d, { pick, noArticle: true })}`;
      const realizeLong = (pick: Pick) =>
        ensureLong(`${situation(d, pick, SIZE_SUPERLATIVES.includes(kind) ? SIZE_SITUATIONS : POSITION_SITUATIONS)} ${amongQuestion(d, pick(SUPERLATIVE_WORDS[kind]), pick)}`, pick);
      out.push({ family: 'superlative', template: d.map((x) => x.pred.type).join('+'), program: build(d), targetId: t, realize, realizeLong, asks: realize });
    }
  }
  return out;
}

/** Negatable items present in a scene: colors, shapes, and facts that have an adjective. */
function negatables(scene: SceneGraph): DescItem[] {
  const items: DescItem[] = [];
  for (const c of [...new Set(scene.objects.map((o) => o.color))]) items.push(neg({ type: 'color', value: c }));
  for (const s of [...new Set(scene.objects.map((o) => o.shape))]) items.push(neg({ type: 'shape', value: s }));
  for (const f of FACTS) if (f.adj && scene.objects.some((o) => factHolds(f, o))) items.push(neg({ type: 'fact', value: f.id }));
  return items;
}

/** "It is not red." / "It could not roll." / "It is a circle." */
function clue(d: DescItem, pick: Pick): string {
  if (!d.negate) {
    if (d.pred.type === 'shape') return `It is a ${SHAPE_WORDS[d.pred.value].noun}.`;
    return `It is ${nounPhrase([d], { pick, noArticle: true }).replace(/ shape$/, '')}.`;
  }
  return `It ${clauseVps([d], pick)[0]}.`;
}

/** The positive verb phrase of a negated item ("is red", "is a circle", "is round"). */
function positiveVp(d: DescItem, pick: Pick): string {
  const p = d.pred;
  if (p.type === 'fact') return pick(getFact(p.value).vp);
  if (p.type === 'shape') return `is a ${SHAPE_WORDS[p.value].noun}`;
  return `is ${p.value}`;
}

function negationCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  const out: QueryCandidate[] = [];
  const negs = negatables(scene);
  const attrs: DescItem[] = [];
  for (const s of [...new Set(scene.objects.map((o) => o.shape))]) attrs.push(pos({ type: 'shape', value: s as ShapeKind }));
  for (const c of [...new Set(scene.objects.map((o) => o.color))]) attrs.push(pos({ type: 'color', value: c as ColorName }));
  const descs: DescItem[][] = [];
  for (let i = 0; i < negs.length; i++) {
    descs.push([negs[i]]);
    for (let j = i + 1; j < negs.length; j++) descs.push([negs[i], negs[j]]);
    for (const a of attrs) if (a.pred.type !== negs[i].pred.type) descs.push([a, negs[i]]);
  }
  for (const d of descs) {
    // unique: "the shape that is neither red nor round"
    const t = selectsOne(filterProgram(d), scene, cfg);
    if (t !== null && d.some((x) => x.negate) && isMinimal(d, filterProgram, t, scene, cfg)) {
      const realize = (pick: Pick) => nounPhrase(d, { pick });
      const realizeLong = (pick: Pick) =>
        ensureLong(`Your friend is thinking of one of the shapes in the picture and gives you some clues. ${d.map((x) => clue(x, pick)).join(' ')} Which shape are they thinking of?`, pick);
      out.push({ family: 'negation', template: d.length === 1 ? 'not' : d.every((x) => x.negate) ? 'neither-nor' : 'attribute+not', program: filterProgram(d), targetId: t, realize, realizeLong, asks: realize });
    }
    // with a superlative: "the largest shape that is not red"
    if (d.length !== 1) continue;
    const group = filterIds(d, scene, cfg);
    if (!group || group.length < 2) continue;
    for (const kind of SUPERLATIVES) {
      const build = (x: DescItem[]) => superlativeProgram(x, kind);
      const w = selectsOne(build(d), scene, cfg);
      if (w === null || !isMinimal(d, build, w, scene, cfg)) continue;
      const realize = (pick: Pick) => `the ${pick(SUPERLATIVE_WORDS[kind])} ${nounPhrase(d, { pick, noArticle: true })}`;
      const realizeLong = (pick: Pick) =>
        ensureLong(`You are sorting the shapes in this picture. Put aside every shape that ${positiveVp(d[0], pick)}. Of the shapes that remain, which one is the ${pick(SUPERLATIVE_WORDS[kind])}?`, pick);
      out.push({ family: 'negation', template: 'not+superlative', program: build(d), targetId: w, realize, realizeLong, asks: realize });
    }
  }
  return out;
}

/** scene -> filters -> countFilter(attr, n) [-> superlative]. */
function countProgram(desc: readonly DescItem[], attr: 'color' | 'shape', n: number, sup?: SuperlativeKind): Program {
  const p: Program = [{ op: 'scene' }];
  const at = appendFilters(p, 0, desc);
  p.push({ op: 'countFilter', input: at, attr, count: n });
  if (sup) p.push({ op: 'superlative', input: p.length - 1, kind: sup });
  return p;
}

function countingCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  const out: QueryCandidate[] = [];
  const n = scene.objects.length;
  const teacher = (attr: 'color' | 'shape') =>
    attr === 'color' ? 'A teacher asks the class to count how many shapes of each color there are in the picture.' : 'A teacher asks the class to count how many shapes of each kind there are in the picture.';
  // "the only shape of its kind" / "the only shape with its color"
  for (const attr of ['shape', 'color'] as const) {
    const p = countProgram([], attr, 1);
    const t = selectsOne(p, scene, cfg);
    if (t === null) continue;
    const realize = (pick: Pick) =>
      attr === 'shape' ? pick(['the only shape of its kind', 'the shape whose kind appears only once']) : pick(['the only shape with its color', 'the shape whose color no other shape has']);
    const realizeLong = (pick: Pick) =>
      ensureLong(`${teacher(attr)} ${attr === 'shape' ? 'Which shape is the only one of its kind?' : 'Which shape is the only one with its color?'}`, pick);
    out.push({ family: 'counting', template: 'only-one', program: p, targetId: t, realize, realizeLong, asks: (pk) => realize(pk) });
  }
  // "the circle whose color appears exactly twice", "the red shape whose kind appears exactly twice"
  for (const o of scene.objects) {
    for (const attr of ['color', 'shape'] as const) {
      const k = scene.objects.filter((x) => x[attr] === o[attr]).length;
      const other = attr === 'color' ? 'shape' : 'color';
      for (const d of [attrDesc(o, [other]), attrDesc(o, ['size'])]) {
        const p = countProgram(d, attr, k);
        if (selectsOne(p, scene, cfg) !== o.id) continue;
        const withoutFilter = outputSet(countProgram([], attr, k), scene, cfg) ?? [];
        const withoutCount = filterIds(d, scene, cfg) ?? [];
        if (withoutFilter.length < 2 || withoutCount.length < 2) continue;
        const what = attr === 'color' ? 'color' : 'kind';
        const realize = (pick: Pick) => `${nounPhrase(d, { pick })} whose ${what} appears ${k === 1 ? pick(['only once', 'exactly once']) : `exactly ${timesWord(k)}`} in the picture`;
        const realizeLong = (pick: Pick) =>
          ensureLong(`${teacher(attr)} Which ${nounPhrase(d, { pick, noArticle: true })} has a ${what} that appears exactly ${timesWord(k)}?`, pick);
        out.push({ family: 'counting', template: 'filtered-count', program: p, targetId: o.id, realize, realizeLong, asks: (pk) => realize(pk) });
      }
    }
  }
  // "the largest of the shapes whose color appears exactly twice"
  for (const attr of ['color', 'shape'] as const) {
    for (let k = 2; k <= n; k++) {
      const group = outputSet(countProgram([], attr, k), scene, cfg) ?? [];
      if (group.length < 2 || group.length === n) continue;
      for (const kind of SUPERLATIVES) {
        const p = countProgram([], attr, k, kind);
        const t = selectsOne(p, scene, cfg);
        if (t === null) continue;
        const what = attr === 'color' ? 'color' : 'kind';
        const realize = (pick: Pick) => `the ${pick(SUPERLATIVE_WORDS[kind])} of the shapes whose ${what} appears exactly ${timesWord(k)}`;
        const realizeLong = (pick: Pick) =>
          ensureLong(`${teacher(attr)} Among the shapes whose ${what} appears exactly ${timesWord(k)}, which one is the ${pick(SUPERLATIVE_WORDS[kind])}?`, pick);
        out.push({ family: 'counting', template: 'count+superlative', program: p, targetId: t, realize, realizeLong, asks: (pk) => realize(pk) });
      }
    }
  }
  return out;
}

function relationCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  const out: QueryCandidate[] = [];
  for (const A of scene.objects) {
    const ad = implicitAnchor(scene, A, cfg);
    if (!ad) continue;
    for (const T of scene.objects) {
      if (T.id === A.id) continue;
      for (const rel of RELATIONS) {
        if (relationSide(rel, T, A, cfg) !== 1) continue;
        for (const d of attrSubsets(T)) {
          const group = (filterIds(d, scene, cfg) ?? []).filter((id) => id !== A.id);
          if (group.length < 2) continue;
          const build = (x: DescItem[]) => relationProgram(x, ad, rel);
          if (!isMinimal(d, build, T.id, scene, cfg)) continue;
          const anchorNp = (pick: Pick) => nounPhrase(ad, { pick, head: pick(['shape', 'thing', 'one']) });
          const realize = (pick: Pick) => `${nounPhrase(d, { pick })} ${pick(RELATION_PHRASES[rel])} ${anchorNp(pick)}`;
          const realizeLong = (pick: Pick) =>
            ensureLong(`${situation(ad, pick, LEAD_INS)} Which ${nounPhrase(d, { pick, noArticle: true })} is ${pick(RELATION_PHRASES[rel])} ${anchorNp(pick)}?`, pick);
          out.push({ family: 'relation', template: 'relation', program: build(d), targetId: T.id, realize, realizeLong, asks: realize });
        }
      }
    }
  }
  return out;
}

/** scene -> anchor filters -> unique -> same(attr) [-> filters]. */
function sameProgram(anchor: readonly DescItem[], attr: 'color' | 'shape', desc: readonly DescItem[]): Program {
  const p: Program = [{ op: 'scene' }];
  const a = appendFilters(p, 0, anchor);
  p.push({ op: 'unique', input: a });
  p.push({ op: 'same', input: p.length - 1, attr });
  appendFilters(p, p.length - 1, desc);
  return p;
}

function sameCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  const out: QueryCandidate[] = [];
  for (const A of scene.objects) {
    const ad = implicitAnchor(scene, A, cfg);
    if (!ad) continue;
    for (const attr of ['color', 'shape'] as const) {
      const peers = outputSet(sameProgram(ad, attr, []), scene, cfg) ?? [];
      if (peers.length === 0) continue;
      for (const T of scene.objects) {
        if (!peers.includes(T.id)) continue;
        const other = attr === 'color' ? 'shape' : 'color';
        for (const d of [[], attrDesc(T, [other]), attrDesc(T, ['size'])]) {
          const build = (x: DescItem[]) => sameProgram(ad, attr, x);
          if (!isMinimal(d, build, T.id, scene, cfg)) continue;
          const what = attr === 'color' ? 'color' : 'kind';
          const anchorNp = (pick: Pick) => nounPhrase(ad, { pick, head: pick(['shape', 'thing', 'one']) });
          const body = (pick: Pick) => nounPhrase(d, { pick, noArticle: true });
          const realize = (pick: Pick) => `the other ${body(pick)} of the same ${what} as ${anchorNp(pick)}`;
          const question = (pick: Pick) =>
            attr === 'color' ? `Which other ${body(pick)} has the same color as ${anchorNp(pick)}?` : `Which other ${body(pick)} is the same kind of shape as ${anchorNp(pick)}?`;
          const realizeLong = (pick: Pick) => ensureLong(`${situation(ad, pick, LEAD_INS)} ${question(pick)}`, pick);
          out.push({ family: 'same', template: 'same', program: build(d), targetId: T.id, realize, realizeLong, asks: realize });
        }
      }
    }
  }
  return out;
}

/** Every reasonshapes candidate for a scene. */
export function reasonCandidates(scene: SceneGraph, cfg: ShapeWorldConfig): QueryCandidate[] {
  return [
    ...knowledgeCandidates(scene, cfg),
    ...superlativeCandidates(scene, cfg),
    ...negationCandidates(scene, cfg),
    ...countingCandidates(scene, cfg),
    ...relationCandidates(scene, cfg),
    ...sameCandidates(scene, cfg),
  ];
}

/**
 * A reasonshapes query about a scene, in the short or long form. A family is drawn by weight among
 * those with candidates, then a template of that family uniformly, then a candidate (long queries
 * prefer programs with more steps). Null when nothing fits.
 */
export function reasonShapesQuery(scene: SceneGraph, rng: Rng, cfg: ShapeWorldConfig, subset: 'short' | 'long'): Query | null {
  const fam = chooseFamily(rng, groupByFamily(reasonCandidates(scene, cfg)), REASON_FAMILY_WEIGHTS);
  if (!fam) return null;
  const templates = [...new Set(fam.map((x) => x.template ?? ''))];
  const tpl = rng.pick(templates);
  const pool = fam.filter((x) => (x.template ?? '') === tpl);
  const c = subset === 'long' ? pool[rng.weighted(pool.map((x) => x.program.length))] : rng.pick(pool);
  return toQuery(c, rngPick(rng), subset === 'long');
}
