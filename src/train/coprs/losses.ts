/**
 * The CoPRS segmentation loss (DESIGN §1, paper eq. 8), on every rollout's prior and mask:
 *
 *   L_SEG = BCE(H_prior, M) + λ_d · (1 − dice(σ(mask), M)) + λ_f · focal(mask, M; α 0.25, γ 2)
 *           [+ λ_hd · (1 − dice(σ(H_prior), M))   official code: λ_hd = λ_d · heatmapDiceRate]
 *
 * M is the soft target (ground truth resized to the prior's resolution, clamped to [0, 1]). Every
 * term is computed per image (mean over its valid pixels; dice over its valid pixels) and then
 * averaged over the rows. With `ignorePadding` (the paper; default) only the unpadded region counts;
 * without it (the official code's default) every pixel does. The pieces are the stage-1 losses
 * (src/train/sam/losses.ts; dice with smooth 1 as SAM/DETR).
 *
 * λ_d / λ_f follow a switch schedule: (lambdaD, lambdaF) before `switchStep`, (lambdaDAfter,
 * lambdaFAfter) from it on. Presets:
 *   paper          λ_d 1.5, λ_f 0 → 3.0, 10.0; losses on the valid region; no heatmap dice.
 *   official-code  λ_d 0.8, λ_f 0 → 2.0, 5.0; all pixels; heatmap dice at rate 1 (λ_hd = λ_d).
 * The switch step itself is a property of the run's length (paper: 1,500 of 31,250 steps; official
 * code: 300), so it comes from the training preset.
 */
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits, diceLoss, sigmoidFocalLoss } from '../sam/losses';

export const SEG_LOSS_PRESET_NAMES = ['paper', 'official-code'] as const;
export type SegLossPresetName = (typeof SEG_LOSS_PRESET_NAMES)[number];

export interface SegLossConfig {
  /** Which preset the values started from ('paper' default, 'official-code'). */
  preset: SegLossPresetName;
  /** λ_SEG, the weight of L_SEG beside L_GRPO (0.3). */
  lambdaSeg: number;
  /** Count only the valid (unpadded) region (paper: on; official code: off). */
  ignorePadding: boolean;
  /** λ_d and λ_f before the switch step. */
  lambdaD: number;
  lambdaF: number;
  /** λ_d and λ_f from the switch step on. */
  lambdaDAfter: number;
  lambdaFAfter: number;
  /** Optimizer step (0-based) from which the "after" values apply. */
  switchStep: number;
  /** Heatmap dice weight as a fraction of λ_d (official code: 1; paper: 0 = off). */
  heatmapDiceRate: number;
  focalAlpha: number;
  focalGamma: number;
  /**
   * Which rollouts the SEG loss trains on. 'all' (both presets: the paper) — every rollout's prior
   * and mask. 'conclusion' (a departure): each rollout's row is weighted by whether its chain of
   * thought concludes the ground-truth target (the programmatic judge's logical score: 1 right, 0.5
   * ambiguous, 0 wrong or none), so a chain that names another object is not trained to put its prior
   * on the target anyway — which teaches the head to ignore e_conc. Warm-up rows (ground-truth
   * chains) always count.
   */
  rows: 'all' | 'conclusion';
}

/** The preset values (switchStep is set by the training preset). */
export const SEG_LOSS_PRESETS: Record<SegLossPresetName, Omit<SegLossConfig, 'switchStep'>> = {
  paper: { preset: 'paper', lambdaSeg: 0.3, ignorePadding: true, lambdaD: 1.5, lambdaF: 0, lambdaDAfter: 3.0, lambdaFAfter: 10.0, heatmapDiceRate: 0, focalAlpha: 0.25, focalGamma: 2, rows: 'all' },
  'official-code': { preset: 'official-code', lambdaSeg: 0.3, ignorePadding: false, lambdaD: 0.8, lambdaF: 0, lambdaDAfter: 2.0, lambdaFAfter: 5.0, heatmapDiceRate: 1, focalAlpha: 0.25, focalGamma: 2, rows: 'all' },
};

export function parseSegLossPreset(v: unknown): SegLossPresetName {
  if ((SEG_LOSS_PRESET_NAMES as readonly unknown[]).includes(v)) return v as SegLossPresetName;
  throw new Error(`unknown SEG loss preset "${v}"; expected one of ${SEG_LOSS_PRESET_NAMES.join(', ')}`);
}

export interface SegLossWeights {
  lambdaD: number;
  lambdaF: number;
  /** λ_hd of the heatmap dice term (0: off). */
  lambdaHeatDice: number;
}

/** The λ's in force at optimizer step `step` (0-based). */
export function segLossWeights(c: SegLossConfig, step: number): SegLossWeights {
  const after = step >= c.switchStep;
  const lambdaD = after ? c.lambdaDAfter : c.lambdaD;
  return { lambdaD, lambdaF: after ? c.lambdaFAfter : c.lambdaF, lambdaHeatDice: lambdaD * c.heatmapDiceRate };
}

export interface SegLossInputs {
  /** H_prior logits [N, r, r, 1] (or [N, r, r]). */
  prior: tf.Tensor;
  /** Mask logits [N, r, r]. */
  masks: tf.Tensor;
  /** Soft targets [N, r, r] in [0, 1]. */
  targets: tf.Tensor;
  /** 1 inside the valid region [N, r, r] (used when `ignorePadding`). */
  valid?: tf.Tensor;
  /** Per-row weights [N] (default all 1): L_SEG = Σ w·row / Σ w, 0 when every weight is 0. */
  rowWeights?: readonly number[];
}

export interface SegLossOutput {
  /** Per-row terms [N] (unweighted). */
  bce: tf.Tensor1D;
  dice: tf.Tensor1D;
  focal: tf.Tensor1D;
  heatmapDice: tf.Tensor1D;
  /** L_SEG, the weighted sum averaged over rows (λ_SEG not applied). */
  total: tf.Scalar;
}

/** L_SEG and its per-row parts (call inside a gradient or tidy). */
export function segLoss(inp: SegLossInputs, c: Pick<SegLossConfig, 'ignorePadding' | 'focalAlpha' | 'focalGamma'>, w: SegLossWeights): SegLossOutput {
  return tf.tidy(() => {
    const [N, r] = inp.masks.shape;
    const prior = inp.prior.reshape([N, r, r]); // N x r x r
    const masks = inp.masks.reshape([N, r, r]); // N x r x r
    const targets = inp.targets.reshape([N, r, r]); // N x r x r
    const valid = c.ignorePadding && inp.valid ? inp.valid.reshape([N, r, r]) : undefined; // N x r x r
    const bce = bceWithLogits(prior, targets, { valid });
    const dice = diceLoss(masks, targets, { valid });
    const focal = sigmoidFocalLoss(masks, targets, { valid, alpha: c.focalAlpha, gamma: c.focalGamma });
    const heatmapDice = w.lambdaHeatDice > 0 ? diceLoss(prior, targets, { valid }) : (tf.zeros([N]) as tf.Tensor1D);
    let perRow = bce.add(dice.mul(w.lambdaD)).add(focal.mul(w.lambdaF));
    if (w.lambdaHeatDice > 0) perRow = perRow.add(heatmapDice.mul(w.lambdaHeatDice));
    let total: tf.Scalar;
    if (!inp.rowWeights) total = perRow.mean() as tf.Scalar;
    else {
      if (inp.rowWeights.length !== N) throw new Error(`segLoss: ${inp.rowWeights.length} row weights for ${N} rows`);
      const wsum = inp.rowWeights.reduce((a, b) => a + b, 0);
      total = (wsum > 0 ? perRow.mul(tf.tensor1d(inp.rowWeights as number[])).sum().div(wsum) : perRow.mul(0).sum()) as tf.Scalar;
    }
    return { bce, dice, focal, heatmapDice, total } as unknown as tf.TensorContainer;
  }) as unknown as SegLossOutput;
}
