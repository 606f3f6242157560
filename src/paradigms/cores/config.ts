/**
 * CoReS's training config (Bao et al., "CoReS: Orchestrating the Dance of Reasoning and
 * Segmentation", ECCV 2024; ../shared/papers/002_*): the shared paradigm fields (types.ts, the
 * matched budget) plus the paper's loss weights, the in-context library and the refiner's heads.
 */
import type { PresetName } from '../../config/preset';
import { paradigmPresetBase, resolveWithOverrides, type ParadigmTrainConfig } from '../types';

export interface CoresTrainConfig extends ParadigmTrainConfig {
  loss: {
    /** λ_R, weight of the chain-of-reasoning text CE (paper Eq. 7: 0.5). */
    reasonWeight: number;
    /** λ_S, weight of the chain-of-segmenting mask loss (paper Eq. 7: 0.5). */
    segWeight: number;
    /** λ_d, dice weight inside L_CoS (paper Eq. 6: 0.5). */
    diceWeight: number;
    /** λ_c, per-pixel BCE weight inside L_CoS (paper Eq. 6: 2.0). */
    bceWeight: number;
    /** Count only the unpadded region in BCE and dice (kit's choice, as LISA's and CoPRS's `ignorePadding`). */
    ignorePadding: boolean;
  };
  inContext: {
    /** Exemplars placed before the user query (paper Tab. 4: 1 is best; 0 = none). */
    count: number;
    /**
     * Size of the text library (kit's choice; the paper's is ChatGPT-written and unpublished). Built
     * from refshapes TRAINING-stream scenes only (library.ts), never from a frozen split.
     */
    librarySize: number;
    /** Seed of the refshapes training stream the library is read from (kit's choice: not the training stream's own seed). */
    librarySeed: number;
  };
  refiner: {
    /** Heads of the refiner's cross-attention CA(h, MAP(E, m⁰)) (kit's choice; divides the mini-SAM's C). */
    heads: number;
  };
}

const LOSS = { reasonWeight: 0.5, segWeight: 0.5, diceWeight: 0.5, bceWeight: 2.0, ignorePadding: true };

function preset(p: PresetName): CoresTrainConfig {
  const base = paradigmPresetBase(p, 'cores');
  // lr multipliers (kit's choice, the convention LISA uses in the comparison): CoReS's new modules
  // (β, the token refiner) ×25, the mask decoder ×5, the policy ×1. CoReS trains LoRA + β + the mask
  // decoder with one learning rate; the kit fine-tunes the whole tiny policy.
  return {
    ...base,
    optim: { ...base.optim, lrScale: { policy: 1, beta: 25, refiner: 25, maskDecoder: 5 } },
    loss: { ...LOSS },
    inContext: { count: 1, librarySize: p === 'tiny' ? 8 : 64, librarySeed: 20240917 },
    refiner: { heads: p === 'tiny' ? 2 : 4 },
  };
}

export const CORES_PRESETS: Record<PresetName, CoresTrainConfig> = { tiny: preset('tiny'), small: preset('small'), base: preset('base') };

export function validateCoresConfig(c: CoresTrainConfig): void {
  const fail = (m: string): never => {
    throw new Error(`cores train config: ${m}`);
  };
  for (const k of ['reasonWeight', 'segWeight', 'diceWeight', 'bceWeight'] as const) if (!(c.loss[k] >= 0)) fail(`loss.${k} must be ≥ 0, got ${c.loss[k]}`);
  if (c.loss.segWeight === 0 || (c.loss.diceWeight === 0 && c.loss.bceWeight === 0)) fail('the mask loss has weight 0 (loss.segWeight, or both loss.diceWeight and loss.bceWeight), so nothing trains the [LOC]/[SEG] → mask chain; CoReS: 0.5 and 0.5 / 2.0');
  const ic = c.inContext;
  if (!Number.isInteger(ic.count) || ic.count < 0) fail(`inContext.count must be an integer ≥ 0, got ${ic.count}`);
  if (!Number.isInteger(ic.librarySize) || ic.librarySize < 1) fail(`inContext.librarySize must be a positive integer, got ${ic.librarySize}`);
  if (ic.count > ic.librarySize) fail(`inContext.count (${ic.count}) exceeds inContext.librarySize (${ic.librarySize}); exemplars are drawn without repetition`);
  if (!Number.isInteger(ic.librarySeed) || ic.librarySeed < 0) fail(`inContext.librarySeed must be a non-negative integer, got ${ic.librarySeed}`);
  if (!Number.isInteger(c.refiner.heads) || c.refiner.heads < 1) fail(`refiner.heads must be a positive integer, got ${c.refiner.heads}`);
}

export function resolveCoresConfig(preset: string = 'small', overrides?: unknown): CoresTrainConfig {
  return resolveWithOverrides(CORES_PRESETS, preset, overrides, validateCoresConfig);
}
