/**
 * LISA's training config (Lai et al., "LISA: Reasoning Segmentation via Large Language Model",
 * CVPR 2024; official code dvlab-research/LISA): the shared paradigm fields (types.ts, the matched
 * budget) plus LISA's loss weights and what the response says before `[SEG]`.
 */
import type { PresetName } from '../../config/preset';
import { paradigmPresetBase, resolveWithOverrides, type ParadigmTrainConfig } from '../types';

export const LISA_RESPONSES = ['short', 'cot'] as const;
/**
 * What precedes `[SEG]` in the supervised target (kit's choice, LISA's answers are templates):
 * 'short' = LISA's answer template "It is [SEG]." (default); 'cot' = the ground-truth chain of
 * thought, then "It is [SEG]." (LISA's ReasonSeg answers may carry an explanation before [SEG]).
 */
export type LisaResponse = (typeof LISA_RESPONSES)[number];

export interface LisaTrainConfig extends ParadigmTrainConfig {
  /** Text before `[SEG]` (see `LisaResponse`). */
  response: LisaResponse;
  loss: {
    /** Weight of the text cross-entropy (LISA: ce_loss_weight 1.0). */
    ceWeight: number;
    /** Weight of the per-pixel BCE on the mask (LISA: bce_loss_weight 2.0). */
    bceWeight: number;
    /** Weight of the dice loss on the mask (LISA: dice_loss_weight 0.5). */
    diceWeight: number;
    /**
     * Count only the unpadded region in BCE and dice (kit's choice, as CoPRS's `ignorePadding`: LISA
     * computes its mask losses at the label's original size, i.e. after removing the padding; the
     * kit computes them on the 64 × 64 low-res logits against the soft target, over the valid region).
     */
    ignorePadding: boolean;
  };
}

const LOSS = { ceWeight: 1.0, bceWeight: 2.0, diceWeight: 0.5, ignorePadding: true };

function preset(p: PresetName): LisaTrainConfig {
  const base = paradigmPresetBase(p, 'lisa');
  // lr multipliers (kit's choice, the CoPRS stage-3 convention for the comparison): the new MLP like
  // CoPRS's new heatmap head (×25), the mask decoder ×5, the policy ×1. LISA itself trains LoRA + the
  // MLP + the mask decoder with one learning rate (3e-4); the kit fine-tunes the whole tiny policy.
  return { ...base, optim: { ...base.optim, lrScale: { policy: 1, textHiddenFcs: 25, maskDecoder: 5 } }, response: 'short', loss: { ...LOSS } };
}

export const LISA_PRESETS: Record<PresetName, LisaTrainConfig> = { tiny: preset('tiny'), small: preset('small'), base: preset('base') };

export function validateLisaConfig(c: LisaTrainConfig): void {
  if (!(LISA_RESPONSES as readonly string[]).includes(c.response)) throw new Error(`lisa train config: response must be one of ${LISA_RESPONSES.join(', ')}, got "${c.response}"`);
  for (const k of ['ceWeight', 'bceWeight', 'diceWeight'] as const) if (!(c.loss[k] >= 0)) throw new Error(`lisa train config: loss.${k} must be ≥ 0, got ${c.loss[k]}`);
  if (c.loss.bceWeight === 0 && c.loss.diceWeight === 0) throw new Error('lisa train config: loss.bceWeight and loss.diceWeight are both 0, so nothing trains the [SEG] → mask path; give one a positive weight (LISA: 2.0 and 0.5)');
}

export function resolveLisaConfig(preset: string = 'small', overrides?: unknown): LisaTrainConfig {
  return resolveWithOverrides(LISA_PRESETS, preset, overrides, validateLisaConfig);
}
