/**
 * Realizing descriptions as English: a description is a conjunction of (possibly negated)
 * predicates; it becomes a program (a chain of filter nodes) and a noun phrase ("the big blue
 * square", "the shape that could roll and is not red", "the circles on the left side"). Word choice
 * goes through a `Pick` function: seeded for query variety, or `canonicalPick` (always the first
 * option) for the chain of thought.
 */
import { Rng } from '../../util/rng';
import { getFact } from './knowledge';
import type { Predicate, Program, Relation, SuperlativeKind } from './program';
import type { SceneGraph, SceneObject } from './scene';
import { SHAPE_WORDS, SIZE_WORDS, positionPhrase, type RegionName } from './vocab';

/** One conjunct of a description. */
export interface DescItem {
  pred: Predicate;
  negate: boolean;
}

/** Chooses one of several wordings. */
export type Pick = <T>(items: readonly T[]) => T;

/** Always the first wording (canonical text). */
export const canonicalPick: Pick = <T>(items: readonly T[]): T => items[0];

/** A seeded wording chooser. */
export function rngPick(rng: Rng): Pick {
  return <T>(items: readonly T[]): T => rng.pick(items);
}

/** Positive predicate shorthand. */
export const pos = (pred: Predicate): DescItem => ({ pred, negate: false });
/** Negated predicate shorthand. */
export const neg = (pred: Predicate): DescItem => ({ pred, negate: true });

/** Appends one filter node per description item after node `input`; returns the last node's index. */
export function appendFilters(program: Program, input: number, desc: readonly DescItem[]): number {
  let at = input;
  for (const d of desc) {
    program.push({ op: 'filter', input: at, pred: d.pred, negate: d.negate });
    at = program.length - 1;
  }
  return at;
}

/** "a", "a and b", "a, b and c". */
export function joinList(items: readonly string[], conj = 'and'): string {
  if (items.length === 0) return 'none';
  if (items.length === 1) return items[0];
  return `${items.slice(0, -1).join(', ')} ${conj} ${items[items.length - 1]}`;
}

/** Word count of a text. */
export function wordCount(s: string): number {
  return s.split(/\s+/).filter((w) => w.length > 0).length;
}

/** Region prepositional phrases; the first is canonical. */
export const REGION_PHRASES: Record<RegionName, readonly string[]> = {
  left: ['on the left side', 'on the left half'],
  right: ['on the right side', 'on the right half'],
  top: ['in the top half', 'in the upper half'],
  bottom: ['in the bottom half', 'in the lower half'],
};

/** Relation phrases ("left of" the anchor); the first is canonical. */
export const RELATION_PHRASES: Record<Relation, readonly string[]> = {
  left: ['to the left of', 'left of'],
  right: ['to the right of', 'right of'],
  above: ['above'],
  below: ['below', 'under'],
  nextTo: ['next to', 'beside'],
};

/** Superlative adjectives; the first is canonical. */
export const SUPERLATIVE_WORDS: Record<SuperlativeKind, readonly string[]> = {
  largest: ['largest', 'biggest'],
  smallest: ['smallest'],
  leftmost: ['leftmost'],
  rightmost: ['rightmost'],
  topmost: ['highest', 'topmost'],
  bottommost: ['lowest', 'bottommost'],
};

/** Comparatives for a set of exactly two ("the left circle", "the bigger star"). */
export const COMPARATIVE_WORDS: Record<SuperlativeKind, readonly string[]> = {
  largest: ['bigger', 'larger'],
  smallest: ['smaller'],
  leftmost: ['left'],
  rightmost: ['right'],
  topmost: ['upper', 'top'],
  bottommost: ['lower', 'bottom'],
};

/** The predicate as a complement of "is" ("red", "a circle", "round"), or null if it has none. */
function isForm(p: Predicate, pick: Pick): string | null {
  switch (p.type) {
    case 'color':
      return p.value;
    case 'shape':
      return `a ${SHAPE_WORDS[p.value].noun}`;
    case 'size':
      return pick(SIZE_WORDS[p.value]);
    case 'region':
      return pick(REGION_PHRASES[p.value]);
    case 'fact':
      return getFact(p.value).adj ?? null;
  }
}

/** The negated predicate as a verb phrase ("is not red", "could not roll"). */
function negatedVp(p: Predicate, pick: Pick): string {
  if (p.type === 'fact') {
    const f = getFact(p.value);
    return f.adj ? `is not ${f.adj}` : f.negVp;
  }
  return `is not ${isForm(p, pick)}`;
}

/** Verb phrases of the clause part of a description (facts and negations), in order. */
export function clauseVps(desc: readonly DescItem[], pick: Pick): string[] {
  const vps: string[] = [];
  for (const d of desc) if (d.pred.type === 'fact' && !d.negate) vps.push(pick(getFact(d.pred.value).vp));
  const negs = desc.filter((d) => d.negate);
  const forms = negs.map((d) => isForm(d.pred, pick));
  if (negs.length === 2 && forms[0] !== null && forms[1] !== null) vps.push(`is neither ${forms[0]} nor ${forms[1]}`);
  else for (const d of negs) vps.push(negatedVp(d.pred, pick));
  return vps;
}

/** Options of `nounPhrase`. */
export interface NounPhraseOptions {
  pick: Pick;
  /** Plural ("the red circles"); only attribute and region predicates can be realized in the plural. */
  plural?: boolean;
  /** Head noun when no shape predicate names one (default "shape"); "something" drops the article. */
  head?: string;
  /** Word placed before the adjectives ("leftmost", "bigger"). */
  pre?: string;
  /** Leave out the article. */
  noArticle?: boolean;
}

/** A description as a noun phrase: "the small red circle on the left side that could roll". */
export function nounPhrase(desc: readonly DescItem[], o: NounPhraseOptions): string {
  const pick = o.pick;
  const words: string[] = [];
  if (o.pre) words.push(o.pre);
  let head: string | null = null;
  const pps: string[] = [];
  for (const d of desc) {
    if (d.negate) continue;
    const p = d.pred;
    if (p.type === 'size') words.push(pick(SIZE_WORDS[p.value]));
  }
  for (const d of desc) if (!d.negate && d.pred.type === 'color') words.push(d.pred.value);
  for (const d of desc) {
    if (d.negate) continue;
    const p = d.pred;
    if (p.type === 'shape') head = o.plural ? SHAPE_WORDS[p.value].plural : SHAPE_WORDS[p.value].noun;
    if (p.type === 'region') pps.push(pick(REGION_PHRASES[p.value]));
  }
  const vps = clauseVps(desc, pick);
  if (o.plural && vps.length > 0) throw new Error('nounPhrase: facts and negations have no plural realization');
  const something = head === null && o.head === 'something';
  if (head === null) head = something ? 'something' : o.plural ? `${o.head ?? 'shape'}s` : o.head ?? 'shape';
  words.push(head);
  let text = words.join(' ');
  if (pps.length > 0) text += ' ' + pps.join(' ');
  if (vps.length > 0) {
    const onlyFact = desc.length === 1 && desc[0].pred.type === 'fact' && !desc[0].negate ? getFact(desc[0].pred.value) : null;
    if (onlyFact?.rel && pps.length === 0 && pick([false, true])) text += ' ' + pick(onlyFact.rel);
    else text += ' that ' + vps.join(' and ');
  }
  return something || o.noArticle ? text : `the ${text}`;
}

/** "large red circle". */
export function objectName(o: SceneObject): string {
  return `${SIZE_WORDS[o.size][0]} ${o.color} ${SHAPE_WORDS[o.shape].noun}`;
}

/** "the large red circle", plus its position when another object has the same name. */
export function objectRef(scene: SceneGraph, id: number): string {
  const o = scene.objects[id];
  const name = objectName(o);
  const twin = scene.objects.some((x) => x.id !== id && objectName(x) === name);
  return twin ? `the ${name} ${positionPhrase(o.position)}` : `the ${name}`;
}

/** "the large red circle in the top left". */
export function objectRefWithPosition(scene: SceneGraph, id: number): string {
  const o = scene.objects[id];
  return `the ${objectName(o)} ${positionPhrase(o.position)}`;
}

/** Capitalizes the first letter. */
export function capitalize(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}
