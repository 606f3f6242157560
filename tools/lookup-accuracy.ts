/**
 * Can the policy look things up in its listing? (issue #3 diagnosis.) For N samples of a split, the
 * prompt and the ground-truth chain up to the end of its listing sentence are forced, then the
 * opening of one filter step ("keeping only the circles leaves" / "leaving out the red ones
 * leaves"), and the policy writes greedily up to the next full stop. The step's result is exact
 * when it equals the benchmark's own sentence (lookup-drill.ts). `steps` filter steps per sample
 * (drawn with seed 4242, colour / shape / size, a quarter negated); the sample's own image.
 *
 *   node --import tsx tools/lookup-accuracy.ts CKPT [split=refshapes/val] [N=100] [steps=3] [failures shown=0]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select';
import { loadSplit, shapeWorldMeta } from '../src/data/shapeworld/index';
import { loadPolicy } from '../src/models/policy/checkpoint';
import { generate } from '../src/models/policy/generate';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';
import { splitAtListing } from '../src/train/sft/data';
import { lookupDrill } from '../src/train/sft/lookup-drill';
import { Rng } from '../src/util/rng';

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const ckpt = process.argv[2] ?? 'data/checkpoints/policy-small-v4';
  const split = process.argv[3] ?? 'refshapes/val';
  const n = Number(process.argv[4] ?? 100);
  const per = Number(process.argv[5] ?? 3);
  let show = Number(process.argv[6] ?? 0);
  const [ds, sp] = split.split('/');
  const samples = await loadSplit(ds, sp, { limit: n });
  const b = loadPolicy(ckpt);
  const m = b.model;
  const tok = m.tokenizer;
  const dot = tok.encode('.')[0];
  const rng = new Rng(4242);
  const tally: Record<string, [number, number]> = {};
  const add = (k: string, ok: boolean) => {
    tally[k] ??= [0, 0];
    tally[k][0] += ok ? 1 : 0;
    tally[k][1]++;
  };
  const batch = 8;
  for (let s0 = 0; s0 < samples.length; s0 += batch) {
    const part = samples.slice(s0, s0 + batch);
    const emb = m.embedImages(b.encoder, part.map((s) => s.image));
    const rows: { prompt: number[]; image: number; want: string; kind: string }[] = [];
    part.forEach((s, i) => {
      const split = splitAtListing(encodeResponse(tok, s.cot!.text), dot);
      if (!split) return;
      const prompt = [...encodePrompt(tok, s.query, m.imageTokens), ...split.listing];
      for (const step of lookupDrill(shapeWorldMeta(s).scene, rng, per)) {
        rows.push({ prompt: [...prompt, ...tok.encode(step.opening)], image: i, want: tok.decode(tok.encode(step.result)).trim(), kind: `${step.negate ? 'leaving out' : 'keeping only'} ${step.pred.type}, ${step.kept.length === 1 ? '1 kept' : 'several kept'}` });
      }
    });
    const idx = tf.tensor1d(rows.map((r) => r.image), 'int32');
    const e = tf.gather(emb, idx);
    const out = generate(m, rows.map((r) => r.prompt), e as tf.Tensor4D, { maxTokens: 48 });
    tf.dispose([idx, e, emb]);
    rows.forEach((r, k) => {
      const got = out.text[k].slice(0, out.text[k].indexOf('.') + 1).trim();
      const ok = got === r.want;
      add('all', ok);
      add(r.kind, ok);
      if (!ok && show-- > 0) console.log(`${tok.decode(r.prompt.slice(-12))} | want: ${r.want} | got: ${got}`);
    });
  }
  b.dispose();
  const rate = Object.fromEntries(Object.entries(tally).sort().map(([k, [a, c]]) => [k, `${(a / c).toFixed(3)} (${c})`]));
  console.log(JSON.stringify({ ckpt, split, samples: samples.length, stepsPerSample: per, exact: rate, tensors: tf.memory().numTensors }));
})();
