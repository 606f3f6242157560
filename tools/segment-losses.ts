/**
 * Where does a policy's teacher-forced loss sit? (issue #3 diagnosis.) For N training-stream samples
 * of each dataset (seed 999, not a training seed), the ground-truth chain is scored token by token
 * and the mean −log p (nats) is reported per chain segment:
 *   restate    — sentence 1, "the query asks for …" (copying the query)
 *   listing    — sentence 2, "the picture shows N shapes: …" (perception)
 *   reasoning  — the sentences between the listing and the conclusion (filters, comparisons, counts),
 *                read with the ground-truth listing in context
 *   conclusion — "so the target is …", again after the ground-truth chain
 * and, within the conclusion, per attribute word (size, colour, shape, position words).
 *
 *   node --import tsx tools/segment-losses.ts CKPT [N=48]
 */
import { selectBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { loadPolicy } from '../src/models/policy/checkpoint';
import { disposeLogProbs, logProbs } from '../src/models/policy/logprobs';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';

const SIZES = new Set(['small', 'medium-sized', 'large']);
const COLORS = new Set(['red', 'orange', 'yellow', 'green', 'blue', 'purple']);
const SHAPES = new Set(['circle', 'square', 'triangle', 'diamond', 'hexagon', 'star', 'cross']);

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const ckpt = process.argv[2] ?? 'data/checkpoints/policy-small-v2';
  const n = Number(process.argv[3] ?? 48);
  const b = loadPolicy(ckpt);
  const m = b.model;
  const tok = m.tokenizer;
  for (const dataset of ['refshapes', 'reasonshapes'] as const) {
    const sum: Record<string, [number, number]> = {};
    const add = (k: string, v: number) => {
      sum[k] ??= [0, 0];
      sum[k][0] += v;
      sum[k][1]++;
    };
    const samples = trainStream(dataset, { seed: 999 }).take(n);
    for (let s0 = 0; s0 < samples.length; s0 += 8) {
      const part = samples.slice(s0, s0 + 8);
      const emb = m.embedImages(b.encoder, part.map((s) => s.image));
      const vis = m.visionTokens(emb);
      const prompts = part.map((s) => encodePrompt(tok, s.query, m.imageTokens));
      const resps = part.map((s) => encodeResponse(tok, s.cot!.text));
      const r = logProbs(m, prompts, resps, vis);
      const lp = r.logProbs.arraySync() as number[][];
      disposeLogProbs(r);
      vis.dispose();
      emb.dispose();
      part.forEach((_, i) => {
        const words = resps[i].map((id) => tok.decode([id]));
        const dots = words.map((w, t) => (w === '.' ? t : -1)).filter((t) => t >= 0);
        const conc = words.lastIndexOf('so');
        words.forEach((w, t) => {
          const nll = -lp[i][t];
          if (!Number.isFinite(nll)) return;
          const seg = t <= dots[0] ? 'restate' : t <= dots[1] ? 'listing' : t < conc ? 'reasoning' : 'conclusion';
          add(seg, nll);
          if (seg === 'conclusion') {
            if (SIZES.has(w)) add('conclusion size', nll);
            else if (COLORS.has(w)) add('conclusion colour', nll);
            else if (SHAPES.has(w)) add('conclusion shape', nll);
          }
          if (seg === 'listing' && SHAPES.has(w)) add('listing shape', nll);
          if (seg === 'listing' && COLORS.has(w)) add('listing colour', nll);
          if (seg === 'reasoning' && SIZES.has(w)) add('reasoning size', nll);
          if (seg === 'reasoning' && COLORS.has(w)) add('reasoning colour', nll);
          if (seg === 'reasoning' && SHAPES.has(w)) add('reasoning shape', nll);
        });
      });
    }
    console.log(`${dataset} (${n} samples, ${ckpt})`);
    for (const [k, [s, c]] of Object.entries(sum)) console.log(`  ${k.padEnd(20)} ${(s / c).toFixed(3)} nats/token  (${c} tokens)`);
  }
  b.dispose();
})();
