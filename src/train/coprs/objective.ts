/**
 * The stage-3 objective of one update (DESIGN §1, paper eq. 4), built for `tf.variableGrads`:
 *
 *   L = L_GRPO + λ_SEG · L_SEG          (combined; `rl`: L_GRPO only; `seg`: λ_SEG · L_SEG only)
 *
 * ONE forward pass gives everything: the policy's teacher-forced log-probabilities of the rollouts
 * and the hidden state at each rollout's last `<REF_POS>` (e_conc), then the prior and the mask of
 * every rollout. On the first update of a rollout batch the mask probabilities are read out of that
 * same pass to score the rewards, the group advantages are computed, and the current log-probs are
 * kept (detached) as the old policy's; later updates (μ > 1) reuse them, so the ratio moves off 1
 * and clipping matters. The SEG loss is on every rollout's prior and mask, so its gradient reaches
 * the policy through e_conc.
 */
import * as tf from '@tensorflow/tfjs';
import { groupAdvantages, type GroupStats } from '../../rl/advantages';
import { policyLoss } from '../../rl/policy-loss';
import type { CombinedRewards, RewardContext } from '../../rewards/registry';
import type { CoprsModel } from '../../models/coprs/model';
import { repeatRows } from '../../models/coprs/images';
import type { CoprsTrainConfig } from './config';
import { segLoss, segLossWeights, type SegLossWeights } from './losses';
import { rolloutRewards } from './rewards';
import { conceptLoss, conceptTargets } from '../../models/coprs/concept';
import { judgeCoT } from '../../analysis/cot-judge';
import type { RolloutBatch } from './rollout';

/** What the first update of a batch fixes for the later ones. */
export interface BatchState {
  rewards?: CombinedRewards;
  ctx?: RewardContext;
  stats?: GroupStats;
  /** Detached log-probs of the sampling policy [N, R] (kept; the trainer disposes it). */
  oldLogp?: tf.Tensor2D;
  /** SEG row weights with `seg.rows = 'conclusion'` (the judge's logical score per rollout). */
  segRowWeights?: number[];
}

/** Per-rollout SEG weights (see SegLossConfig.rows): 1 for ground-truth chains, else the judge's logical score. */
export function segRowWeights(batch: RolloutBatch): number[] {
  if (batch.teacherForced) return batch.generation.text.map(() => 1);
  return batch.generation.text.map((text, i) => judgeCoT(text, batch.samples[Math.floor(i / batch.G)]).logical);
}

/** Plain-number parts of one update, for the log. */
export interface ObjectiveParts {
  loss: number;
  /** L_GRPO (policy loss incl. β·KL) and L_SEG (before λ_SEG); null where the mode drops the term. */
  grpo: number | null;
  seg: number | null;
  /** Means over rows of the unweighted SEG terms (always computed: the Fig. 3 axes). */
  bce: number;
  dice: number;
  focal: number;
  heatmapDice: number;
  /** The conclusion-probe loss (concept.ts), null when `concept.weight` is 0 or the mode drops the SEG side. */
  concept: number | null;
  /** Teacher-forced NLL of the ground-truth chains (warm-up steps with `warmup.lmWeight` > 0), else null. */
  lm: number | null;
  /** Mean SEG row weight with `seg.rows = 'conclusion'` (the share of rollouts concluding the target), else null. */
  segRowShare: number | null;
  /** Token-mean k3 KL to the reference (null without one), clip fractions. */
  kl: number | null;
  clipLow: number;
  clipHigh: number;
  weights: SegLossWeights;
  /** Per row: hard IoU of mask (logit ≥ 0) vs target ≥ 0.5 over the valid region. */
  maskIoU: number[];
  refPosFound: boolean[];
}

/** Hard IoU per row of mask logits vs soft targets, over the valid region (plain numbers). */
function hardIoUs(maskLogits: ArrayLike<number>, batch: RolloutBatch, r: number): number[] {
  const px = r * r;
  const N = maskLogits.length / px;
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const b = Math.floor(i / batch.G);
    let inter = 0;
    let union = 0;
    for (let k = 0; k < px; k++) {
      if (!batch.validValues[b * px + k]) continue;
      const p = maskLogits[i * px + k] >= 0;
      const g = batch.targetValues[b * px + k] >= 0.5;
      if (p && g) inter++;
      if (p || g) union++;
    }
    out.push(union === 0 ? 1 : inter / union);
  }
  return out;
}

/**
 * The loss function of one update (for `tf.variableGrads`). `state` is filled on the first update
 * of the batch; `out.value` receives the parts.
 */
export function stageThreeObjective(model: CoprsModel, batch: RolloutBatch, cfg: CoprsTrainConfig, step: number, state: BatchState, out: { value?: ObjectiveParts }): () => tf.Scalar {
  const G = batch.G;
  const r = model.maskSize;
  const weights = segLossWeights(cfg.seg, step);
  return () => {
    const lp = model.score(batch.prompts, batch.generation.ids, batch.images, G, { temperature: cfg.rollout.temperature });
    const seg = model.segment(lp.refPosHidden, lp.refPosFound, batch.images, G);
    const N = batch.generation.ids.length;
    const maskLogits = seg.masks.dataSync();
    if (!state.rewards) {
      const probs = tf.tidy(() => seg.masks.sigmoid().dataSync());
      const { rewards, ctx } = rolloutRewards(cfg.rewards, batch, probs, r, step);
      state.rewards = rewards;
      state.ctx = ctx;
      state.stats = groupAdvantages(rewards.total, G, cfg.grpo.advantageScale);
      state.oldLogp = tf.keep(tf.tensor2d(lp.logProbs.dataSync() as Float32Array, lp.logProbs.shape)); // detached copy
    }
    const targets = repeatRows(batch.targets, G); // N x r x r
    const valid = repeatRows(batch.images.valid, G).reshape([N, r, r]); // N x r x r
    if (cfg.seg.rows === 'conclusion' && !state.segRowWeights) state.segRowWeights = segRowWeights(batch);
    const s = segLoss({ prior: seg.prior, masks: seg.masks, targets, valid, rowWeights: cfg.seg.rows === 'conclusion' ? state.segRowWeights : undefined }, cfg.seg, weights);
    let loss: tf.Scalar = tf.scalar(0);
    let grpoValue: number | null = null;
    let kl: number | null = null;
    let clipLow = 0;
    let clipHigh = 0;
    if (cfg.mode !== 'seg') {
      const g = policyLoss(
        { logp: lp.logProbs, oldLogp: state.oldLogp!, refLogp: batch.refLogp ?? undefined, advantages: tf.tensor1d(state.stats!.advantages), mask: lp.mask },
        { lossType: cfg.grpo.lossType, epsilon: cfg.grpo.epsilon, epsilonHigh: cfg.grpo.epsilonHigh, beta: batch.refLogp ? cfg.grpo.beta : 0, aggregation: cfg.grpo.aggregation },
      );
      loss = loss.add(g.loss) as tf.Scalar;
      grpoValue = g.loss.dataSync()[0];
      kl = batch.refLogp ? g.kl.dataSync()[0] : null;
      clipLow = g.clipLow.dataSync()[0];
      clipHigh = g.clipHigh.dataSync()[0];
    }
    const segValue = s.total.dataSync()[0];
    if (cfg.mode !== 'rl') loss = loss.add(s.total.mul(cfg.seg.lambdaSeg)) as tf.Scalar;
    let lmValue: number | null = null;
    if (batch.teacherForced && cfg.warmup.lmWeight > 0) {
      const nll = lp.logProbs.mul(lp.mask).sum().div(lp.mask.sum().maximum(1)).neg() as tf.Scalar; // token mean over N x R
      lmValue = nll.dataSync()[0];
      loss = loss.add(nll.mul(cfg.warmup.lmWeight)) as tf.Scalar;
    }
    let conceptValue: number | null = null;
    if (cfg.mode !== 'rl' && cfg.concept.weight > 0) {
      if (!model.conceptProbe) throw new Error('concept.weight > 0 but the model has no conclusion probe (model.conceptProbe=true)');
      const tok = model.policy.tokenizer;
      const { targets, has } = conceptTargets(batch.generation.ids, tok.size, tok.id('.'));
      const lc = conceptLoss(model.conceptProbe.apply(seg.eConc) as tf.Tensor2D, tf.tensor2d(targets, [N, tok.size]), has); // e_conc N x d -> N x V
      conceptValue = lc.dataSync()[0];
      loss = loss.add(lc.mul(cfg.concept.weight)) as tf.Scalar;
    }
    const mean = (t: tf.Tensor1D) => tf.tidy(() => t.mean().dataSync()[0]);
    out.value = {
      loss: loss.dataSync()[0],
      grpo: grpoValue,
      seg: cfg.mode === 'rl' ? null : segValue,
      bce: mean(s.bce),
      dice: mean(s.dice),
      focal: mean(s.focal),
      heatmapDice: weights.lambdaHeatDice > 0 ? mean(s.heatmapDice) : 0,
      concept: conceptValue,
      lm: lmValue,
      segRowShare: state.segRowWeights ? state.segRowWeights.reduce((a, b) => a + b, 0) / state.segRowWeights.length : null,
      kl,
      clipLow,
      clipHigh,
      weights,
      maskIoU: hardIoUs(maskLogits, batch, r),
      refPosFound: lp.refPosFound,
    };
    return loss;
  };
}
