/**
 * RSVP's training config (Lu et al., "RSVP: Reasoning Segmentation via Visual Prompting and
 * Multi-modal Chain-of-Thought", ACL 2025; ../shared/papers/003_*, a summary: no code, no grid or
 * VLSM details). Every value below not named in the summary is THE KIT'S OWN and says so.
 */
import type { PresetName } from '../../config/preset';
import { paradigmPresetBase, resolveWithOverrides, type ParadigmTrainConfig } from '../types';
import type { GridSpec } from './grid';

export interface RsvpTrainConfig extends ParadigmTrainConfig {
  /** The visual-prompt grid (kit's choice: 8 × 8 strips, 16 px on 128-px images; grid.ts). */
  grid: GridSpec;
  /** Box padding around the named strips, as a fraction of the image's longest side (kit: 0.03 ≈ 4 px at 128). */
  padding: number;
  /** Cut the VLSM's mask to the proposal box (logits −50 outside; kit's choice: the "crop"). */
  cropOutput: boolean;
  loss: {
    /** Weight of the policy's text CE (kit's choice; RSVP does not train its MLLM, see model.ts). */
    ceWeight: number;
    /** Weights of the VLSM's per-pixel BCE and dice (RSVP: "cross-entropy and Dice", weights unpublished; kit: LISA's 2.0 and 0.5). */
    bceWeight: number;
    diceWeight: number;
    /** Count only the unpadded region in BCE and dice (kit's choice, as the other paradigms). */
    ignorePadding: boolean;
  };
}

function preset(p: PresetName): RsvpTrainConfig {
  const base = paradigmPresetBase(p, 'rsvp');
  // lr multipliers (kit's choice, the comparison's convention): the new VLSM ×25, the mask decoder ×5, the policy ×1.
  return {
    ...base,
    maxTokens: p === 'tiny' ? 12 : p === 'small' ? 230 : 350, // the chain of thought + ~20 answer tokens
    optim: { ...base.optim, lrScale: { policy: 1, vlsm: 25, maskDecoder: 5 } },
    grid: { rows: 8, cols: 8 },
    padding: 0.03,
    cropOutput: true,
    loss: { ceWeight: 1.0, bceWeight: 2.0, diceWeight: 0.5, ignorePadding: true },
  };
}

export const RSVP_PRESETS: Record<PresetName, RsvpTrainConfig> = { tiny: preset('tiny'), small: preset('small'), base: preset('base') };

export function validateRsvpConfig(c: RsvpTrainConfig): void {
  const fail = (m: string): never => {
    throw new Error(`rsvp train config: ${m}`);
  };
  for (const k of ['rows', 'cols'] as const) if (!Number.isInteger(c.grid[k]) || c.grid[k] < 1 || c.grid[k] > 32) fail(`grid.${k} must be an integer in 1..32, got ${c.grid[k]}`);
  if (!(c.padding >= 0 && c.padding < 0.5)) fail(`padding must be in [0, 0.5) (a fraction of the longest side), got ${c.padding}`);
  if (typeof c.cropOutput !== 'boolean') fail(`cropOutput must be true or false, got ${JSON.stringify(c.cropOutput)}`);
  for (const k of ['ceWeight', 'bceWeight', 'diceWeight'] as const) if (!(c.loss[k] >= 0)) fail(`loss.${k} must be ≥ 0, got ${c.loss[k]}`);
  if (c.loss.ceWeight === 0) fail('loss.ceWeight is 0, so the policy never learns to name strips; give it a positive weight (kit: 1.0)');
  if (c.loss.bceWeight === 0 && c.loss.diceWeight === 0) fail('loss.bceWeight and loss.diceWeight are both 0, so nothing trains the VLSM; kit: 2.0 and 0.5');
}

export function resolveRsvpConfig(preset: string = 'small', overrides?: unknown): RsvpTrainConfig {
  return resolveWithOverrides(RSVP_PRESETS, preset, overrides, validateRsvpConfig);
}
