/**
 * The policy's config (nanoGPT style: one typed object of plain values, a comment per field) and its
 * presets. `tiny` runs the tests in seconds, `small` is the shipped CPU policy, `base` is for a GPU.
 * Overrides merge through `mergeConfig` (unknown keys rejected); invariants are checked here, with
 * errors that say what to change.
 */
import { mergeConfig } from '../../config/merge';
import { PRESET_NAMES, type PresetName } from '../../config/preset';

export interface PolicyConfig {
  /** Preset the config started from (recorded in checkpoints as their size). */
  preset: PresetName;
  /** Model width d. */
  dim: number;
  /** Decoder layers. */
  layers: number;
  /** Attention heads (dim must be divisible by heads; head size must be even for RoPE). */
  heads: number;
  /** Hidden size of the SwiGLU MLP. */
  mlpHidden: number;
  /** RMSNorm epsilon. */
  normEps: number;
  /** RoPE base frequency θ. */
  ropeTheta: number;
  /** Longest sequence (prompt + response) the RoPE table and the generator allow. */
  maxSeqLen: number;
  /**
   * Tie the LM head to the token embedding (logits = h · Eᵀ), as Qwen2.5 ≤ 3B does. The presets
   * keep them apart: trained from scratch, a tied table collapses the embeddings of words the model
   * cannot predict yet (the seven shape nouns ended 0.97 cosine-similar after 700 steps), and then
   * it cannot even copy them from its context.
   */
  tieEmbeddings: boolean;
  /** Std of the normal init of embeddings and linear weights (output projections are scaled by 1/sqrt(2·layers)). */
  initStd: number;
  vision: {
    /** Side of the vision-token grid after pooling the encoder's grid (16 → 8: 64 tokens). */
    tokenGrid: number;
    /**
     * How a pool window becomes one token: 'concat' stacks the window's features (Qwen2.5-VL's
     * 2×2 patch merger: window² · C inputs), 'avg' averages them (C inputs).
     */
    pool: 'concat' | 'avg';
    /** Hidden width of the projector MLP (Linear → GELU → Linear to dim), LLaVA-1.5 style. */
    projectorHidden: number;
    /**
     * Colour side channel: the encoder's (normalized) input image, average-pooled by this factor and
     * stacked onto each embedding cell (8×8 px cells, pool 4 → 2×2 px × RGB = 12 values per cell);
     * 0 = off. The mini-SAM embedding is nearly colour-blind (segmentation needs boundaries, not
     * hue: a probe reads an object's colour from it 42% of the time, 95% with this channel).
     */
    pixelPool: number;
    /**
     * Widths of the policy's own patch tower (tower.ts): stride-2 3×3 convolutions from the image
     * down to the token grid (log2(imageSize / tokenGrid) of them), whose features join each
     * token's pooled SAM features. [] = no tower. The tower reads the full-resolution image, so it
     * needs `pixelPool` 1 (the image input then carries every pixel, regrouped per cell).
     */
    tower: number[];
    /** Residual 3×3 convolutions of the tower at the token grid (they widen its receptive field). */
    towerBlocks: number;
    /** Side S of the encoder's input (the kit's SAM input convention: 128). */
    imageSize: number;
  };
}

const VISION = { tokenGrid: 8, pool: 'concat' as const, projectorHidden: 0, pixelPool: 1, tower: [24, 48, 64, 96], towerBlocks: 2, imageSize: 128 };

/** Per-preset sizes. projectorHidden 0 means "= dim". */
export const POLICY_PRESETS: Record<PresetName, PolicyConfig> = {
  tiny: { preset: 'tiny', dim: 32, layers: 2, heads: 2, mlpHidden: 64, normEps: 1e-6, ropeTheta: 10000, maxSeqLen: 512, tieEmbeddings: false, initStd: 0.02, vision: { ...VISION, tokenGrid: 4, projectorHidden: 32, tower: [4, 8, 8, 16, 16], towerBlocks: 1 } },
  small: { preset: 'small', dim: 128, layers: 4, heads: 4, mlpHidden: 352, normEps: 1e-6, ropeTheta: 10000, maxSeqLen: 512, tieEmbeddings: false, initStd: 0.02, vision: { ...VISION, projectorHidden: 128 } },
  base: { preset: 'base', dim: 256, layers: 6, heads: 8, mlpHidden: 704, normEps: 1e-6, ropeTheta: 10000, maxSeqLen: 1024, tieEmbeddings: false, initStd: 0.02, vision: { ...VISION, projectorHidden: 256 } },
};

/** A preset with overrides merged in and the invariants checked. */
export function resolvePolicyConfig(preset: PresetName | string = 'small', overrides?: unknown): PolicyConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new Error(`policy: unknown preset "${preset}"; expected one of ${PRESET_NAMES.join(', ')}`);
  const cfg = mergeConfig(POLICY_PRESETS[preset as PresetName], overrides, 'policy');
  validatePolicyConfig(cfg);
  return cfg;
}

export function validatePolicyConfig(c: PolicyConfig): void {
  const posInt = (k: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`policy.${k}: expected a positive integer, got ${v}`);
  };
  posInt('dim', c.dim);
  posInt('layers', c.layers);
  posInt('heads', c.heads);
  posInt('mlpHidden', c.mlpHidden);
  posInt('maxSeqLen', c.maxSeqLen);
  posInt('vision.tokenGrid', c.vision.tokenGrid);
  if (c.dim % c.heads !== 0) throw new Error(`policy.dim (${c.dim}) must be divisible by policy.heads (${c.heads}); change one of them`);
  if ((c.dim / c.heads) % 2 !== 0) throw new Error(`policy: head size dim/heads = ${c.dim / c.heads} must be even for RoPE; change dim or heads`);
  if (c.vision.pool !== 'concat' && c.vision.pool !== 'avg') throw new Error(`policy.vision.pool: expected "concat" or "avg", got "${c.vision.pool}"`);
  if (!Number.isInteger(c.vision.projectorHidden) || c.vision.projectorHidden < 0) throw new Error(`policy.vision.projectorHidden: expected an integer ≥ 0 (0 = dim), got ${c.vision.projectorHidden}`);
  if (!Number.isInteger(c.vision.pixelPool) || c.vision.pixelPool < 0) throw new Error(`policy.vision.pixelPool: expected an integer ≥ 0 (0 = no colour channel), got ${c.vision.pixelPool}`);
  posInt('vision.imageSize', c.vision.imageSize);
  if (!Array.isArray(c.vision.tower) || c.vision.tower.some((w) => !Number.isInteger(w) || w <= 0)) throw new Error(`policy.vision.tower: expected a list of positive channel widths ([] = no tower), got ${JSON.stringify(c.vision.tower)}`);
  if (!Number.isInteger(c.vision.towerBlocks) || c.vision.towerBlocks < 0) throw new Error(`policy.vision.towerBlocks: expected an integer ≥ 0, got ${c.vision.towerBlocks}`);
  if (c.vision.tower.length > 0) {
    const stages = Math.log2(c.vision.imageSize / c.vision.tokenGrid);
    if (c.vision.tower.length !== stages) throw new Error(`policy.vision.tower: ${c.vision.imageSize} → ${c.vision.tokenGrid} takes ${stages} stride-2 stages; got ${c.vision.tower.length} widths (${JSON.stringify(c.vision.tower)})`);
    if (c.vision.pixelPool !== 1) throw new Error(`policy.vision.tower reads the full-resolution image: set policy.vision.pixelPool to 1 (got ${c.vision.pixelPool}), or tower to [] for no tower`);
  }
  if (!(c.ropeTheta > 0)) throw new Error(`policy.ropeTheta: expected > 0, got ${c.ropeTheta}`);
  if (!(c.normEps > 0)) throw new Error(`policy.normEps: expected > 0, got ${c.normEps}`);
  if (!(c.initStd > 0)) throw new Error(`policy.initStd: expected > 0, got ${c.initStd}`);
}
