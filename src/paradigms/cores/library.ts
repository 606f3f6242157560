/**
 * CoReS's in-context guidance (paper §3.2, Fig. 3): one question–answer example from a pure-text
 * library is placed before the user query; it is unrelated to the query's image and shows the
 * two-level answer logic ("it appears on <where>. It is <what>.") with no special tokens.
 *
 * The library (kit's construction; the paper's is written by ChatGPT from hand-made seeds and is not
 * published): the first `librarySize` samples of the refshapes TRAINING stream under a seed of their
 * own (`librarySeed`; training scenes only — the frozen val/test splits are never read). Each entry is
 * text only, taken from the sample's scene-graph-derived chain of thought:
 *
 *   question = the sample's query                     ("the shape in the lower half")
 *   answer   = "It appears on the {target position}. It is the {target description}."
 *                                                      ("It appears on the bottom. It is the large green circle.")
 *
 * Selection: training draws `count` distinct exemplars per sample from the paradigm's RNG (the paper:
 * "randomly draw examples … during each forward pass"; deterministic per seed and saved with the RNG
 * in checkpoints); inference draws them from a generator seeded by (seed, sample id), so a sample's
 * prompt does not depend on its batch or on the order of evaluation (kit's choice).
 */
import { trainStream } from '../../data/shapeworld/splits';
import { Rng, deriveSeed } from '../../util/rng';

export interface Exemplar {
  question: string;
  answer: string;
}

const CACHE = new Map<string, Exemplar[]>();

/** The answer sentence of a target (position words as in the chain of thought: "top left", "center"). */
export function exemplarAnswer(position: string, description: string): string {
  if (!position.trim() || !description.trim()) throw new Error(`CoReS exemplar: empty position (${JSON.stringify(position)}) or description (${JSON.stringify(description)})`);
  return `It appears on the ${position.trim()}. It is the ${description.trim()}.`;
}

/** The library of `size` exemplars from the refshapes training stream of `seed` (cached). */
export function buildLibrary(size: number, seed: number): Exemplar[] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`CoReS library: size must be a positive integer, got ${size}`);
  const key = `${seed}:${size}`;
  const hit = CACHE.get(key);
  if (hit) return hit;
  const lib = trainStream('refshapes', { seed }).take(size).map((s) => {
    if (!s.cot) throw new Error(`CoReS library: training sample ${s.id} has no chain of thought`);
    return { question: s.query.trim().replace(/[.?!]+$/, ''), answer: exemplarAnswer(s.cot.target.position, s.cot.target.description) };
  });
  CACHE.set(key, lib);
  return lib;
}

/** `count` distinct library indices drawn from `rng` (partial Fisher–Yates, one draw per pick). */
export function drawExemplarIndices(librarySize: number, count: number, rng: Rng): number[] {
  if (!Number.isInteger(count) || count < 0 || count > librarySize) throw new Error(`CoReS exemplars: cannot draw ${count} distinct exemplars from a library of ${librarySize}`);
  const idx = Array.from({ length: librarySize }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = rng.int(i, librarySize - 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count);
}

/** The inference draw of a sample: seeded by (seed, sample id), independent of batches. */
export function exemplarIndicesFor(sampleId: string, librarySize: number, count: number, seed: number): number[] {
  return drawExemplarIndices(librarySize, count, new Rng(deriveSeed(seed, 'cores-exemplars', sampleId)));
}

/** The in-context text placed before the user query: "Query: {question}. {answer}" per exemplar. */
export function exemplarText(exemplars: readonly Exemplar[]): string {
  return exemplars.map((e) => `Query: ${e.question}. ${e.answer}`).join(' ');
}
