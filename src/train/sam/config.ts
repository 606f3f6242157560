/**
 * Stage-1 (mini-SAM) training config: one typed object of plain values, a comment per field, one
 * set per preset. Overrides (flags, a JSON file, a notebook) are merged with `mergeConfig`:
 * unknown keys and wrong types are rejected with the key path. Invariants are checked when the
 * config is resolved, with errors that say what to change.
 *
 * - tiny: seconds, for tests and CI.
 * - small: the shipped mini-SAM S, on 2 CPU cores with the wasm backend.
 * - base: longer and wider batches, for a GPU.
 */
import { mergeConfig } from '../../config/merge';
import { PRESET_NAMES, PresetName, parsePresetName } from '../../config/preset';
import { SamSize, parseSamSize } from '../../models/sam/config';

export interface SamTrainConfig {
  /** Preset the config started from (tiny, small, base). */
  preset: PresetName;
  /** Model size (S, M, L). */
  size: SamSize;
  /** Overrides of the size's model config (`models/sam/config.ts`), or null for the size as defined. */
  model: unknown;
  /** Seed of the initial weights and of prompt sampling. */
  seed: number;
  /** Seed of the refshapes training stream. */
  dataSeed: number;
  /** Optimizer steps. */
  steps: number;
  /** Scenes per step (each scene is encoded once). */
  imagesPerStep: number;
  /** Instances prompted per scene (drawn from all visible instances, not only the query target). */
  promptsPerImage: number;
  /** Instances with fewer visible pixels are not used as targets. */
  minInstancePixels: number;
  optim: {
    /** Peak learning rate. */
    lr: number;
    /** Linear warmup steps. */
    warmup: number;
    /** Final learning rate as a fraction of the peak (cosine decay). */
    minLrFactor: number;
    /** Decoupled weight decay of weight matrices and kernels (biases, norms, embeddings: none). */
    weightDecay: number;
    beta1: number;
    beta2: number;
    /** Global gradient-norm clip (0: off). */
    clipNorm: number;
  };
  prompts: {
    /** Probability that the first prompt is one positive point (else a noisy box). */
    pointProb: number;
    /** Box noise std as a fraction of the box side (SAM: 0.1). */
    boxNoiseFrac: number;
    /** Box noise cap, pixels (SAM: 20 at 1024). */
    boxNoiseMax: number;
    /** Interactive rounds after the first: previous mask logits + all earlier points + one corrective point. */
    refineRounds: number;
    /** One more round with the previous mask logits alone (no points, no box: the dense-only path CoPRS uses). */
    maskOnlyRound: boolean;
    /** Also train the three disambiguation masks in the first round (SAM: min loss over them). */
    multimask: boolean;
  };
  loss: {
    /** Focal loss weight (SAM: 20). */
    focal: number;
    /** Dice loss weight (SAM: 1). */
    dice: number;
    /** IoU-head MSE weight (SAM: 1). */
    iou: number;
    focalAlpha: number;
    focalGamma: number;
  };
  val: {
    /** Validate every this many steps (0: only at the end). */
    every: number;
    /** Samples of the refshapes val split used (the first ones). */
    limit: number;
  };
  /** Write OUT/latest every this many steps (and at the end). */
  checkpointEvery: number;
  /** Write a log line every this many steps. */
  logEvery: number;
}

const COMMON: Omit<SamTrainConfig, 'preset' | 'steps' | 'imagesPerStep' | 'promptsPerImage' | 'val' | 'checkpointEvery' | 'logEvery'> = {
  size: 'S',
  model: null,
  seed: 0,
  dataSeed: 1,
  minInstancePixels: 20,
  optim: { lr: 2e-3, warmup: 100, minLrFactor: 0.05, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, clipNorm: 1.0 },
  prompts: { pointProb: 0.5, boxNoiseFrac: 0.1, boxNoiseMax: 3, refineRounds: 1, maskOnlyRound: true, multimask: true },
  loss: { focal: 20, dice: 1, iou: 1, focalAlpha: 0.25, focalGamma: 2 },
};

export const SAM_TRAIN_PRESETS: Record<PresetName, SamTrainConfig> = {
  tiny: {
    ...structuredClone(COMMON), preset: 'tiny', steps: 4, imagesPerStep: 2, promptsPerImage: 2,
    optim: { ...COMMON.optim, warmup: 1 }, val: { every: 0, limit: 4 }, checkpointEvery: 2, logEvery: 1,
  },
  small: {
    ...structuredClone(COMMON), preset: 'small', steps: 1500, imagesPerStep: 8, promptsPerImage: 2,
    val: { every: 150, limit: 60 }, checkpointEvery: 150, logEvery: 10,
  },
  base: {
    ...structuredClone(COMMON), preset: 'base', steps: 20000, imagesPerStep: 32, promptsPerImage: 8,
    optim: { ...COMMON.optim, warmup: 500 }, val: { every: 1000, limit: 300 }, checkpointEvery: 1000, logEvery: 20,
  },
};

/** Check invariants; errors say what to change. */
export function validateSamTrainConfig(c: SamTrainConfig): void {
  const fail = (msg: string): never => {
    throw new Error(`sam train config: ${msg}`);
  };
  const posInt = (v: number, name: string, min = 1): void => {
    if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer >= ${min}, got ${v}`);
  };
  if (!(PRESET_NAMES as readonly string[]).includes(c.preset)) fail(`preset must be one of ${PRESET_NAMES.join(', ')}, got "${c.preset}"`);
  parseSamSize(c.size);
  posInt(c.steps, 'steps');
  posInt(c.imagesPerStep, 'imagesPerStep');
  posInt(c.promptsPerImage, 'promptsPerImage');
  posInt(c.minInstancePixels, 'minInstancePixels');
  posInt(c.prompts.refineRounds, 'prompts.refineRounds', 0);
  posInt(c.val.every, 'val.every', 0);
  posInt(c.val.limit, 'val.limit');
  posInt(c.checkpointEvery, 'checkpointEvery');
  posInt(c.logEvery, 'logEvery');
  posInt(c.optim.warmup, 'optim.warmup', 0);
  if (!(c.optim.lr > 0)) fail(`optim.lr must be > 0, got ${c.optim.lr}`);
  if (!(c.optim.minLrFactor >= 0 && c.optim.minLrFactor <= 1)) fail(`optim.minLrFactor must be in [0, 1], got ${c.optim.minLrFactor}`);
  if (!(c.prompts.pointProb >= 0 && c.prompts.pointProb <= 1)) fail(`prompts.pointProb must be in [0, 1], got ${c.prompts.pointProb}`);
  if (c.loss.focal < 0 || c.loss.dice < 0 || c.loss.iou < 0) fail('loss weights must be >= 0');
}

/**
 * The config of a preset with overrides merged in (unknown keys rejected) and checked. `size` may
 * also be given separately (the --size flag).
 */
export function resolveSamTrainConfig(preset: PresetName | string = 'small', overrides?: unknown): SamTrainConfig {
  const name = parsePresetName(preset);
  const c = mergeConfig(SAM_TRAIN_PRESETS[name], overrides, `sam.train.${name}`);
  c.size = parseSamSize(c.size);
  validateSamTrainConfig(c);
  return c;
}
