/**
 * Stage 1b (vision pre-training of the policy's vision stack) config: plain values, a comment per
 * field, one set per preset, overrides through `mergeConfig` (unknown keys rejected).
 */
import { mergeConfig } from '../../config/merge';
import { PRESET_NAMES, type PresetName } from '../../config/preset';
import { POLICY_PRESETS, validatePolicyConfig, type PolicyConfig } from '../../models/policy/config';

export interface VisionPretrainConfig {
  /** Preset the config started from; also the policy size whose vision stack is trained. */
  preset: PresetName;
  /** The policy's resolved config: only its `vision` part and `dim` are built and trained here. */
  model: PolicyConfig;
  /** Seed of the initial weights (the same derivation as stage 2's, so `--vision` replaces like for like). */
  seed: number;
  /** Seed of the training streams (refshapes/train and reasonshapes/train scenes, half each). */
  dataSeed: number;
  steps: number;
  /** Images per step. */
  batchSize: number;
  optim: { lr: number; warmup: number; minLrFactor: number; weightDecay: number; beta1: number; beta2: number; clipNorm: number };
  /** Held-out scenes (training-scene stream with its own seed) measured every `every` steps and at the end. */
  heldout: { seed: number; samples: number; every: number };
  checkpointEvery: number;
  logEvery: number;
}

const OPTIM = { lr: 3e-3, warmup: 30, minLrFactor: 0.05, weightDecay: 0.01, beta1: 0.9, beta2: 0.98, clipNorm: 1 };

export const VISION_PRESETS: Record<PresetName, VisionPretrainConfig> = {
  tiny: { preset: 'tiny', model: POLICY_PRESETS.tiny, seed: 0, dataSeed: 21, steps: 4, batchSize: 4, optim: { ...OPTIM, warmup: 1 }, heldout: { seed: 7778, samples: 8, every: 0 }, checkpointEvery: 2, logEvery: 1 },
  small: { preset: 'small', model: POLICY_PRESETS.small, seed: 0, dataSeed: 21, steps: 1200, batchSize: 32, optim: OPTIM, heldout: { seed: 7778, samples: 200, every: 200 }, checkpointEvery: 100, logEvery: 20 },
  base: { preset: 'base', model: POLICY_PRESETS.base, seed: 0, dataSeed: 21, steps: 4000, batchSize: 64, optim: { ...OPTIM, lr: 2e-3, warmup: 100 }, heldout: { seed: 7778, samples: 400, every: 500 }, checkpointEvery: 250, logEvery: 50 },
};

export function resolveVisionConfig(preset: PresetName | string = 'small', overrides?: unknown): VisionPretrainConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new Error(`train vision: unknown preset "${preset}"; expected one of ${PRESET_NAMES.join(', ')}`);
  const c = mergeConfig(VISION_PRESETS[preset as PresetName], overrides, 'vision');
  for (const k of ['steps', 'batchSize', 'checkpointEvery', 'logEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`vision.${k}: expected a positive integer, got ${c[k]}`);
  }
  if (c.batchSize % 2 !== 0) throw new Error(`vision.batchSize: expected an even number (half refshapes, half reasonshapes scenes), got ${c.batchSize}`);
  if (!(c.optim.lr > 0)) throw new Error(`vision.optim.lr: expected > 0, got ${c.optim.lr}`);
  if (!Number.isInteger(c.heldout.samples) || c.heldout.samples < 0) throw new Error(`vision.heldout.samples: expected an integer ≥ 0, got ${c.heldout.samples}`);
  if (c.heldout.seed === c.dataSeed) throw new Error(`vision.heldout.seed must differ from vision.dataSeed (held-out scenes must not be training scenes)`);
  if (c.model.vision.tower.length === 0) throw new Error('vision pre-training trains the policy\'s patch tower; this policy config has none (vision.tower: [])');
  validatePolicyConfig(c.model);
  return c;
}
