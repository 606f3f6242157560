/**
 * The per-step log record, with the names GRPO users know from TRL: `reward`, `reward_std`,
 * `rewards/<name>/mean|std`, `frac_reward_zero_std`, `completions/*`, `kl`, `clip_ratio/*`, plus the
 * CoPRS terms `loss/bce|dice|focal|heatmap_dice|seg|grpo` and the Fig. 3 training axes
 * `one_minus_bce`, `one_minus_dice` (per batch).
 */
import type { GroupStats } from '../../rl/advantages';
import type { CombinedRewards } from '../../rewards/registry';
import type { GenerateResult } from '../../models/policy/generate';
import type { ObjectiveParts } from './objective';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
/** Unbiased std over the batch (torch's default, as TRL logs it). */
const std = (xs: number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

export interface StepTimes {
  /** Whole step, rollout generation, reference pass, updates (forward + backward + AdamW), ms. */
  ms: number;
  generateMs: number;
  refMs: number;
  updateMs: number;
}

/** One JSONL record of a step (numbers only; null where a term is off). */
export function stepRecord(step: number, lr: number, gradNorm: number, parts: ObjectiveParts, rewards: CombinedRewards, stats: GroupStats, gen: GenerateResult, times: StepTimes, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rec: Record<string, unknown> = { step, reward: mean(rewards.total), reward_std: mean(stats.groupStds), frac_reward_zero_std: stats.zeroStdFraction };
  for (const [name, values] of Object.entries(rewards.perReward)) {
    const xs = values.filter((v): v is number => v !== null);
    rec[`rewards/${name}/mean`] = xs.length ? mean(xs) : null;
    rec[`rewards/${name}/std`] = xs.length ? std(xs) : null;
  }
  const lens = gen.lengths;
  Object.assign(rec, {
    'completions/mean_length': mean(lens),
    'completions/min_length': Math.min(...lens),
    'completions/max_length': Math.max(...lens),
    'completions/clipped_ratio': gen.finished.filter((f) => !f).length / gen.finished.length,
    'completions/ref_pos_rate': parts.refPosFound.filter((f) => f).length / parts.refPosFound.length,
    kl: parts.kl,
    'clip_ratio/low_mean': parts.clipLow,
    'clip_ratio/high_mean': parts.clipHigh,
    clip_ratio: parts.clipLow + parts.clipHigh,
    loss: parts.loss,
    'loss/grpo': parts.grpo,
    'loss/seg': parts.seg,
    'loss/bce': parts.bce,
    'loss/dice': parts.dice,
    'loss/focal': parts.focal,
    'loss/heatmap_dice': parts.heatmapDice,
    'loss/concept': parts.concept,
    'loss/lm': parts.lm,
    seg_row_share: parts.segRowShare,
    one_minus_bce: 1 - parts.bce,
    one_minus_dice: 1 - parts.dice,
    mask_iou: mean(parts.maskIoU),
    lambda_d: parts.weights.lambdaD,
    lambda_f: parts.weights.lambdaF,
    learning_rate: lr,
    grad_norm: gradNorm,
    step_time: times.ms / 1000,
    'time/generate_ms': times.generateMs,
    'time/ref_ms': times.refMs,
    'time/update_ms': times.updateMs,
    ...extra,
  });
  return rec;
}
