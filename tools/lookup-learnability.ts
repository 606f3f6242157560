/**
 * Is the listing lookup learnable at the kit's sizes, and how fast? (issue #3 diagnosis.) A fresh
 * policy of the given width and depth is trained on lookup drills ONLY (lookup-drill.ts): prompt =
 * `<bos>`, the image block (16 tokens of a stub encoder: no vision signal), the chain's listing
 * sentence; response = `steps` filter steps, loss on their results. Every `every` steps it prints
 * the exact rate of greedy results on 64 drills of held-out scenes (another stream seed).
 *
 *   node --import tsx tools/lookup-learnability.ts DIM LAYERS HEADS STEPS [batch=32] [lr=3e-3] [every=100]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select';
import { shapeWorldMeta, trainStream } from '../src/data/shapeworld/index';
import type { Sample } from '../src/data/sample';
import { POLICY_PRESETS, validatePolicyConfig, type PolicyConfig } from '../src/models/policy/config';
import { generate } from '../src/models/policy/generate';
import { PolicyModel } from '../src/models/policy/model';
import { encodeResponse } from '../src/models/policy/prompt';
import { BOS, IMAGE, Tokenizer } from '../src/models/policy/tokenizer';
import { StubImageEncoder } from '../src/models/policy/vision';
import { AdamW } from '../src/train/adamw';
import { splitAtListing } from '../src/train/sft/data';
import { halfBatchGrads } from '../src/train/sft/grad-worker';
import { drillTokens, lookupDrill } from '../src/train/sft/lookup-drill';
import { Rng } from '../src/util/rng';

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const [dim, layers, heads, steps] = process.argv.slice(2, 6).map(Number);
  const batch = Number(process.argv[6] ?? 32);
  const lr = Number(process.argv[7] ?? 3e-3);
  const every = Number(process.argv[8] ?? 100);
  const cfg: PolicyConfig = { ...POLICY_PRESETS.small, dim, layers, heads, mlpHidden: Math.round((dim * 2.75) / 8) * 8, vision: { ...POLICY_PRESETS.tiny.vision } };
  validatePolicyConfig(cfg);
  const tok = Tokenizer.default();
  const encoder = new StubImageEncoder(64, 16, 128, 1);
  const model = new PolicyModel(cfg, tok, { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 }, 0);
  const dot = tok.encode('.')[0];
  const head = (s: Sample): number[] => [BOS, ...new Array<number>(model.imageTokens).fill(IMAGE), ...splitAtListing(encodeResponse(tok, s.cot!.text), dot)!.listing.slice(1)]; // listing without <think>
  const vars = [...model.params.entries()].filter(([, v]) => v.trainable);
  const opt = new AdamW([{ name: 'decay', vars: vars.filter(([n, v]) => n.endsWith('.w') && v.rank === 2), weightDecay: 0.01 }, { name: 'noDecay', vars: vars.filter(([n, v]) => !(n.endsWith('.w') && v.rank === 2)), weightDecay: 0 }], { beta2: 0.98, clipNorm: 1 });
  const train = trainStream('refshapes', { seed: 31 });
  const rng = new Rng(5);
  const held = trainStream('refshapes', { seed: 32 }).take(64);
  const evalRng = new Rng(6);
  const heldRows = held.map((s) => {
    const st = lookupDrill(shapeWorldMeta(s).scene, evalRng, 1)[0];
    return { prompt: [...head(s), ...tok.encode(st.opening)], want: tok.decode(tok.encode(st.result)).trim(), image: s.image };
  });
  const evaluate = (): number => {
    let ok = 0;
    for (let i = 0; i < heldRows.length; i += 16) {
      const part = heldRows.slice(i, i + 16);
      const emb = model.embedImages(encoder, part.map((r) => r.image));
      const out = generate(model, part.map((r) => r.prompt), emb, { maxTokens: 48 });
      emb.dispose();
      part.forEach((r, k) => (ok += out.text[k].slice(0, out.text[k].indexOf('.') + 1).trim() === r.want ? 1 : 0));
    }
    return ok / heldRows.length;
  };
  console.log(`[lookup] dim ${dim} layers ${layers} heads ${heads}: ${vars.reduce((n, [, v]) => n + v.size, 0)} parameters; batch ${batch}, lr ${lr}`);
  const t0 = Date.now();
  for (let step = 1; step <= steps; step++) {
    const samples = train.take(batch);
    const d = samples.map((s) => drillTokens(tok, shapeWorldMeta(s), rng, 4));
    const total = d.reduce((n, x) => n + x.mask.reduce((a, b) => a + b, 0), 0);
    const warm = Math.min(1, step / 50);
    const g = halfBatchGrads(model, encoder, samples.map(head), d.map((x) => x.ids), samples.map((s) => s.image), total, vars, null, d.map((x) => x.mask));
    opt.apply(g.grads, lr * warm * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * step) / steps))));
    tf.dispose(Object.values(g.grads));
    if (step % every === 0 || step === steps) console.log(JSON.stringify({ step, loss: +(g.lossSum / total).toFixed(4), heldOutExact: evaluate(), s: Math.round((Date.now() - t0) / 1000) }));
  }
  model.dispose();
})();
