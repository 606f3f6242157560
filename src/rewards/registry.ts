/**
 * Rewards as plug-ins (TRL style): named functions with one signature, combined by named weights.
 * A reward returns one number per completion, or null where it does not apply (a null is left out
 * of the weighted sum — it contributes 0 — and is counted as missing in the statistics).
 * Prototyping a new reward design = `registerReward('my-reward', fn)` and a weight in the config.
 */
import { checkFormat } from './format';
import { maskScores } from './mask';
import type { Sample } from '../data/sample';

/** A predicted mask (probabilities) and its ground truth at the same resolution, row-major. */
export interface MaskPair {
  pred: Float32Array;
  gt: Float32Array;
  /** 1 where a pixel counts (the unpadded region); all pixels when absent. */
  valid?: Uint8Array;
}

/** Everything a reward may look at, one entry per completion (B prompts × G rollouts, prompt-major). */
export interface RewardContext {
  prompts: string[];
  completions: string[];
  completionIds: number[][];
  /** Predicted and ground-truth masks per completion (null where the model produced none). */
  masks?: (MaskPair | null)[];
  /** The sample each completion answers (scene graph and metadata for ShapeWorld-RS). */
  samples?: Sample[];
  /** Optimizer step (for rewards with a schedule). */
  step: number;
}

export type RewardFn = (ctx: RewardContext) => (number | null)[];

const REGISTRY = new Map<string, RewardFn>();

export function registerReward(name: string, fn: RewardFn, opts: { replace?: boolean } = {}): void {
  // Segments of lower-case letters, digits, - and _, separated by "/" (a namespace: "seg-zero/bbox-iou").
  if (!/^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/.test(name)) throw new Error(`reward name "${name}": use lower-case letters, digits, - and _ (and / between namespace segments, e.g. seg-zero/bbox-iou)`);
  if (REGISTRY.has(name) && !opts.replace) throw new Error(`reward "${name}" is already registered (pass { replace: true } to override it)`);
  REGISTRY.set(name, fn);
}

export function rewardNames(): string[] {
  return [...REGISTRY.keys()].sort();
}

export function getReward(name: string): RewardFn {
  const fn = REGISTRY.get(name);
  if (!fn) throw new Error(`unknown reward "${name}"; registered rewards: ${rewardNames().join(', ')}`);
  return fn;
}

export interface CombinedRewards {
  /** Weighted sum per completion. */
  total: number[];
  /** Each reward's raw values per completion. */
  perReward: Record<string, (number | null)[]>;
}

/** Evaluate the named rewards and combine them with their weights. Unknown names throw. */
export function combineRewards(weights: Record<string, number>, ctx: RewardContext): CombinedRewards {
  const n = ctx.completions.length;
  const total = new Array<number>(n).fill(0);
  const perReward: Record<string, (number | null)[]> = {};
  for (const [name, w] of Object.entries(weights)) {
    if (!Number.isFinite(w)) throw new Error(`reward weight for "${name}" must be a finite number, got ${w}`);
    const values = getReward(name)(ctx);
    if (values.length !== n) throw new Error(`reward "${name}" returned ${values.length} values for ${n} completions`);
    perReward[name] = values;
    values.forEach((v, i) => {
      if (v === null) return;
      if (!Number.isFinite(v)) throw new Error(`reward "${name}" returned ${v} for completion ${i}`);
      total[i] += w * v;
    });
  }
  return { total, perReward };
}

// Built-in rewards.

/** 0.5 soft IoU + 0.2 soft dice + 0.3 hard IoU of the predicted mask (null without a mask). */
export const maskReward: RewardFn = (ctx) =>
  ctx.completions.map((_, i) => {
    const m = ctx.masks?.[i];
    return m ? maskScores(m.pred, m.gt, m.valid).reward : null;
  });

export const formatPaperReward: RewardFn = (ctx) => ctx.completions.map((c) => checkFormat(c, 'paper').reward);
export const formatCodeReward: RewardFn = (ctx) => ctx.completions.map((c) => checkFormat(c, 'code').reward);

/** The CoPRS reward: 0.7 · mask + 0.3 · format (paper rules); a missing mask counts 0. */
export const COPRS_REWARD_WEIGHTS = { mask: 0.7, format: 0.3 } as const;
export const coprsReward: RewardFn = (ctx) => {
  const m = maskReward(ctx);
  const f = formatPaperReward(ctx);
  return ctx.completions.map((_, i) => COPRS_REWARD_WEIGHTS.mask * (m[i] ?? 0) + COPRS_REWARD_WEIGHTS.format * (f[i] ?? 0));
};

registerReward('mask', maskReward);
registerReward('format-paper', formatPaperReward);
registerReward('format-code', formatCodeReward);
registerReward('coprs', coprsReward);
