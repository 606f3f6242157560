/**
 * Stage-2 (policy cold start) training config: one typed object of plain values, a comment per
 * field, one set per preset; overrides merged with `mergeConfig` (unknown keys and wrong types
 * rejected with the key path); invariants checked when resolved.
 *
 * - tiny: seconds, for tests and CI.
 * - small: the shipped CPU policy (2 cores, wasm).
 * - base: a GPU run.
 */
import { mergeConfig } from '../../config/merge';
import { PRESET_NAMES, type PresetName } from '../../config/preset';
import { POLICY_PRESETS, validatePolicyConfig, type PolicyConfig } from '../../models/policy/config';

export interface SftConfig {
  /** Preset the config started from (tiny, small, base); also the policy's size. */
  preset: PresetName;
  /** The policy's resolved config (`models/policy/config.ts`). */
  model: PolicyConfig;
  /** Seed of the initial weights and of the batch order. */
  seed: number;
  /** Seed of both training streams (refshapes/train, reasonshapes/train; training scenes only). */
  dataSeed: number;
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step. */
  batchSize: number;
  /** Share of reasonshapes-style samples in each batch (the rest refshapes). */
  reasonFraction: number;
  /** Batches drawn together and sorted by length, so each batch pads little (1: off). */
  bucketBatches: number;
  /**
   * Threads that share each batch (data parallelism on CPU: tfjs' wasm backend is single-threaded
   * in Node, so 2 uses both cores of a 2-core machine). 1 on GPU backends.
   */
  workers: number;
  /**
   * Weight of the auxiliary perception loss (perception.ts: each vision token's object colour,
   * shape and size from the scene graph); 0 = off, the plain chain-of-thought cross-entropy.
   */
  auxPerception: number;
  /**
   * Re-spread collapsed word embeddings (respread.ts) at the start of these steps (0-based step
   * counts), for groups whose mean pairwise cosine similarity exceeds `threshold`. [] = never.
   */
  respread: { steps: number[]; threshold: number };
  /**
   * The vision stack's start (`coprs train sft --vision DIR`): `dir` a `coprs train vision`
   * checkpoint (stage 1b, src/train/vision/), or null = trained from scratch here; `lrScale`
   * multiplies the learning rate of the vision.* parameters (0 freezes them).
   */
  visionInit: { dir: string | null; lrScale: number };
  /**
   * Start the whole policy from a stage-2 checkpoint (`coprs train sft --init DIR`): a policy
   * checkpoint folder (a run's best model, or OUT/latest, whose auxiliary perception head is taken
   * too); fresh optimizer, step 0, a new learning-rate schedule (a warm restart). Model config,
   * vocabulary and encoder must equal this run's. null = new weights. Excludes `visionInit`; give a
   * new `dataSeed` so the continuation sees scenes the first run did not.
   */
  policyInit: { dir: string | null };
  /**
   * Share of rows trained with their chain's listing sentence as prompt context and another
   * scene's image (data.ts `splitAtListing`): the steps after the listing must then follow the
   * listed text. 0 = off (whole chains only).
   */
  listingFraction: number;
  /**
   * Lookup drills (lookup-drill.ts): a share `fraction` of rows (disjoint from the listing-context
   * rows) keep their chain up to the listing as context, with another row's image, and are trained
   * on `sentences` filter steps over the listed objects instead of the rest of their chain.
   * 0 = off.
   */
  lookupDrill: { fraction: number; sentences: number };
  optim: {
    /** Peak learning rate. */
    lr: number;
    /** Linear warmup steps. */
    warmup: number;
    /** Final learning rate as a fraction of the peak (cosine decay). */
    minLrFactor: number;
    /** Decoupled weight decay of weight matrices (norms, embeddings, position tables: none). */
    weightDecay: number;
    beta1: number;
    beta2: number;
    /** Global gradient-norm clip (0: off). */
    clipNorm: number;
  };
  heldout: {
    /** Stream seed of the held-out samples (training scenes, a seed the training streams do not use). */
    seed: number;
    /** Held-out samples per dataset (refshapes and reasonshapes), generated greedily for the best metric. */
    samples: number;
    /** Evaluate every this many steps (0: only at the end). */
    every: number;
    /** Generation cap of the held-out evaluation. */
    maxTokens: number;
  };
  /** Write OUT/latest every this many steps (and at the end). */
  checkpointEvery: number;
  /** Write a log line every this many steps. */
  logEvery: number;
}

const OPTIM = { lr: 2e-3, warmup: 100, minLrFactor: 0.05, weightDecay: 0.01, beta1: 0.9, beta2: 0.98, clipNorm: 1 };

export const SFT_PRESETS: Record<PresetName, SftConfig> = {
  tiny: {
    preset: 'tiny', model: POLICY_PRESETS.tiny, seed: 0, dataSeed: 1, steps: 4, batchSize: 4, reasonFraction: 0.5, bucketBatches: 2, workers: 1, auxPerception: 0.3, respread: { steps: [2], threshold: 0.75 }, visionInit: { dir: null, lrScale: 1 }, policyInit: { dir: null }, listingFraction: 0, lookupDrill: { fraction: 0, sentences: 4 },
    optim: { ...OPTIM, warmup: 2 }, heldout: { seed: 7777, samples: 2, every: 0, maxTokens: 24 }, checkpointEvery: 2, logEvery: 1,
  },
  small: {
    preset: 'small', model: POLICY_PRESETS.small, seed: 0, dataSeed: 1, steps: 2000, batchSize: 16, reasonFraction: 0.5, bucketBatches: 4, workers: 2, auxPerception: 0.3, respread: { steps: [550], threshold: 0.75 }, visionInit: { dir: null, lrScale: 1 }, policyInit: { dir: null }, listingFraction: 0, lookupDrill: { fraction: 0, sentences: 4 },
    optim: { ...OPTIM, lr: 3e-3, warmup: 50 }, heldout: { seed: 7777, samples: 16, every: 250, maxTokens: 320 }, checkpointEvery: 50, logEvery: 10,
  },
  base: {
    preset: 'base', model: POLICY_PRESETS.base, seed: 0, dataSeed: 1, steps: 6000, batchSize: 32, reasonFraction: 0.5, bucketBatches: 4, workers: 1, auxPerception: 0.3, respread: { steps: [1500], threshold: 0.75 }, visionInit: { dir: null, lrScale: 1 }, policyInit: { dir: null }, listingFraction: 0, lookupDrill: { fraction: 0, sentences: 4 },
    optim: { ...OPTIM, lr: 1e-3, warmup: 300 }, heldout: { seed: 7777, samples: 64, every: 500, maxTokens: 400 }, checkpointEvery: 250, logEvery: 20,
  },
};

/** A preset with overrides merged in and the invariants checked. */
export function resolveSftConfig(preset: PresetName | string = 'small', overrides?: unknown): SftConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new Error(`train sft: unknown preset "${preset}"; expected one of ${PRESET_NAMES.join(', ')}`);
  const cfg = mergeConfig(SFT_PRESETS[preset as PresetName], overrides, 'sft');
  validateSftConfig(cfg);
  return cfg;
}

export function validateSftConfig(c: SftConfig): void {
  const posInt = (k: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`sft.${k}: expected a positive integer, got ${v}`);
  };
  posInt('steps', c.steps);
  posInt('batchSize', c.batchSize);
  posInt('bucketBatches', c.bucketBatches);
  posInt('checkpointEvery', c.checkpointEvery);
  posInt('logEvery', c.logEvery);
  if (c.workers !== 1 && c.workers !== 2) throw new Error(`sft.workers: expected 1 or 2 (threads sharing each batch), got ${c.workers}`);
  if (!(c.reasonFraction >= 0 && c.reasonFraction <= 1)) throw new Error(`sft.reasonFraction: expected a share in [0, 1], got ${c.reasonFraction}`);
  if (!Array.isArray(c.respread.steps) || c.respread.steps.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`sft.respread.steps: expected a list of step numbers ≥ 0, got ${JSON.stringify(c.respread.steps)}`);
  if (!(c.respread.threshold > 0 && c.respread.threshold < 1)) throw new Error(`sft.respread.threshold: expected a cosine similarity in (0, 1), got ${c.respread.threshold}`);
  if (!(c.visionInit.lrScale >= 0)) throw new Error(`sft.visionInit.lrScale: expected a factor ≥ 0 (0 freezes the vision stack), got ${c.visionInit.lrScale}`);
  if (c.visionInit.dir !== null && (typeof c.visionInit.dir !== 'string' || c.visionInit.dir === '')) throw new Error(`sft.visionInit.dir: expected a checkpoint folder or null, got ${JSON.stringify(c.visionInit.dir)}`);
  if (c.policyInit.dir !== null && (typeof c.policyInit.dir !== 'string' || c.policyInit.dir === '')) throw new Error(`sft.policyInit.dir: expected a policy checkpoint folder or null, got ${JSON.stringify(c.policyInit.dir)}`);
  if (c.policyInit.dir !== null && c.visionInit.dir !== null) throw new Error('sft: policyInit (--init) and visionInit (--vision) exclude each other: a policy checkpoint already holds its vision stack');
  if (!(c.listingFraction >= 0 && c.listingFraction < 1)) throw new Error(`sft.listingFraction: expected a share in [0, 1), got ${c.listingFraction}`);
  if (!(c.lookupDrill.fraction >= 0 && c.lookupDrill.fraction < 1)) throw new Error(`sft.lookupDrill.fraction: expected a share in [0, 1), got ${c.lookupDrill.fraction}`);
  posInt('lookupDrill.sentences', c.lookupDrill.sentences);
  if (!(c.listingFraction + c.lookupDrill.fraction < 1)) throw new Error(`sft: listingFraction (${c.listingFraction}) + lookupDrill.fraction (${c.lookupDrill.fraction}) must stay below 1 so some rows train on whole chains; lower one of them`);
  if (!(c.auxPerception >= 0)) throw new Error(`sft.auxPerception: expected a weight ≥ 0 (0 = off), got ${c.auxPerception}`);
  if (!(c.optim.lr > 0)) throw new Error(`sft.optim.lr: expected > 0, got ${c.optim.lr}`);
  if (!Number.isInteger(c.optim.warmup) || c.optim.warmup < 0) throw new Error(`sft.optim.warmup: expected an integer ≥ 0, got ${c.optim.warmup}`);
  if (!(c.optim.minLrFactor >= 0 && c.optim.minLrFactor <= 1)) throw new Error(`sft.optim.minLrFactor: expected a fraction in [0, 1], got ${c.optim.minLrFactor}`);
  if (!Number.isInteger(c.heldout.samples) || c.heldout.samples < 0) throw new Error(`sft.heldout.samples: expected an integer ≥ 0, got ${c.heldout.samples}`);
  if (!Number.isInteger(c.heldout.every) || c.heldout.every < 0) throw new Error(`sft.heldout.every: expected an integer ≥ 0 (0: only at the end), got ${c.heldout.every}`);
  if (c.heldout.seed === c.dataSeed) throw new Error(`sft.heldout.seed (${c.heldout.seed}) must differ from sft.dataSeed: held-out samples must not be training samples`);
  if (c.model.preset !== c.preset) throw new Error(`sft.model.preset "${c.model.preset}" differs from sft.preset "${c.preset}"; override model sizes, not its preset`);
  validatePolicyConfig(c.model);
}
