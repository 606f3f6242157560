/**
 * Lookup drills (`sft.lookupDrill`, a departure of the kit's stage 2; README "Lookup drills").
 *
 * Why: with the ground-truth listing forced, `policy-small-v4` still concludes right on only 56 of
 * 100 refshapes val queries, and the first wrong word of 25 of its 44 failures is the size word of a
 * filter step's result (`tools/listing-oracle.ts`, `firstDivergence`): "keeping only the circles
 * leaves the small red circle" where the listing has one circle, "a medium-sized yellow circle" —
 * the query's noun with the FIRST listed object's size and colour. The lookup "find the listed
 * object(s) by a word, copy the words before that word" is an induction-style two-hop; the real
 * chains hold about one such lookup per sample, among ~100 other tokens.
 *
 * A drill row: the row's prompt and chain up to the end of its listing sentence (context, no loss,
 * as a listing-context row, and like one it is paired with another row's image so the answer must
 * be read from the text), then `sentences` filter steps over the listed objects on colour, shape
 * or size, some negated — each in the benchmark's own words (`filterSentence`, cot.ts) — as the
 * response, with the loss on each step's result only (`drillTokens`). No end token: a drill
 * teaches the lookup, not where a chain ends.
 *
 * A first version trained every drill token (the openings too). 750 steps of it (fraction 0.35,
 * 4 steps, from policy-small-v4) lifted the lookup but the policy began chaining filter steps:
 * format validity on 100 reasonshapes val queries fell to 0.80 (README "Lookup drills").
 */
import type { ShapeWorldMeta } from '../../data/shapeworld/make-sample';
import { filterSentence } from '../../data/shapeworld/cot';
import { predicateHolds, type Predicate } from '../../data/shapeworld/program';
import type { SceneGraph } from '../../data/shapeworld/scene';
import type { Tokenizer } from '../../models/policy/tokenizer';
import type { Rng } from '../../util/rng';

/** The predicates a drill draws from. */
export type DrillPredicate = Extract<Predicate, { type: 'color' | 'shape' | 'size' }>;

/** One drill step: the predicate, negated or not, and the ids it keeps (reading order is the sentence's job). */
export interface DrillStep {
  pred: DrillPredicate;
  negate: boolean;
  kept: number[];
  sentence: string;
  /** The sentence up to "leaves" (what a drill gives) and the rest, " the … ." (what it asks for). */
  opening: string;
  result: string;
}

/** Every colour, shape and size value present in the scene, in object order (no duplicates). */
export function drillPredicates(scene: SceneGraph): DrillPredicate[] {
  const out: DrillPredicate[] = [];
  const seen = new Set<string>();
  for (const o of scene.objects) {
    for (const p of [{ type: 'color', value: o.color }, { type: 'shape', value: o.shape }, { type: 'size', value: o.size }] as DrillPredicate[]) {
      const key = `${p.type}:${p.value}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(p);
      }
    }
  }
  return out;
}

/**
 * `n` filter steps over the whole scene (each keeps at least one object): predicates drawn without
 * replacement while they last, each negated with probability `negateProb` where the negation keeps
 * something. Deterministic in `rng`.
 */
export function lookupDrill(scene: SceneGraph, rng: Rng, n: number, negateProb = 0.25): DrillStep[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`lookupDrill: expected n ≥ 1 steps, got ${n}`);
  const pool = rng.shuffle(drillPredicates(scene));
  const steps: DrillStep[] = [];
  for (let i = 0; i < n; i++) {
    const pred = pool[i % pool.length];
    const keepIds = scene.objects.filter((o) => predicateHolds(pred, o, scene)).map((o) => o.id);
    const dropIds = scene.objects.filter((o) => !keepIds.includes(o.id)).map((o) => o.id);
    const negate = dropIds.length > 0 && rng.bool(negateProb);
    const kept = negate ? dropIds : keepIds;
    const sentence = filterSentence(scene, pred, negate, kept);
    const cut = sentence.indexOf(' leaves ') + ' leaves'.length;
    steps.push({ pred, negate, kept, sentence, opening: sentence.slice(0, cut), result: sentence.slice(cut) });
  }
  return steps;
}

/**
 * A drill as response ids and its loss mask: each step's opening ("keeping only the circles
 * leaves") is context (0), its result up to and including the full stop is trained (1). So the
 * drill teaches the lookup and nothing else: not which filter to apply (real chains filter on
 * the query's words; a drill's are random) and not that a filter step follows a filter step.
 */
export function drillTokens(tok: Tokenizer, meta: ShapeWorldMeta, rng: Rng, n: number): { ids: number[]; mask: number[]; steps: DrillStep[] } {
  const steps = lookupDrill(meta.scene, rng, n);
  const ids: number[] = [];
  const mask: number[] = [];
  for (const s of steps) {
    const head = tok.encode(s.opening);
    const result = tok.encode(s.result);
    ids.push(...head, ...result);
    mask.push(...head.map(() => 0), ...result.map(() => 1));
  }
  return { ids, mask, steps };
}
