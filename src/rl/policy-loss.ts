/**
 * The GRPO-family policy loss over token log-probabilities, one string union and one switch.
 *
 * Inputs per completion i and response token t (padded to [N, T] with a 0/1 mask):
 *   logp (current policy, differentiable), oldLogp (the policy that sampled the rollouts),
 *   refLogp (the frozen reference policy), advantages A_i.
 *
 *   ratio r_{i,t} = exp(logp − oldLogp)
 *   surrogate    = min(r·A, clip(r, 1 − ε, 1 + ε_high)·A)
 *   token loss   = −surrogate + β · k3KL(logp, refLogp)
 *
 * Variants (`lossType`):
 *   'grpo'    — per-sequence mean over its tokens, then mean over sequences (Shao et al. 2024, eq. 11).
 *   'dr_grpo' — sum over tokens divided by N · maxCompletionLength, a constant (Liu et al. 2025, "Dr. GRPO";
 *               pair it with advantage scale 'none').
 *   'dapo'    — one mean over every token of the batch, with a higher upper clip ε_high (Yu et al. 2025).
 *   'gspo'    — a sequence-level ratio s_i = exp(mean_t(logp − oldLogp)) used for every token of the
 *               sequence, clipped with its own small ε (Zheng et al. 2025); per-sequence mean.
 * `aggregation` can override the variant's default reduction ('sequence-mean' | 'token-mean' |
 * 'constant'); the CoPRS paper configuration uses 'grpo' with 'token-mean' (DESIGN §1).
 */
import * as tf from '@tensorflow/tfjs';
import { k3KL } from './kl';

export const LOSS_TYPES = ['grpo', 'dr_grpo', 'dapo', 'gspo'] as const;
export type LossType = (typeof LOSS_TYPES)[number];
export type Aggregation = 'sequence-mean' | 'token-mean' | 'constant';

export interface PolicyLossConfig {
  lossType: LossType;
  /** Lower (and default upper) clip range ε. */
  epsilon: number;
  /** Upper clip range; defaults to ε (DAPO's clip-higher sets it above ε). */
  epsilonHigh?: number;
  /** KL coefficient β (0 disables the reference term). */
  beta: number;
  /** Override the variant's reduction. */
  aggregation?: Aggregation;
  /** For 'dr_grpo' / 'constant': the constant length (default: T, the padded length). */
  maxCompletionLength?: number;
}

export function defaultAggregation(lossType: LossType): Aggregation {
  switch (lossType) {
    case 'grpo': return 'sequence-mean';
    case 'dr_grpo': return 'constant';
    case 'dapo': return 'token-mean';
    case 'gspo': return 'sequence-mean';
    default: {
      const never: never = lossType;
      throw new Error(`unknown loss type "${never}"; expected one of ${LOSS_TYPES.join(', ')}`);
    }
  }
}

/** Throws for an unknown loss type, naming the valid ones. */
export function parseLossType(v: string): LossType {
  if ((LOSS_TYPES as readonly string[]).includes(v)) return v as LossType;
  throw new Error(`unknown loss type "${v}"; expected one of ${LOSS_TYPES.join(', ')}`);
}

export interface PolicyLossInputs {
  /** [N, T] current-policy log-probabilities of the sampled tokens (differentiable). */
  logp: tf.Tensor2D;
  /** [N, T] log-probabilities under the sampling policy (constants). */
  oldLogp: tf.Tensor2D;
  /** [N, T] log-probabilities under the reference policy (constants); needed when β > 0. */
  refLogp?: tf.Tensor2D;
  /** [N] advantages. */
  advantages: tf.Tensor1D;
  /** [N, T] 1 for response tokens, 0 for padding. */
  mask: tf.Tensor2D;
}

export interface PolicyLossOutput {
  loss: tf.Scalar;
  /** Token-mean KL (0 when β = 0 or no reference). */
  kl: tf.Scalar;
  /** Fraction of tokens whose ratio was clipped, below 1 − ε and above 1 + ε_high. */
  clipLow: tf.Scalar;
  clipHigh: tf.Scalar;
}

function reduce(perToken: tf.Tensor2D, mask: tf.Tensor2D, agg: Aggregation, constLen: number): tf.Scalar {
  const masked = perToken.mul(mask);
  switch (agg) {
    case 'sequence-mean':
      return masked.sum(1).div(mask.sum(1).maximum(1)).mean() as tf.Scalar;
    case 'token-mean':
      return masked.sum().div(mask.sum().maximum(1)) as tf.Scalar;
    case 'constant':
      return masked.sum().div(perToken.shape[0] * constLen) as tf.Scalar;
    default: {
      const never: never = agg;
      throw new Error(`unknown aggregation "${never}"`);
    }
  }
}

export function policyLoss(inp: PolicyLossInputs, cfg: PolicyLossConfig): PolicyLossOutput {
  parseLossType(cfg.lossType);
  return tf.tidy(() => {
    const { logp, oldLogp, mask } = inp;
    const [N, T] = logp.shape;
    const A = inp.advantages.reshape([N, 1]); // N x 1
    const epsLow = cfg.epsilon;
    const epsHigh = cfg.epsilonHigh ?? cfg.epsilon;
    let logRatio = logp.sub(oldLogp) as tf.Tensor2D;
    if (cfg.lossType === 'gspo') {
      // Sequence-level ratio, shared by every token of the sequence.
      const seq = logRatio.mul(mask).sum(1, true).div(mask.sum(1, true).maximum(1)); // N x 1
      logRatio = seq.tile([1, T]) as tf.Tensor2D;
    }
    const ratio = tf.exp(logRatio);
    const clipped = tf.clipByValue(ratio, 1 - epsLow, 1 + epsHigh);
    const surrogate = tf.minimum(ratio.mul(A), clipped.mul(A));
    let perToken = surrogate.neg() as tf.Tensor2D;
    const tokens = mask.sum().maximum(1);
    let kl: tf.Scalar = tf.scalar(0);
    if (cfg.beta > 0) {
      if (!inp.refLogp) throw new Error('policy loss: β > 0 needs reference log-probabilities (refLogp)');
      const klTok = k3KL(logp, inp.refLogp) as tf.Tensor2D;
      perToken = perToken.add(klTok.mul(cfg.beta)) as tf.Tensor2D;
      kl = klTok.mul(mask).sum().div(tokens) as tf.Scalar;
    }
    const agg = cfg.aggregation ?? defaultAggregation(cfg.lossType);
    const loss = reduce(perToken, mask, agg, cfg.maxCompletionLength ?? T);
    const low = ratio.less(1 - epsLow).logicalAnd(A.less(0).tile([1, T])).cast('float32').mul(mask).sum().div(tokens) as tf.Scalar;
    const high = ratio.greater(1 + epsHigh).logicalAnd(A.greater(0).tile([1, T])).cast('float32').mul(mask).sum().div(tokens) as tf.Scalar;
    return { loss, kl, clipLow: low, clipHigh: high };
  });
}
