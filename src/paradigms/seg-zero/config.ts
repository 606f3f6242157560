/**
 * Seg-Zero's training config: the shared paradigm fields (types.ts, the matched budget) plus the
 * format cold start (the kit's choice, below), GRPO, the rollouts and the reward weights.
 */
import type { PresetName } from '../../config/preset';
import { parseLossType, type Aggregation, type LossType } from '../../rl/policy-loss';
import type { AdvantageScale } from '../../rl/advantages';
import { rewardNames } from '../../rewards/registry';
import { paradigmPresetBase, resolveWithOverrides, type ParadigmTrainConfig } from '../types';
import { SEG_ZERO_REWARDS } from './rewards';

export interface SegZeroTrainConfig extends ParadigmTrainConfig {
  /**
   * Format cold start — THE KIT'S CHOICE, not Seg-Zero's (Seg-Zero is pure RL from Qwen2.5-VL, which
   * can already write JSON boxes): the first `steps` steps of the budget are teacher-forced CE steps
   * on `batchSize` ground-truth responses `<think>{GT chain of thought}</think><answer>{GT box and
   * points}</answer>`; the tiny policy (trained only on `<think>…</think> <REF_POS>`) never samples
   * a parsable answer otherwise, so every GRPO group would have zero advantage. 0 = pure RL.
   */
  coldStart: { steps: number };
  grpo: {
    /** Rollouts per prompt G (Seg-Zero: 8; kit: the CoPRS preset's G, for a matched comparison). */
    G: number;
    lossType: LossType;
    aggregation: Aggregation;
    epsilon: number;
    epsilonHigh: number;
    /** KL coefficient to the frozen reference (the stage-2 policy), k3 estimator. */
    beta: number;
    advantageScale: AdvantageScale;
  };
  rollout: {
    /** Sampling temperature (1.0). */
    temperature: number;
    topP: number;
    /** Generation cap per rollout (chain of thought + ~45 answer tokens). */
    maxTokens: number;
  };
  /** Reward weights by registered name (Seg-Zero: the five `seg-zero/*`, weight 1 each, summed). */
  rewards: Record<string, number>;
}

function preset(p: PresetName): SegZeroTrainConfig {
  const base = paradigmPresetBase(p, 'seg-zero');
  // GRPO values as in CoPRS stage 3 (src/train/coprs/config.ts) so that the two RL paradigms differ only in
  // what the policy emits and how it is rewarded (kit's choice); the mini-SAM is frozen, only the policy trains.
  const G = p === 'tiny' ? 2 : p === 'small' ? 4 : 8;
  return {
    ...base,
    maxTokens: p === 'tiny' ? 12 : p === 'small' ? 260 : 380,
    optim: { ...base.optim, lrScale: { policy: 1 } },
    coldStart: { steps: p === 'tiny' ? 1 : p === 'small' ? 30 : 300 },
    grpo: { G, lossType: 'grpo', aggregation: 'token-mean', epsilon: 0.2, epsilonHigh: 0.2, beta: 0.2, advantageScale: 'std' },
    rollout: { temperature: 1, topP: 1, maxTokens: p === 'tiny' ? 12 : p === 'small' ? 260 : 380 },
    rewards: { ...SEG_ZERO_REWARDS },
  };
}

export const SEG_ZERO_PRESETS: Record<PresetName, SegZeroTrainConfig> = { tiny: preset('tiny'), small: preset('small'), base: preset('base') };

export function validateSegZeroConfig(c: SegZeroTrainConfig): void {
  const fail = (m: string): never => {
    throw new Error(`seg-zero train config: ${m}`);
  };
  if (!Number.isInteger(c.coldStart.steps) || c.coldStart.steps < 0) fail(`coldStart.steps must be an integer ≥ 0, got ${c.coldStart.steps}`);
  if (c.coldStart.steps >= c.steps) fail(`coldStart.steps (${c.coldStart.steps}) leaves no GRPO step of ${c.steps}; lower coldStart.steps or raise steps`);
  const g = c.grpo;
  if (!Number.isInteger(g.G) || g.G < 2) fail(`grpo.G must be an integer ≥ 2 (a group of one has no relative advantage), got ${g.G}`);
  if (c.batchSize % g.G !== 0) fail(`batchSize ${c.batchSize} (completions per step) must be divisible by grpo.G ${g.G}; change one of them`);
  parseLossType(g.lossType);
  if (!['sequence-mean', 'token-mean', 'constant'].includes(g.aggregation)) fail(`grpo.aggregation must be sequence-mean, token-mean or constant, got "${g.aggregation}"`);
  if (!(g.epsilon > 0 && g.epsilon < 1)) fail(`grpo.epsilon must be in (0, 1), got ${g.epsilon}`);
  if (!(g.epsilonHigh >= g.epsilon)) fail(`grpo.epsilonHigh (${g.epsilonHigh}) must be ≥ grpo.epsilon (${g.epsilon})`);
  if (!(g.beta >= 0)) fail(`grpo.beta must be ≥ 0, got ${g.beta}`);
  if (g.advantageScale !== 'std' && g.advantageScale !== 'none') fail(`grpo.advantageScale must be "std" or "none", got "${g.advantageScale}"`);
  if (!(c.rollout.temperature > 0)) fail(`rollout.temperature must be > 0 (greedy rollouts make every advantage 0), got ${c.rollout.temperature}`);
  if (!(c.rollout.topP > 0 && c.rollout.topP <= 1)) fail(`rollout.topP must be in (0, 1], got ${c.rollout.topP}`);
  if (!Number.isInteger(c.rollout.maxTokens) || c.rollout.maxTokens < 1) fail(`rollout.maxTokens must be a positive integer, got ${c.rollout.maxTokens}`);
  const known = rewardNames();
  for (const [n, w] of Object.entries(c.rewards)) {
    if (!known.includes(n)) fail(`rewards.${n}: unknown reward; registered rewards: ${known.join(', ')}`);
    if (typeof w !== 'number' || !Number.isFinite(w)) fail(`rewards.${n}: the weight must be a finite number, got ${JSON.stringify(w)}`);
  }
  if (Object.values(c.rewards).every((w) => w === 0)) fail('rewards: every weight is 0, so every advantage is 0; give one reward a non-zero weight');
}

/** A preset with overrides (rewards merge by name). */
export function resolveSegZeroConfig(preset: string = 'small', overrides?: unknown): SegZeroTrainConfig {
  const o = overrides != null && typeof overrides === 'object' && !Array.isArray(overrides) ? { ...(overrides as Record<string, unknown>) } : overrides;
  let rewards: Record<string, number> | null = null;
  if (o && typeof o === 'object' && 'rewards' in (o as Record<string, unknown>)) {
    rewards = (o as Record<string, unknown>).rewards as Record<string, number>;
    delete (o as Record<string, unknown>).rewards;
    if (rewards == null || typeof rewards !== 'object' || Array.isArray(rewards)) throw new Error(`seg-zero.rewards: expected an object of weights by name, got ${JSON.stringify(rewards)}`);
  }
  return resolveWithOverrides(SEG_ZERO_PRESETS, preset, o, (c) => {
    if (rewards) c.rewards = { ...c.rewards, ...rewards };
    validateSegZeroConfig(c);
  });
}
