/**
 * Teacher-forced per-token losses of shape nouns in a policy checkpoint (README, policy section): for
 * 24 refshapes training-stream samples (seed 999), the shape nouns of the query copy ("the query asks
 * for …") and of the conclusion, each with its −log p in nats (chance over 7 shapes: ln 7 ≈ 1.95).
 *
 *   node --import tsx tools/token-losses.ts runs/policy-small/latest
 */
import { selectBackend } from '../src/backend/select';
import { loadPolicy } from '../src/models/policy/checkpoint';
import { logProbs } from '../src/models/policy/logprobs';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';
import { trainStream } from '../src/data/shapeworld/index';
(async () => {
  await selectBackend({ backend: 'wasm', log: null } as any);
  const b: any = loadPolicy(process.argv[2]);
  const m = b.model; const tok = m.tokenizer;
  const samples = trainStream('refshapes', { seed: 999 }).take(24);
  const emb = m.embedImages(b.encoder, samples.map((s) => s.image));
  const prompts = samples.map((s) => encodePrompt(tok, s.query, m.imageTokens));
  const resps = samples.map((s) => encodeResponse(tok, s.cot!.text));
  const r = logProbs(m, prompts, resps, m.visionTokens(emb));
  const lp = r.logProbs.arraySync() as number[][];
  const shapes = new Set(['circle','square','triangle','diamond','hexagon','star','cross','circles','squares','triangles','diamonds','hexagons','stars','crosses']);
  samples.forEach((s, i) => {
    const words = resps[i].map((id) => tok.decode([id]));
    const first = words.indexOf('.');
    const conc = words.lastIndexOf('target');
    const seg = (a: number, z: number) => words.slice(a, z).map((w, t) => shapes.has(w) ? `[${w}:${(-lp[i][a + t]).toFixed(1)}]` : w).join(' ');
    console.log(`${s.query} || ${seg(0, first)} || ${seg(conc, words.length - 3)}`);
  });
})();
