/**
 * Depth growth: a deeper policy that computes exactly what a trained one does, to go on training
 * with more layers instead of from scratch (progressive stacking; here the function-preserving
 * variant, as Net2DeeperNet: each new block starts as the identity).
 *
 * A pre-norm block is x + attn(norm(x)) followed by h + mlp(norm(h)); with its two output
 * projections (`attn.out`, `mlp.down`) at zero both branches add nothing, so the grown model's
 * logits equal the source's. The new blocks' other weights keep their random init: the output
 * projections get gradients at once (their inputs are not zero) and open the blocks up as they
 * train, as LoRA's zero-initialised B does. Every other parameter (vision stack, embeddings, LM
 * head, the kept blocks, the final norm) is copied.
 *
 * Why here: the small policy (d 128 × 4 layers) flattened near 0.5 / 0.4 target accuracy after
 * 7,100 stage-2 steps with its training and held-out losses within 0.01 of each other, i.e.
 * underfitting a stream it never repeats (README, "Deeper policy").
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../train/checkpoint';
import { loadPolicy, savePolicy, type PolicyCheckpointConfig } from './checkpoint';
import { resolvePolicyConfig } from './config';
import { PolicyModel } from './model';

/** Layer plan of the grown model: per new layer, the source layer it copies or 'new' (an identity block). */
export type GrowPlan = (number | 'new')[];

/**
 * The default plan from `from` to `to` layers: the source layers in order, with the new blocks
 * spread evenly, each after the source layer that closes its share (4 → 6: [0, 1, new, 2, 3, new]).
 */
export function evenGrowPlan(from: number, to: number): GrowPlan {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from <= 0 || to < from) throw new Error(`grow: expected 0 < from ≤ to layers, got ${from} → ${to}`);
  const added = to - from;
  const after = new Map<number, number>(); // source layer → new blocks inserted after it
  for (let k = 0; k < added; k++) {
    const i = Math.ceil((from * (k + 1)) / added) - 1;
    after.set(i, (after.get(i) ?? 0) + 1);
  }
  const plan: GrowPlan = [];
  for (let i = 0; i < from; i++) {
    plan.push(i);
    for (let j = 0; j < (after.get(i) ?? 0); j++) plan.push('new');
  }
  return plan;
}

/** Parses "0,1,new,2,3,new" (the tool's --plan). */
export function parseGrowPlan(text: string): GrowPlan {
  return text.split(',').map((s) => {
    const t = s.trim();
    if (t === 'new') return 'new';
    if (!/^\d+$/.test(t)) throw new Error(`grow: plan entries are source layer indices or "new", got "${t}"`);
    return Number(t);
  });
}

/** Checks that a plan keeps every source layer once, in order (the function is preserved only then). */
export function validateGrowPlan(plan: GrowPlan, sourceLayers: number): void {
  const kept = plan.filter((p): p is number => p !== 'new');
  const want = Array.from({ length: sourceLayers }, (_, i) => i);
  if (kept.join(',') !== want.join(',')) {
    throw new Error(`grow: the plan must keep the source's layers ${want.join(', ')} once each and in order (new blocks anywhere between); got ${plan.join(', ')}`);
  }
  if (plan.length === sourceLayers) throw new Error('grow: the plan adds no layer');
}

/**
 * A new model with `plan.length` layers holding the source's function (see the module comment).
 * The caller disposes both models. `seed` draws the new blocks' inner weights.
 */
export function growPolicyDepth(source: PolicyModel, plan: GrowPlan, seed = 0): PolicyModel {
  validateGrowPlan(plan, source.config.layers);
  const config = resolvePolicyConfig(source.config.preset, { ...source.config, layers: plan.length });
  const grown = new PolicyModel(config, source.tokenizer, source.encoder, seed);
  try {
    const layerOf = /^decoder\.layers\.(\d+)\.(.*)$/;
    let zeroed = 0;
    for (const [name, v] of grown.params.entries()) {
      const m = layerOf.exec(name);
      if (!m) {
        v.assign(source.params.get(name));
        continue;
      }
      const from = plan[Number(m[1])];
      if (from !== 'new') v.assign(source.params.get(`decoder.layers.${from}.${m[2]}`));
      else if (m[2] === 'attn.out.w' || m[2] === 'mlp.down.w') {
        tf.tidy(() => v.assign(tf.zerosLike(v))); // identity block
        zeroed++;
      }
    }
    const added = plan.filter((p) => p === 'new').length;
    if (zeroed !== 2 * added) throw new Error(`grow: zeroed ${zeroed} output projections for ${added} new blocks, expected ${2 * added} (the block layout changed; update grow.ts)`);
  } catch (e) {
    grown.dispose();
    throw e;
  }
  return grown;
}

export interface GrowCheckpointResult {
  plan: GrowPlan;
  sourceParams: number;
  grownParams: number;
  /** Whether the auxiliary perception head (`aux.*`, in a run's latest/) was carried over. */
  aux: boolean;
}

/**
 * Grow a policy checkpoint folder into `dst` (a weights-only checkpoint of kind policy whose
 * recorded train config says where it came from). `layers` with the even plan, or an explicit
 * `plan`. Start a run from it with `coprs train sft --init DST` and `"model": {"layers": N}`.
 */
export async function growPolicyCheckpoint(src: string, dst: string, layers: number, opts: { plan?: GrowPlan; seed?: number } = {}): Promise<GrowCheckpointResult> {
  const b = loadPolicy(src, { encoder: 'none' });
  let grown: PolicyModel | null = null;
  let aux: [string, tf.Tensor][] = [];
  try {
    const plan = opts.plan ?? evenGrowPlan(b.model.config.layers, layers);
    if (plan.length !== layers) throw new Error(`grow: the plan has ${plan.length} layers, not ${layers}`);
    grown = growPolicyDepth(b.model, plan, opts.seed ?? 1);
    const { tensors } = loadCheckpoint(src, { kind: 'policy' });
    aux = [...tensors].filter(([n]) => n.startsWith('aux.'));
    tensors.forEach((t, n) => n.startsWith('aux.') || t.dispose());
    const meta = b.meta!;
    const train = { grownFrom: src, plan, sourceStep: meta.step, sourceTrain: (meta.config as PolicyCheckpointConfig).train ?? null };
    await savePolicy(dst, grown, b.source, { step: meta.step, best: null, train, extraTensors: aux });
    return { plan, sourceParams: b.model.paramCount(), grownParams: grown.paramCount(), aux: aux.length > 0 };
  } finally {
    tf.dispose(aux.map(([, t]) => t));
    grown?.dispose();
    b.dispose();
  }
}
