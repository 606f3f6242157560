/**
 * The CoPRS model's own sizes (the policy and the mini-SAM bring theirs): the positional-prior head
 * and the fill of the prior outside the valid region. Plain values, one comment per field.
 */
import { mergeConfig } from '../../config/merge';
import { DEFAULT_HEATMAP_HEAD } from './heatmap-head';

export interface CoprsModelConfig {
  head: {
    /** Heads n of the prior (4 in the paper). */
    heads: number;
    /** Per-head dimension d_h. */
    headDim: number;
    /** Bilinear upscaling of the prior: 4 = the mask-prompt / mask-logit resolution (64 x 64 over a 16 x 16 embedding). */
    upscale: number;
    /** Initial bias of the last fusion conv (−1.8: sigmoid ≈ 0.14 everywhere at the start). */
    initBias: number;
    /**
     * Departure, off by default (false = the paper's K = Conv1x1(E)): the keys also read each
     * embedding cell's mean colour (3 channels from the policy's pixel side channel), K =
     * Conv1x1([E, colour]). The mini-SAM embedding carries little colour; with an oracle query the
     * head picks the target over another object in 0.887 of refshapes val scenes from E and 0.969
     * from [E, colour] (tools/head-oracle.ts).
     */
    colorKeys: boolean;
  };
  /** Logit written into the prior outside the valid (unpadded) region before it enters the prompt encoder (−50). */
  outsideFill: number;
  /** Seed of the head's initial weights. */
  seed: number;
  /**
   * Departure, off by default (false = the paper): a linear probe from e_conc to the words of the
   * response's concluding sentence (concept.ts), trained by the stage-3 `concept.weight`. Its
   * parameters are `head.conceptProbe.*`; it does not enter the prior.
   */
  conceptProbe: boolean;
}

export const DEFAULT_COPRS_MODEL: CoprsModelConfig = {
  head: { heads: DEFAULT_HEATMAP_HEAD.heads, headDim: DEFAULT_HEATMAP_HEAD.headDim, upscale: DEFAULT_HEATMAP_HEAD.upscale, initBias: DEFAULT_HEATMAP_HEAD.initBias, colorKeys: false },
  outsideFill: -50,
  seed: 0,
  conceptProbe: false,
};

/** Defaults with overrides merged in (unknown keys rejected) and checked. */
export function resolveCoprsModelConfig(overrides?: unknown): CoprsModelConfig {
  const c = mergeConfig(DEFAULT_COPRS_MODEL, overrides, 'coprs.model');
  for (const [k, v] of [['head.heads', c.head.heads], ['head.headDim', c.head.headDim], ['head.upscale', c.head.upscale]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`coprs.model.${k}: expected a positive integer, got ${v}`);
  }
  if (!(c.outsideFill <= -10)) throw new Error(`coprs.model.outsideFill: expected a strongly negative logit (≤ −10; the paper uses −50), got ${c.outsideFill}`);
  return c;
}
