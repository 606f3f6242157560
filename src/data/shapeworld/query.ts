/**
 * Shared pieces of the two query grammars: the candidate type (a program plus its realizations),
 * validity and minimality checks by running the program, and the weighted choice of a family.
 */
import { Rng } from '../../util/rng';
import type { ShapeWorldConfig } from './config';
import { evaluateProgram, programConstructs, type Program } from './program';
import { canonicalPick, wordCount, type DescItem, type Pick } from './phrases';
import type { SceneGraph } from './scene';

/** A query the grammar could ask about a scene. */
export interface QueryCandidate {
  /** Template family ("attribute", "relation", "knowledge", ...). */
  family: string;
  /** Template within the family (reasonshapes picks a template uniformly before a candidate). */
  template?: string;
  program: Program;
  /** The object the program selects. */
  targetId: number;
  /** The query text (short form). */
  realize: (pick: Pick) => string;
  /** The long form (reasonshapes: a situation sentence + a question). */
  realizeLong?: (pick: Pick) => string;
  /** Canonical plain-words statement of what is asked (for the chain of thought). */
  asks: (pick: Pick) => string;
}

/** A chosen query. */
export interface Query {
  family: string;
  program: Program;
  targetId: number;
  /** The query text. */
  text: string;
  /** What the query asks, in plain words (canonical). */
  asks: string;
  /** Grammar constructs the program uses. */
  constructs: string[];
}

/** The single id a program selects on a scene, or null when it fails or selects several. */
export function selectsOne(program: Program, scene: SceneGraph, cfg: ShapeWorldConfig): number | null {
  const r = evaluateProgram(program, scene, cfg);
  return r.ok ? r.outputs[r.outputs.length - 1][0] : null;
}

/** The last node's output even when it is not a single object; null when an earlier node failed. */
export function outputSet(program: Program, scene: SceneGraph, cfg: ShapeWorldConfig): number[] | null {
  const r = evaluateProgram(program, scene, cfg);
  return r.outputs.length === program.length ? r.outputs[program.length - 1] : null;
}

/**
 * True when `build(desc)` selects exactly `target` and dropping any one item of `desc` no longer
 * does (every conjunct is needed).
 */
export function isMinimal(desc: readonly DescItem[], build: (d: DescItem[]) => Program, target: number, scene: SceneGraph, cfg: ShapeWorldConfig): boolean {
  if (selectsOne(build(desc.slice()), scene, cfg) !== target) return false;
  for (let i = 0; i < desc.length; i++) {
    const rest = desc.filter((_, k) => k !== i);
    if (selectsOne(build(rest), scene, cfg) === target) return false;
  }
  return true;
}

/** Resolves a candidate's wording. */
export function toQuery(c: QueryCandidate, pick: Pick, long = false): Query {
  const text = long && c.realizeLong ? c.realizeLong(pick) : c.realize(pick);
  return { family: c.family, program: c.program, targetId: c.targetId, text, asks: c.asks(canonicalPick), constructs: programConstructs(c.program) };
}

/** Picks a family by weight among those that have candidates, then returns that family's candidates. */
export function chooseFamily(rng: Rng, byFamily: Map<string, QueryCandidate[]>, weights: Record<string, number>): QueryCandidate[] | null {
  const names = Object.keys(weights).filter((f) => (byFamily.get(f)?.length ?? 0) > 0);
  if (names.length === 0) return null;
  return byFamily.get(names[rng.weighted(names.map((f) => weights[f]))])!;
}

/** Groups candidates by family. */
export function groupByFamily(cands: readonly QueryCandidate[]): Map<string, QueryCandidate[]> {
  const m = new Map<string, QueryCandidate[]>();
  for (const c of cands) {
    if (!m.has(c.family)) m.set(c.family, []);
    m.get(c.family)!.push(c);
  }
  return m;
}

/** Canonical word count of a candidate's short text. */
export function candidateWords(c: QueryCandidate): number {
  return wordCount(c.realize(canonicalPick));
}
