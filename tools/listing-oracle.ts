/**
 * Perception or reasoning? (issue #3 diagnosis.) For N samples of a split, greedy decoding twice:
 *   free    — the policy writes the whole chain (as `coprs eval`); we check whether its listing
 *             sentence ("The picture shows N shapes: …") equals the ground truth's, and the target;
 *   listed  — the ground-truth chain is forced up to the end of its listing sentence and the policy
 *             writes the rest: the target accuracy of the reasoning given a perfect perception.
 *
 * For the `listed` runs that go wrong, `firstDivergence` counts the kind of the first sentence of the
 * continuation that differs from the ground truth ("keeping only …", "comparing …", …, by its first
 * two words) and the class of its first differing word (size, colour, shape, position, other).
 *
 *   node --import tsx tools/listing-oracle.ts CKPT [split=refshapes/val] [N=100] [failures shown=0]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select';
import { loadSplit, shapeWorldMeta } from '../src/data/shapeworld/index';
import { loadPolicy } from '../src/models/policy/checkpoint';
import { conclusionHitsTarget, parseConclusion } from '../src/models/policy/format';
import { generate } from '../src/models/policy/generate';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';

const SIZES = new Set(['small', 'medium-sized', 'large']);
const COLORS = new Set(['red', 'orange', 'yellow', 'green', 'blue', 'purple']);
const SHAPES = /^(circle|square|triangle|diamond|hexagon|star|cross|shape)s?$/;
const POSITIONS = new Set(['top', 'bottom', 'left', 'right', 'center', 'middle']);
const wordClass = (w: string): string => (SIZES.has(w) ? 'size' : COLORS.has(w) ? 'colour' : SHAPES.test(w) ? 'shape' : POSITIONS.has(w) ? 'position' : 'other');
const sentences = (text: string): string[][] => text.toLowerCase().split('.').map((x) => x.replace(/,/g, ' ,').trim().split(/\s+/).filter(Boolean)).filter((x) => x.length > 0);

/** Where a continuation first departs from the ground truth's: `<sentence kind> / <word class>`, or null. */
const divergence = (got: string, want: string): string | null => {
  const g = sentences(got);
  const w = sentences(want);
  for (let i = 0; i < w.length; i++) {
    const a = g[i] ?? [];
    const b = w[i];
    const j = b.findIndex((x, k) => a[k] !== x);
    if (j < 0 && a.length === b.length) continue;
    return `${b.slice(0, 2).join(' ')} / ${j < 0 ? 'length' : wordClass(b[j])}`;
  }
  return g.length > w.length ? 'extra sentence' : null;
};

/** The listing sentence of a chain ("the picture shows … ."), lower-cased, or null. */
const listing = (text: string): string | null => {
  const t = text.toLowerCase();
  const a = t.indexOf('the picture shows');
  if (a < 0) return null;
  const z = t.indexOf('.', a);
  return (z < 0 ? t.slice(a) : t.slice(a, z + 1)).replace(/\s+/g, ' ').trim();
};

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const ckpt = process.argv[2] ?? 'data/checkpoints/policy-small';
  const split = process.argv[3] ?? 'refshapes/val';
  const n = Number(process.argv[4] ?? 100);
  const show = Number(process.argv[5] ?? 0);
  let shown = 0;
  const [ds, sp] = split.split('/');
  const samples = await loadSplit(ds, sp, { limit: n });
  const b = loadPolicy(ckpt);
  const m = b.model;
  const tok = m.tokenizer;
  const dot = tok.encode('.')[0];
  let freeHit = 0;
  let listedHit = 0;
  let exactListing = 0;
  const firstDivergence: Record<string, number> = {};
  const batch = 16;
  for (let s0 = 0; s0 < samples.length; s0 += batch) {
    const part = samples.slice(s0, s0 + batch);
    const emb = m.embedImages(b.encoder, part.map((s) => s.image));
    const prompts = part.map((s) => encodePrompt(tok, s.query, m.imageTokens));
    const free = generate(m, prompts, emb, { maxTokens: 320 });
    const forced = part.map((s) => {
      const r = encodeResponse(tok, s.cot!.text);
      let dots = 0;
      const end = r.findIndex((id) => id === dot && ++dots === 2); // end of sentence 2, the listing
      return r.slice(0, end + 1);
    });
    const listed = generate(m, prompts.map((p, i) => [...p, ...forced[i]]), emb, { maxTokens: 240 });
    emb.dispose();
    part.forEach((s, i) => {
      const meta = shapeWorldMeta(s);
      if (conclusionHitsTarget(parseConclusion(free.text[i]), meta.scene, meta.targetIds)) freeHit++;
      if (conclusionHitsTarget(parseConclusion(listed.text[i]), meta.scene, meta.targetIds)) listedHit++;
      if (listing(free.text[i]) === listing(s.cot!.text)) exactListing++;
      if (!conclusionHitsTarget(parseConclusion(listed.text[i]), meta.scene, meta.targetIds)) {
        const rest = s.cot!.text.slice(s.cot!.text.toLowerCase().indexOf('.', s.cot!.text.toLowerCase().indexOf('the picture shows')) + 1);
        const d = divergence(listed.text[i], rest) ?? 'none';
        firstDivergence[d] = (firstDivergence[d] ?? 0) + 1;
      }
      if (shown < show && !conclusionHitsTarget(parseConclusion(listed.text[i]), meta.scene, meta.targetIds)) {
        shown++;
        console.log(`query: ${s.query}\nground truth: ${s.cot!.text}\ncontinuation after the ground-truth listing: ${listed.text[i]}\n`);
      }
    });
  }
  b.dispose();
  console.log(JSON.stringify({ ckpt, split, n: samples.length, targetAccuracy: freeHit / samples.length, exactListing: exactListing / samples.length, targetAccuracyGivenGtListing: listedHit / samples.length, firstDivergence: Object.fromEntries(Object.entries(firstDivergence).sort((a, b) => b[1] - a[1])), tensors: tf.memory().numTensors }));
})();
