/**
 * Head pre-training on cached e_conc — a departure (not in the paper; `coprs train head`), for the
 * kit's step budget. The paper trains the heatmap head jointly with everything for 31k steps; the
 * kit's `small` stage 3 has 90 steps of 16 samples, and the diagnosis of issue #4 measured that a
 * head needs about a thousand steps of 32 to learn to read a query (tools/head-oracle.ts). Here the
 * policy is frozen: its e_conc on each sample's ground-truth chain of thought is computed once
 * (teacher-forced, no gradient), and the heatmap head, the prompt encoder and the mask decoder are
 * trained on the SEG loss (the warm-up weights: BCE + λ_d·dice + λ_f·focal before the switch) from
 * those cached rows for many cheap steps. A step costs the head and the decoder, not the policy.
 *
 * Cached per sample: e_conc [d], E [h, w, C], the head's key input [h, w, C(+3)], the valid region
 * [r, r] and the soft target [r, r]. Rows without `<REF_POS>` cannot occur (ground-truth chains).
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { AdamW } from '../adamw';
import type { CoprsModel, CoprsPart } from '../../models/coprs/model';
import { disposeImageBatch, softTargets } from '../../models/coprs/images';
import { encodeResponse } from '../../models/policy/prompt';
import { Rng } from '../../util/rng';
import type { CoprsTrainConfig } from './config';
import { segLoss, segLossWeights } from './losses';

export interface HeadCache {
  eConc: tf.Tensor2D; // M x d
  E: tf.Tensor4D; // M x h x w x C
  keys: tf.Tensor4D; // M x h x w x C'
  valid: tf.Tensor3D; // M x r x r
  targets: tf.Tensor3D; // M x r x r
}

/** Encode `samples` and their ground-truth chains once, in chunks of `chunk` (no gradient). */
export function cacheHeadInputs(model: CoprsModel, samples: Sample[], chunk = 16): HeadCache {
  const missing = samples.find((s) => !s.cot?.text);
  if (missing) throw new Error(`head pre-training: sample ${missing.id} has no ground-truth chain of thought`);
  const parts: HeadCache[] = [];
  const r = model.maskSize;
  try {
    for (let i = 0; i < samples.length; i += chunk) {
      const part = samples.slice(i, i + chunk);
      const batch = model.encode(part.map((s) => s.image));
      try {
        parts.push(tf.tidy(() => {
          const lp = model.score(model.prompts(part.map((s) => s.query)), part.map((s) => encodeResponse(model.policy.tokenizer, s.cot!.text)), batch, 1);
          return {
            eConc: lp.refPosHidden.clone(),
            E: batch.E.clone(),
            keys: model.headKeysInput(batch).clone(),
            valid: batch.valid.reshape([part.length, r, r]) as tf.Tensor3D, // B x r x r x 1 -> B x r x r
            targets: softTargets(part.map((s) => s.mask), model.sam.imageSize, r),
          } as unknown as tf.TensorContainer;
        }) as unknown as HeadCache);
      } finally {
        disposeImageBatch(batch);
      }
    }
    const cat = <T extends tf.Tensor>(k: keyof HeadCache) => tf.concat(parts.map((p) => p[k])) as T;
    return { eConc: cat('eConc'), E: cat('E'), keys: cat('keys'), valid: cat('valid'), targets: cat('targets') };
  } finally {
    for (const p of parts) tf.dispose([p.eConc, p.E, p.keys, p.valid, p.targets]);
  }
}

export function disposeHeadCache(c: HeadCache): void {
  tf.dispose([c.eConc, c.E, c.keys, c.valid, c.targets]);
}

export interface HeadPretrainOptions {
  steps: number;
  batchSize: number;
  /** Peak learning rate of the head; the prompt encoder and the decoder get `lr` × their multiplier ÷ the head's (the stage-3 ratios). */
  lr: number;
  seed: number;
  /** Called every `every` steps with the step and the mean loss parts since the last call. */
  onLog?: (step: number, parts: { loss: number; bce: number; dice: number; focal: number }) => void;
  every?: number;
}

const PARTS: CoprsPart[] = ['heatmapHead', 'promptEncoder', 'maskDecoder'];

/** One loss of a batch of cached rows (for `tf.variableGrads`). */
function batchLoss(model: CoprsModel, c: HeadCache, idx: tf.Tensor1D, cfg: CoprsTrainConfig): { loss: tf.Scalar; bce: tf.Tensor1D; dice: tf.Tensor1D; focal: tf.Tensor1D } {
  const eConc = tf.gather(c.eConc, idx) as tf.Tensor2D; // n x d
  const E = tf.gather(c.E, idx) as tf.Tensor4D; // n x h x w x C
  const keys = tf.gather(c.keys, idx) as tf.Tensor4D; // n x h x w x C'
  const valid = tf.gather(c.valid, idx) as tf.Tensor3D; // n x r x r
  const targets = tf.gather(c.targets, idx) as tf.Tensor3D; // n x r x r
  const { prior, masks } = model.priorAndMask(eConc, keys, E, valid.expandDims(-1) as tf.Tensor4D, 1); // n x r x r x 1, n x r x r
  const s = segLoss({ prior, masks, targets, valid }, cfg.seg, segLossWeights(cfg.seg, 0));
  return { loss: s.total as tf.Scalar, bce: s.bce, dice: s.dice, focal: s.focal };
}

/**
 * Train the head, the prompt encoder and the mask decoder on cached rows (see the module comment).
 * The policy and the image encoder are untouched. Returns the mean loss of the last `every` steps.
 */
export function pretrainHead(model: CoprsModel, cache: HeadCache, cfg: CoprsTrainConfig, opts: HeadPretrainOptions): { loss: number; steps: number } {
  const headScale = cfg.optim.lrScale.heatmapHead;
  const groups = PARTS.map((part) => ({ name: part, vars: model.partParams(part), lrScale: cfg.optim.lrScale[part] / headScale, weightDecay: cfg.optim.weightDecay }));
  const optimizer = new AdamW(groups, { beta1: cfg.optim.beta1, beta2: cfg.optim.beta2, eps: cfg.optim.eps, weightDecay: cfg.optim.weightDecay, clipNorm: cfg.optim.clipNorm });
  const vars = groups.flatMap((g) => g.vars);
  const nameOf = new Map(vars.map(([n, v]) => [v.name, n]));
  const M = cache.eConc.shape[0];
  const rng = new Rng(opts.seed);
  const every = opts.every ?? 100;
  let acc = { loss: 0, bce: 0, dice: 0, focal: 0, n: 0 };
  let last = NaN;
  try {
    for (let step = 0; step < opts.steps; step++) {
      const lr = opts.lr * (1 + Math.cos(Math.PI * step / opts.steps)) / 2 * (1 - 1 / cfg.optim.finalDiv) + opts.lr / cfg.optim.finalDiv; // cosine from the peak to peak / finalDiv
      const idx = tf.tensor1d(Array.from({ length: opts.batchSize }, () => Math.floor(rng.next() * M)), 'int32');
      const out: { bce?: number; dice?: number; focal?: number } = {};
      const { value, grads } = tf.variableGrads(() => {
        const b = batchLoss(model, cache, idx, cfg);
        out.bce = b.bce.mean().dataSync()[0];
        out.dice = b.dice.mean().dataSync()[0];
        out.focal = b.focal.mean().dataSync()[0];
        return b.loss;
      }, vars.map(([, v]) => v));
      try {
        const loss = value.dataSync()[0];
        if (!Number.isFinite(loss)) throw new Error(`head pre-training: non-finite loss ${loss} at step ${step + 1}; lower the learning rate`);
        const byName: Record<string, tf.Tensor> = {};
        for (const [vn, g] of Object.entries(grads)) if (g) byName[nameOf.get(vn)!] = g;
        optimizer.apply(byName, lr);
        acc = { loss: acc.loss + loss, bce: acc.bce + out.bce!, dice: acc.dice + out.dice!, focal: acc.focal + out.focal!, n: acc.n + 1 };
      } finally {
        tf.dispose([value, idx, ...Object.values(grads)]);
      }
      if ((step + 1) % every === 0 || step + 1 === opts.steps) {
        last = acc.loss / acc.n;
        opts.onLog?.(step + 1, { loss: last, bce: acc.bce / acc.n, dice: acc.dice / acc.n, focal: acc.focal / acc.n });
        acc = { loss: 0, bce: 0, dice: 0, focal: 0, n: 0 };
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { loss: last, steps: opts.steps };
}
