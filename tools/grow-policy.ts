/**
 * Grow a policy checkpoint deeper (src/models/policy/grow.ts): new identity blocks between the
 * trained ones, every other weight copied, the auxiliary perception head carried over when SRC is a
 * run's latest/. Then prints how far the grown model's teacher-forced log-probabilities are from the
 * source's on 8 training-stream chains (0 up to float rounding). Go on training with
 *   coprs train sft --init DST --config FILE   (FILE sets "model": {"layers": N}; configs/sft-grow.json)
 *
 *   node --import tsx tools/grow-policy.ts SRC DST LAYERS [PLAN]
 *   node --import tsx tools/grow-policy.ts runs/policy-small-v4/latest runs/grown-6 6
 *   node --import tsx tools/grow-policy.ts SRC DST 6 0,1,new,2,3,new
 */
import { selectBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { loadPolicy, type PolicyBundle } from '../src/models/policy/checkpoint';
import { growPolicyCheckpoint, parseGrowPlan } from '../src/models/policy/grow';
import { disposeLogProbs, logProbs } from '../src/models/policy/logprobs';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const [src, dst, layersArg, planArg] = process.argv.slice(2);
  if (!src || !dst || !layersArg) throw new Error('usage: tools/grow-policy.ts SRC DST LAYERS [PLAN]');
  const r = await growPolicyCheckpoint(src, dst, Number(layersArg), { plan: planArg ? parseGrowPlan(planArg) : undefined });
  const samples = [...trainStream('refshapes', { seed: 999 }).take(4), ...trainStream('reasonshapes', { seed: 999 }).take(4)];
  const score = (b: PolicyBundle): Float32Array => {
    try {
      const m = b.model;
      const emb = m.embedImages(b.encoder!, samples.map((s) => s.image));
      const vis = m.visionTokens(emb);
      const out = logProbs(m, samples.map((s) => encodePrompt(m.tokenizer, s.query, m.imageTokens)), samples.map((s) => encodeResponse(m.tokenizer, s.cot!.text)), vis);
      const lp = (out.logProbs.dataSync() as Float32Array).map((v) => (Number.isFinite(v) ? v : 0));
      disposeLogProbs(out);
      vis.dispose();
      emb.dispose();
      return lp;
    } finally {
      b.dispose();
    }
  };
  const a = score(loadPolicy(src));
  const g = score(loadPolicy(dst));
  const diff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - g[i])), 0);
  console.log(`${dst}: ${r.plan.filter((p) => p !== 'new').length} → ${r.plan.length} layers (plan ${r.plan.join(',')}), ${r.sourceParams} → ${r.grownParams} parameters${r.aux ? ', perception head carried' : ''}; max |Δ log p| over ${samples.length} chains ${diff.toExponential(2)}`);
})();
