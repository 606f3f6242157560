/**
 * The mini-SAM sizes as typed configs of plain values (one comment per field). Every size takes a
 * 128 x 128 input (DESIGN §2: SAM's 1024 scaled down by 8) and gives a 16 x 16 x C embedding,
 * C = 64 / 96 / 128 (the analog of SAM's ViT-B/L/H for the encoder-size ablation); the decoder is
 * SAM's at width C: two-way transformer depth 2, 4 heads, MLP 4C, attention downsample 2, 3 + 1
 * mask tokens, 64 x 64 mask logits.
 */
import { mergeConfig } from '../../config/merge';

export const SAM_SIZE_NAMES = ['S', 'M', 'L'] as const;
export type SamSize = (typeof SAM_SIZE_NAMES)[number];

export interface SamConfig {
  /** Size name (S, M, L). */
  size: string;
  /** Side S of the padded square input (128: SAM's 1024 / 8). */
  imageSize: number;
  /** Channels C of the image embedding, the prompt tokens and the decoder. */
  embedDim: number;
  encoder: {
    /** Stride-2 stem convolution channels (two of them + the patch embedding: stride 8, 128 -> 16). */
    stemChans: number[];
    /** Transformer width of the encoder. */
    width: number;
    /** Encoder transformer blocks. */
    depth: number;
    /** Encoder attention heads. */
    numHeads: number;
    /** Encoder MLP hidden size / width. */
    mlpRatio: number;
  };
  promptEncoder: {
    /** Hidden channels of the mask path (SAM: 16). */
    maskInChans: number;
  };
  decoder: {
    /** Two-way transformer depth (SAM: 2). */
    depth: number;
    /** Heads (SAM: 8; the kit: 4). */
    numHeads: number;
    /** Token MLP hidden size / C (SAM: 2048 / 256 = 8; the kit: 4). */
    mlpRatio: number;
    /** Cross-attention internal-dimension divisor (SAM: 2). */
    attentionDownsampleRate: number;
    /** Disambiguation masks (SAM: 3). */
    numMultimaskOutputs: number;
    /** IoU head depth (SAM: 3). */
    iouHeadDepth: number;
    /** IoU head hidden size (SAM: 256 = C; the kit: C). */
    iouHeadHiddenDim: number;
  };
}

const decoder = (C: number): SamConfig['decoder'] => ({
  depth: 2, numHeads: 4, mlpRatio: 4, attentionDownsampleRate: 2, numMultimaskOutputs: 3, iouHeadDepth: 3, iouHeadHiddenDim: C,
});

/** The three sizes. */
export const SAM_SIZES: Record<SamSize, SamConfig> = {
  S: { size: 'S', imageSize: 128, embedDim: 64, encoder: { stemChans: [16, 32], width: 64, depth: 4, numHeads: 2, mlpRatio: 4 }, promptEncoder: { maskInChans: 16 }, decoder: decoder(64) },
  M: { size: 'M', imageSize: 128, embedDim: 96, encoder: { stemChans: [24, 48], width: 96, depth: 4, numHeads: 3, mlpRatio: 4 }, promptEncoder: { maskInChans: 16 }, decoder: decoder(96) },
  L: { size: 'L', imageSize: 128, embedDim: 128, encoder: { stemChans: [32, 64], width: 128, depth: 6, numHeads: 4, mlpRatio: 4 }, promptEncoder: { maskInChans: 16 }, decoder: decoder(128) },
};

/** Parse a size name; unknown names throw naming the valid ones. */
export function parseSamSize(value: unknown): SamSize {
  const v = String(value ?? '').trim().toUpperCase();
  if ((SAM_SIZE_NAMES as readonly string[]).includes(v)) return v as SamSize;
  throw new Error(`unknown mini-SAM size "${value}": expected one of ${SAM_SIZE_NAMES.join(', ')}`);
}

/** The resolved config of a size with overrides merged in (unknown keys rejected). */
export function resolveSamConfig(size: SamSize, overrides?: unknown): SamConfig {
  return mergeConfig(SAM_SIZES[size], overrides, `sam.${size}`);
}
