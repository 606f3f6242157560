/**
 * Stage-3 (CoPRS unified training) config: one typed object of plain values, a comment per field,
 * one set per preset (tiny: tests and CI; small: the CPU demo; base: GPU). Overrides (--set
 * key=value, a notebook's object) are merged with `mergeConfig` — unknown keys and wrong types are
 * rejected with the key path — except `rewards`, a map whose keys are reward names (any name the
 * registry knows; weights merge into the preset's). `seg.preset` switches the SEG-loss values to
 * another preset before the other `seg.*` overrides apply. Invariants (TRL's: G ≥ 2, batch divisible
 * by G, ...) are checked when the config is built, with errors that say what to change.
 */
import { mergeConfig } from '../../config/merge';
import { PRESET_NAMES, parsePresetName, type PresetName } from '../../config/preset';
import { LOSS_TYPES, parseLossType, type Aggregation, type LossType } from '../../rl/policy-loss';
import type { AdvantageScale } from '../../rl/advantages';
import { rewardNames } from '../../rewards/registry';
import { DEFAULT_COPRS_MODEL, resolveCoprsModelConfig, type CoprsModelConfig } from '../../models/coprs/config';
import { SEG_LOSS_PRESETS, parseSegLossPreset, type SegLossConfig } from './losses';

export const COPRS_MODES = ['combined', 'rl', 'seg'] as const;
/** combined: L_GRPO + λ_SEG·L_SEG; rl: L_GRPO only (masks still made, for the reward); seg: λ_SEG·L_SEG only (Fig. 6b). */
export type CoprsMode = (typeof COPRS_MODES)[number];

export interface CoprsTrainConfig {
  /** Preset the config started from (tiny, small, base). */
  preset: PresetName;
  mode: CoprsMode;
  /** Seed of the heatmap head's initial weights and of the rollout sampling. */
  seed: number;
  /** Seed of the refshapes training stream (training scenes only). */
  dataSeed: number;
  /** Optimizer steps (each: one rollout batch, `grpo.mu` updates). */
  steps: number;
  /** Completions per step = prompts per step × grpo.G (TRL's convention). */
  batchSize: number;
  /**
   * SEG warm-up: the first `steps` steps of the run are teacher-forced SEG-loss steps on
   * `batchSize` samples' ground-truth chains of thought (no rollouts, no GRPO; rollout.ts
   * `teacherForcedBatch`), DESIGN §2's optional SEG warm-up of the heatmap head. Every mode gets the
   * same warm-up, so `--mode seg` vs `combined` still differ only in the GRPO term. 0 = none.
   * `lmWeight` (0 = off): weight of the teacher-forced NLL of those chains (token mean), which keeps
   * the policy's language while the SEG and conclusion-probe losses move it (with `concept.weight`).
   */
  warmup: { steps: number; lmWeight: number };
  /** The CoPRS model's own sizes (heatmap head, −50 fill, the optional conclusion probe). */
  model: CoprsModelConfig;
  /**
   * Departure, off by default (0 = the paper): weight of the conclusion-probe loss
   * (src/models/coprs/concept.ts) added to the SEG side of the objective — in the warm-up and in
   * every step of the `seg` and `combined` modes — so that e_conc names what the chain concluded.
   * Needs `model.conceptProbe=true`.
   */
  concept: { weight: number };
  grpo: {
    /** Rollouts per prompt G (paper: 8; Fig. 6a: 2/4/8/16). */
    G: number;
    /** Loss variant (src/rl/policy-loss.ts): grpo | dr_grpo | dapo | gspo. */
    lossType: LossType;
    /** Reduction over tokens (DESIGN §1: token-mean). */
    aggregation: Aggregation;
    /** Clip range ε (0.2). */
    epsilon: number;
    /** Upper clip range (= ε unless DAPO's clip-higher). */
    epsilonHigh: number;
    /** KL coefficient β to the frozen reference policy (0.2, k3 estimator). */
    beta: number;
    /** 'std': (r − mean)/(std + 1e-6) (GRPO); 'none': r − mean (Dr. GRPO). */
    advantageScale: AdvantageScale;
    /** Updates per rollout batch μ (1: old log-probs = the detached current ones, ratio 1). */
    mu: number;
  };
  rollout: {
    /** Sampling temperature of the rollouts (paper: 1.0); the same temperature scales the training log-probs. */
    temperature: number;
    topP: number;
    /** Generation cap per rollout. */
    maxTokens: number;
  };
  /** Reward weights by registered name (src/rewards/registry.ts); `mask` 0.7 + `format-paper` 0.3 is the `coprs` reward. */
  rewards: Record<string, number>;
  seg: SegLossConfig;
  optim: {
    /** Base (policy) peak learning rate. */
    lr: number;
    /** Learning-rate multipliers per part (paper: policy ×1, heatmap head ×25, prompt encoder ×10, mask decoder ×5). */
    lrScale: { policy: number; heatmapHead: number; promptEncoder: number; maskDecoder: number };
    /** Decoupled weight decay (0.01, every parameter). */
    weightDecay: number;
    beta1: number;
    beta2: number;
    eps: number;
    /** OneCycle final division: each group anneals (cosine, from the peak, no warmup) to peak / finalDiv (6.7). */
    finalDiv: number;
    /** Global gradient-norm clip (1.0; 0: off). */
    clipNorm: number;
  };
  heldout: {
    /** Stream seed of the held-out samples (refshapes training scenes, a seed the training stream does not use). */
    seed: number;
    /** Held-out samples for the best-checkpoint metric (greedy gIoU); 0 = off. */
    samples: number;
    /** Evaluate every this many steps (0: only at the end). */
    every: number;
  };
  /** A non-finite loss or gradient refuses the step (no weight changes); then 'stop' the run or 'skip' the step. */
  onNonFinite: 'stop' | 'skip';
  /** Write a log line every this many steps. */
  logEvery: number;
  /** Write a CSV table of sampled completions every this many steps (0: never). */
  completionsEvery: number;
  /** Write OUT/latest every this many steps (and at the end). */
  checkpointEvery: number;
}

const GRPO = { G: 4, lossType: 'grpo' as LossType, aggregation: 'token-mean' as Aggregation, epsilon: 0.2, epsilonHigh: 0.2, beta: 0.2, advantageScale: 'std' as AdvantageScale, mu: 1 };
const OPTIM = { lr: 1e-4, lrScale: { policy: 1, heatmapHead: 25, promptEncoder: 10, maskDecoder: 5 }, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, finalDiv: 6.7, clipNorm: 1 };
const REWARDS = { mask: 0.7, 'format-paper': 0.3 };

export const COPRS_TRAIN_PRESETS: Record<PresetName, CoprsTrainConfig> = {
  tiny: {
    preset: 'tiny', mode: 'combined', seed: 0, dataSeed: 1, steps: 4, batchSize: 4, warmup: { steps: 0, lmWeight: 0 }, model: DEFAULT_COPRS_MODEL, concept: { weight: 0 },
    grpo: { ...GRPO, G: 2 }, rollout: { temperature: 1, topP: 1, maxTokens: 12 }, rewards: REWARDS,
    seg: { ...SEG_LOSS_PRESETS.paper, switchStep: 2 }, optim: OPTIM, heldout: { seed: 7777, samples: 0, every: 0 },
    onNonFinite: 'stop', logEvery: 1, completionsEvery: 2, checkpointEvery: 2,
  },
  small: {
    // sized for `npm start`: training + evaluation of the three test splits in 15 minutes on 2 CPU cores
    preset: 'small', mode: 'combined', seed: 0, dataSeed: 1, steps: 90, batchSize: 16, warmup: { steps: 30, lmWeight: 0 }, model: DEFAULT_COPRS_MODEL, concept: { weight: 0 },
    grpo: { ...GRPO, G: 4 }, rollout: { temperature: 1, topP: 1, maxTokens: 200 }, rewards: REWARDS,
    seg: { ...SEG_LOSS_PRESETS.paper, switchStep: 30 }, optim: OPTIM, heldout: { seed: 7777, samples: 24, every: 45 },
    onNonFinite: 'stop', logEvery: 5, completionsEvery: 15, checkpointEvery: 15,
  },
  base: {
    preset: 'base', mode: 'combined', seed: 0, dataSeed: 1, steps: 3000, batchSize: 64, warmup: { steps: 300, lmWeight: 0 }, model: DEFAULT_COPRS_MODEL, concept: { weight: 0 },
    grpo: { ...GRPO, G: 8 }, rollout: { temperature: 1, topP: 1, maxTokens: 320 }, rewards: REWARDS,
    seg: { ...SEG_LOSS_PRESETS.paper, switchStep: 150 }, optim: { ...OPTIM, lr: 5e-5 }, heldout: { seed: 7777, samples: 100, every: 250 },
    onNonFinite: 'stop', logEvery: 10, completionsEvery: 100, checkpointEvery: 100,
  },
};

/** Check invariants; every error says what to change. */
export function validateCoprsTrainConfig(c: CoprsTrainConfig): void {
  const fail = (msg: string): never => {
    throw new Error(`coprs train config: ${msg}`);
  };
  const posInt = (v: number, name: string, min = 1): void => {
    if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer ≥ ${min}, got ${v}`);
  };
  if (!(PRESET_NAMES as readonly string[]).includes(c.preset)) fail(`preset must be one of ${PRESET_NAMES.join(', ')}, got "${c.preset}"`);
  if (!(COPRS_MODES as readonly string[]).includes(c.mode)) fail(`mode must be one of ${COPRS_MODES.join(', ')} (combined: L_GRPO + λ_SEG·L_SEG; rl: L_GRPO only; seg: L_SEG only), got "${c.mode}"`);
  posInt(c.steps, 'steps');
  posInt(c.batchSize, 'batchSize (completions per step)');
  posInt(c.warmup.steps, 'warmup.steps', 0);
  if (c.warmup.steps >= c.steps && c.mode !== 'seg') fail(`warmup.steps (${c.warmup.steps}) leaves no GRPO step of ${c.steps}; lower warmup.steps or raise steps`);
  const g = c.grpo;
  if (!Number.isInteger(g.G) || g.G < 2) fail(`grpo.G must be an integer ≥ 2 (a group of one has no relative advantage), got ${g.G}; set grpo.G=2 or more`);
  if (c.batchSize % g.G !== 0) {
    const lo = Math.max(g.G, Math.floor(c.batchSize / g.G) * g.G);
    fail(`batchSize ${c.batchSize} (completions per step) must be divisible by grpo.G ${g.G}; use batchSize=${lo} or ${lo + g.G}, or a G that divides ${c.batchSize}`);
  }
  parseLossType(g.lossType);
  if (!['sequence-mean', 'token-mean', 'constant'].includes(g.aggregation)) fail(`grpo.aggregation must be sequence-mean, token-mean or constant, got "${g.aggregation}"`);
  if (!(g.epsilon > 0 && g.epsilon < 1)) fail(`grpo.epsilon must be in (0, 1), got ${g.epsilon}`);
  if (!(g.epsilonHigh >= g.epsilon)) fail(`grpo.epsilonHigh (${g.epsilonHigh}) must be ≥ grpo.epsilon (${g.epsilon}); raise it, or set it equal to ε`);
  if (!(g.beta >= 0)) fail(`grpo.beta must be ≥ 0 (0 disables the KL term), got ${g.beta}`);
  if (g.advantageScale !== 'std' && g.advantageScale !== 'none') fail(`grpo.advantageScale must be "std" or "none", got "${g.advantageScale}"`);
  posInt(g.mu, 'grpo.mu (updates per rollout batch)');
  if (!(c.rollout.temperature >= 0)) fail(`rollout.temperature must be ≥ 0, got ${c.rollout.temperature}`);
  if (c.rollout.temperature === 0 && c.mode !== 'seg') fail('rollout.temperature 0 (greedy) makes the G rollouts of a prompt identical, so every advantage is 0; set rollout.temperature > 0 (paper: 1.0)');
  if (!(c.rollout.topP > 0 && c.rollout.topP <= 1)) fail(`rollout.topP must be in (0, 1], got ${c.rollout.topP}`);
  posInt(c.rollout.maxTokens, 'rollout.maxTokens');
  const names = Object.keys(c.rewards);
  if (names.length === 0) fail('rewards: give at least one reward weight, e.g. rewards.coprs=1');
  const known = rewardNames();
  for (const [n, w] of Object.entries(c.rewards)) {
    if (!known.includes(n)) fail(`rewards.${n}: unknown reward; registered rewards: ${known.join(', ')}`);
    if (typeof w !== 'number' || !Number.isFinite(w)) fail(`rewards.${n}: the weight must be a finite number, got ${JSON.stringify(w)}`);
  }
  if (c.mode !== 'seg' && Object.values(c.rewards).every((w) => w === 0)) fail('rewards: every weight is 0, so every advantage is 0; give one reward a non-zero weight');
  const s = c.seg;
  parseSegLossPreset(s.preset);
  if (!(s.lambdaSeg >= 0)) fail(`seg.lambdaSeg must be ≥ 0, got ${s.lambdaSeg}`);
  if (c.mode === 'seg' && s.lambdaSeg === 0) fail('mode seg with seg.lambdaSeg 0 trains nothing; set seg.lambdaSeg > 0 (paper: 0.3)');
  for (const k of ['lambdaD', 'lambdaF', 'lambdaDAfter', 'lambdaFAfter', 'heatmapDiceRate', 'focalGamma'] as const) if (!(s[k] >= 0)) fail(`seg.${k} must be ≥ 0, got ${s[k]}`);
  if (!(s.focalAlpha >= 0 && s.focalAlpha <= 1)) fail(`seg.focalAlpha must be in [0, 1], got ${s.focalAlpha}`);
  posInt(s.switchStep, 'seg.switchStep', 0);
  const o = c.optim;
  if (!(o.lr > 0)) fail(`optim.lr must be > 0, got ${o.lr}`);
  for (const [k, v] of Object.entries(o.lrScale)) if (!(v > 0)) fail(`optim.lrScale.${k} must be > 0, got ${v}`);
  if (!(o.weightDecay >= 0)) fail(`optim.weightDecay must be ≥ 0, got ${o.weightDecay}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) fail(`optim.beta1 and optim.beta2 must be in [0, 1), got ${o.beta1}, ${o.beta2}`);
  if (!(o.finalDiv >= 1)) fail(`optim.finalDiv must be ≥ 1 (the schedule ends at peak / finalDiv), got ${o.finalDiv}`);
  if (!(o.clipNorm >= 0)) fail(`optim.clipNorm must be ≥ 0 (0: off), got ${o.clipNorm}`);
  posInt(c.heldout.samples, 'heldout.samples', 0);
  posInt(c.heldout.every, 'heldout.every', 0);
  if (c.heldout.seed === c.dataSeed) fail(`heldout.seed (${c.heldout.seed}) must differ from dataSeed: held-out samples must not be training samples`);
  if (c.onNonFinite !== 'stop' && c.onNonFinite !== 'skip') fail(`onNonFinite must be "stop" or "skip", got "${c.onNonFinite}"`);
  posInt(c.logEvery, 'logEvery');
  posInt(c.completionsEvery, 'completionsEvery', 0);
  posInt(c.checkpointEvery, 'checkpointEvery');
  resolveCoprsModelConfig(c.model);
  if (c.seg.rows !== 'all' && c.seg.rows !== 'conclusion') fail(`seg.rows must be "all" (the paper) or "conclusion", got "${c.seg.rows}"`);
  if (!(c.warmup.lmWeight >= 0)) fail(`warmup.lmWeight must be ≥ 0, got ${c.warmup.lmWeight}`);
  if (!(c.concept.weight >= 0)) fail(`concept.weight must be ≥ 0, got ${c.concept.weight}`);
  if (c.concept.weight > 0 && !c.model.conceptProbe) fail(`concept.weight ${c.concept.weight} needs the conclusion probe: add model.conceptProbe=true (or set concept.weight=0)`);
}

/**
 * A preset with overrides merged in and checked. `rewards` merges by name (registered names only);
 * `seg.preset` first resets the SEG-loss values to that preset's.
 */
export function resolveCoprsTrainConfig(preset: PresetName | string = 'small', overrides?: unknown): CoprsTrainConfig {
  const name = parsePresetName(preset);
  const base = structuredClone(COPRS_TRAIN_PRESETS[name]);
  if (overrides != null && (typeof overrides !== 'object' || Array.isArray(overrides))) throw new Error(`coprs train config: expected an object of overrides, got ${JSON.stringify(overrides)}`);
  const o = { ...((overrides ?? {}) as Record<string, unknown>) };
  let rewards: Record<string, unknown> | null = null;
  if ('rewards' in o) {
    const r = o.rewards;
    if (r == null || typeof r !== 'object' || Array.isArray(r)) throw new Error(`coprs.rewards: expected an object of reward weights by name, e.g. {"coprs": 1}, got ${JSON.stringify(r)}`);
    rewards = r as Record<string, unknown>;
    delete o.rewards;
  }
  const seg = o.seg as Record<string, unknown> | undefined;
  if (seg && typeof seg === 'object' && 'preset' in seg) {
    base.seg = { ...SEG_LOSS_PRESETS[parseSegLossPreset(seg.preset)], switchStep: base.seg.switchStep };
  }
  const c = mergeConfig(base, o, `coprs.train.${name}`);
  if (rewards) c.rewards = { ...c.rewards, ...(rewards as Record<string, number>) };
  validateCoprsTrainConfig(c);
  return c;
}

export { LOSS_TYPES };
