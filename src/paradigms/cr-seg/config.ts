/**
 * CR-Seg's training config ("CR-Seg: Attention-Guided and CoT-Enhanced Coarse-to-Refined Reasoning
 * Segmentation", arXiv 2606.03564; ../shared/papers/004_*: the ABSTRACT only). Every value below is
 * THE KIT'S OWN choice (the abstract names the parts, not their settings).
 */
import type { PresetName } from '../../config/preset';
import { paradigmPresetBase, resolveWithOverrides, type ParadigmTrainConfig } from '../types';
import type { PointOptions } from './attention-map';

export interface CrSegTrainConfig extends ParadigmTrainConfig {
  /** Points from the attention map (kit: 2, cells ≥ 0.5 × the maximum, 8-neighbours suppressed). */
  points: PointOptions;
  loss: {
    /** Weight of the text CE on the global-to-local chain of thought and the answer. */
    ceWeight: number;
    /** Weights of the mask BCE and dice (kit: LISA's 2.0 and 0.5). */
    bceWeight: number;
    diceWeight: number;
    /**
     * Weight of the attention-alignment term (kit's addition, 0 = off): cross-entropy of the answer
     * tokens' attention map against the ground-truth mask pooled to the token grid (normalised), so
     * that the map localises the target; without it the map learns only through the dense prompt.
     */
    attnWeight: number;
    /** Count only the unpadded region in BCE and dice. */
    ignorePadding: boolean;
  };
}

function preset(p: PresetName): CrSegTrainConfig {
  const base = paradigmPresetBase(p, 'cr-seg');
  // lr multipliers (the comparison's convention): the map calibration (2 scalars) ×25, mask decoder ×5, policy ×1.
  return {
    ...base,
    maxTokens: p === 'tiny' ? 12 : p === 'small' ? 230 : 350, // the chain of thought + ~10 answer tokens
    optim: { ...base.optim, lrScale: { policy: 1, mapCalib: 25, maskDecoder: 5 } },
    points: { count: 2, minRatio: 0.5, suppress: 1 },
    loss: { ceWeight: 1.0, bceWeight: 2.0, diceWeight: 0.5, attnWeight: 0.5, ignorePadding: true },
  };
}

export const CR_SEG_PRESETS: Record<PresetName, CrSegTrainConfig> = { tiny: preset('tiny'), small: preset('small'), base: preset('base') };

export function validateCrSegConfig(c: CrSegTrainConfig): void {
  const fail = (m: string): never => {
    throw new Error(`cr-seg train config: ${m}`);
  };
  if (!Number.isInteger(c.points.count) || c.points.count < 1) fail(`points.count must be a positive integer, got ${c.points.count}`);
  if (!(c.points.minRatio >= 0 && c.points.minRatio <= 1)) fail(`points.minRatio must be in [0, 1], got ${c.points.minRatio}`);
  if (!Number.isInteger(c.points.suppress) || c.points.suppress < 0) fail(`points.suppress must be an integer ≥ 0 (cells), got ${c.points.suppress}`);
  for (const k of ['ceWeight', 'bceWeight', 'diceWeight', 'attnWeight'] as const) if (!(c.loss[k] >= 0)) fail(`loss.${k} must be ≥ 0, got ${c.loss[k]}`);
  if (c.loss.bceWeight === 0 && c.loss.diceWeight === 0) fail('loss.bceWeight and loss.diceWeight are both 0, so nothing trains the map → mask path; kit: 2.0 and 0.5');
}

export function resolveCrSegConfig(preset: string = 'small', overrides?: unknown): CrSegTrainConfig {
  return resolveWithOverrides(CR_SEG_PRESETS, preset, overrides, validateCrSegConfig);
}
