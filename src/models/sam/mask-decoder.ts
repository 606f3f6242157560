/**
 * SAM's mask decoder (segment-anything `modeling/mask_decoder.py`).
 *
 * Output tokens (`iouToken`, then `numMultimaskOutputs + 1` `maskTokens`) are prepended to the
 * prompt tokens; the image embedding plus the dense prompt goes through the two-way transformer
 * with them. The image side is upscaled 4x (`outputUpscaling`: ConvTranspose2d k2 s2 → LayerNorm2d
 * → GELU → ConvTranspose2d k2 s2 → GELU, C → C/4 → C/8 channels, exactly SAM's), each mask token
 * becomes a C/8 vector through its own hypernetwork MLP (`outputHypernetworksMlps`), and a mask is
 * the dot product of that vector with every upscaled pixel. `iouPredictionHead` reads the IoU token.
 *
 * `multimaskOutput = false` returns the single-mask output (token 0), `true` the other three, as SAM.
 * Shapes: images NHWC; masks are B x M x 4h x 4w logits (M masks per prompt), as SAM's.
 */
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../nn/params';
import { Activation, ConvTranspose2d, Embedding, LayerNorm2d, MLP, activate } from '../../nn/layers';
import { checkShape, tidy } from './common';
import { TwoWayTransformer } from './transformer';

export interface MaskDecoderConfig {
  /** Channel dimension C of the transformer. */
  transformerDim: number;
  /** Masks predicted when disambiguating (SAM: 3); one more token gives the single mask. */
  numMultimaskOutputs?: number;
  /** Activation of the upscaling (SAM: GELU). */
  activation?: Activation;
  /** Depth of the IoU head MLP (SAM: 3). */
  iouHeadDepth?: number;
  /** Hidden size of the IoU head MLP (SAM: 256 at C = 256; the kit: C). */
  iouHeadHiddenDim?: number;
}

export interface MaskDecoderInputs {
  /** B_img x h x w x C, one per image. */
  imageEmbeddings: tf.Tensor4D;
  /** 1 x h x w x C (PromptEncoder.getDensePe()). */
  imagePe: tf.Tensor4D;
  /** N x N_tokens x C, one row per prompt (N_tokens may be 0). */
  sparsePromptEmbeddings: tf.Tensor3D;
  /** N x h x w x C */
  densePromptEmbeddings: tf.Tensor4D;
  /** Return the three disambiguation masks (true) or the single mask (false). */
  multimaskOutput: boolean;
  /**
   * Which image each prompt belongs to (length N). Default: prompt i uses image i when N = B_img,
   * image 0 for all when B_img = 1, else N / B_img consecutive prompts per image (SAM's
   * repeat_interleave).
   */
  imageIndex?: number[];
  /** Also return the token → image attention weights of the two-way transformer. */
  returnAttention?: boolean;
}

export interface MaskDecoderOutput {
  /** N x M x 4h x 4w mask logits (M = 1, or numMultimaskOutputs with multimaskOutput). */
  masks: tf.Tensor4D;
  /** N x M predicted IoU. */
  iouPred: tf.Tensor2D;
  /** Token → image attention, per layer then the final attention: N x heads x N_tokens x hw. Token 0 is the IoU token, 1.. the mask tokens, then the prompt tokens. */
  attention?: tf.Tensor4D[];
}

export class MaskDecoder {
  readonly transformerDim: number;
  readonly numMultimaskOutputs: number;
  readonly numMaskTokens: number;
  readonly iouToken: Embedding;
  readonly maskTokens: Embedding;
  readonly outputUpscaling: { convT1: ConvTranspose2d; norm: LayerNorm2d; convT2: ConvTranspose2d };
  readonly outputHypernetworksMlps: MLP[];
  readonly iouPredictionHead: MLP;
  private readonly act: Activation;

  constructor(readonly params: Params, readonly transformer: TwoWayTransformer, config: MaskDecoderConfig) {
    const p = params;
    const C = config.transformerDim;
    if (C % 8 !== 0) throw new Error(`MaskDecoder: transformerDim must be a multiple of 8 (upscaling to C/8), got ${C}`);
    if (transformer.embeddingDim !== C) throw new Error(`MaskDecoder: transformerDim ${C} differs from the transformer's ${transformer.embeddingDim}`);
    this.transformerDim = C;
    this.numMultimaskOutputs = config.numMultimaskOutputs ?? 3;
    this.numMaskTokens = this.numMultimaskOutputs + 1;
    this.act = config.activation ?? 'gelu';
    this.iouToken = new Embedding(p.scope('iouToken'), 1, C, { kind: 'normal', std: 1 });
    this.maskTokens = new Embedding(p.scope('maskTokens'), this.numMaskTokens, C, { kind: 'normal', std: 1 });
    const up = p.scope('outputUpscaling');
    this.outputUpscaling = {
      convT1: new ConvTranspose2d(up.scope('0'), C, C / 4, 2, 2),
      norm: new LayerNorm2d(up.scope('1'), C / 4),
      convT2: new ConvTranspose2d(up.scope('3'), C / 4, C / 8, 2, 2),
    };
    this.outputHypernetworksMlps = [];
    for (let i = 0; i < this.numMaskTokens; i++) {
      this.outputHypernetworksMlps.push(new MLP(p.scope(`outputHypernetworksMlps.${i}`), [C, C, C, C / 8]));
    }
    const depth = config.iouHeadDepth ?? 3;
    const hidden = config.iouHeadHiddenDim ?? C;
    this.iouPredictionHead = new MLP(p.scope('iouPredictionHead'), [C, ...Array<number>(depth - 1).fill(hidden), this.numMaskTokens]);
  }

  /** Masks and IoU predictions for a batch of prompts (see `MaskDecoderInputs`). */
  apply(inputs: MaskDecoderInputs): MaskDecoderOutput {
    return tidy(() => {
      const all = this.predictMasks(inputs);
      // Select the correct mask or masks for output
      const [start, count] = inputs.multimaskOutput ? [1, this.numMultimaskOutputs] : [0, 1];
      const [n, , hm, wm] = all.masks.shape;
      const out: MaskDecoderOutput = {
        masks: all.masks.slice([0, start, 0, 0], [n, count, hm, wm]), // N x M x 4h x 4w
        iouPred: all.iouPred.slice([0, start], [n, count]), // N x M
      };
      if (all.attention) out.attention = all.attention;
      return out;
    });
  }

  /** Every mask token's mask and IoU (N x (numMultimaskOutputs + 1) x 4h x 4w, N x (…)); see `apply`. */
  predictMasks(inputs: MaskDecoderInputs): MaskDecoderOutput {
    const C = this.transformerDim;
    const { imageEmbeddings, imagePe, sparsePromptEmbeddings: sparse, densePromptEmbeddings: dense } = inputs;
    checkShape(imageEmbeddings, [null, null, null, C], 'MaskDecoder imageEmbeddings (B x h x w x C)');
    const [bImg, h, w] = imageEmbeddings.shape;
    checkShape(sparse, [null, null, C], 'MaskDecoder sparsePromptEmbeddings (N x N_tokens x C)');
    const n = sparse.shape[0];
    checkShape(dense, [n, h, w, C], 'MaskDecoder densePromptEmbeddings (N x h x w x C)');
    checkShape(imagePe, [1, h, w, C], 'MaskDecoder imagePe (1 x h x w x C)');
    const index = resolveImageIndex(inputs.imageIndex, n, bImg);
    return tidy(() => {
      // Concatenate output tokens
      const outputTokens = tf.concat([this.iouToken.table, this.maskTokens.table], 0); // (1 + M) x C
      const outTok = tf.zeros([n, 1 + this.numMaskTokens, C]).add(outputTokens.expandDims(0)); // N x (1 + M) x C (broadcast, not tile: cheaper gradient)
      const tokens = (sparse.shape[1] === 0 ? outTok : tf.concat([outTok, sparse], 1)) as tf.Tensor3D; // N x N_tokens x C

      // Expand per-image data in batch direction to be per-mask
      let src: tf.Tensor;
      if (index == null) src = imageEmbeddings; // N x h x w x C (or 1 x h x w x C, broadcast)
      else if (isRepeatInterleave(index, bImg)) {
        // K consecutive prompts per image: a broadcast (its gradient is a sum; gather's is a scatter)
        const k = n / bImg;
        src = tf.zeros([bImg, k, h * w * C]).add(imageEmbeddings.reshape([bImg, 1, h * w * C])).reshape([n, h, w, C]); // N x h x w x C
      } else src = tf.gather(imageEmbeddings, tf.tensor1d(index, 'int32')); // N x h x w x C
      src = src.add(dense); // N x h x w x C

      // Run the transformer
      const tr = this.transformer.apply(src as tf.Tensor4D, imagePe, tokens, { returnAttention: inputs.returnAttention });
      const hs = tr.queries; // N x N_tokens x C
      const iouTokenOut = hs.slice([0, 0, 0], [n, 1, C]).reshape([n, C]); // N x C
      const maskTokensOut = hs.slice([0, 1, 0], [n, this.numMaskTokens, C]); // N x M x C

      // Upscale mask embeddings and predict masks using the mask tokens
      const srcImg = tr.keys.reshape([n, h, w, C]) as tf.Tensor4D; // N x h x w x C
      const up = this.outputUpscaling;
      let upscaled = up.convT1.apply(srcImg); // N x 2h x 2w x C/4
      upscaled = activate(up.norm.apply(upscaled), this.act) as tf.Tensor4D;
      upscaled = activate(up.convT2.apply(upscaled), this.act) as tf.Tensor4D; // N x 4h x 4w x C/8
      const hyperIn = tf.stack(
        this.outputHypernetworksMlps.map((mlp, i) => mlp.apply(maskTokensOut.slice([0, i, 0], [n, 1, C]).reshape([n, C]))), // N x C/8 each
        1,
      ); // N x M x C/8
      const [, H, W, c8] = upscaled.shape;
      const masks = tf.matMul(hyperIn, upscaled.reshape([n, H * W, c8]), false, true).reshape([n, this.numMaskTokens, H, W]) as tf.Tensor4D; // N x M x 4h x 4w

      // Generate mask quality predictions
      const iouPred = this.iouPredictionHead.apply(iouTokenOut) as tf.Tensor2D; // N x M
      const out: MaskDecoderOutput = { masks, iouPred };
      if (tr.attention) out.attention = tr.attention;
      return out;
    });
  }
}

/** The image of each prompt, or null when no gather is needed (N = B_img, or one image broadcast). */
function resolveImageIndex(index: number[] | undefined, n: number, bImg: number): number[] | null {
  if (index != null) {
    if (index.length !== n) throw new Error(`MaskDecoder imageIndex: expected one image index per prompt (${n}), got ${index.length}`);
    const bad = index.find((i) => !Number.isInteger(i) || i < 0 || i >= bImg);
    if (bad !== undefined) throw new Error(`MaskDecoder imageIndex: ${bad} is not an image of the batch (0..${bImg - 1})`);
    return index;
  }
  if (n === bImg || bImg === 1) return null;
  if (n % bImg !== 0) throw new Error(`MaskDecoder: ${n} prompts for ${bImg} images; pass imageIndex, or give every image the same number of prompts`);
  const per = n / bImg;
  return Array.from({ length: n }, (_, i) => Math.floor(i / per));
}

/** True when index = [0 x K, 1 x K, ..., (B-1) x K] (SAM's repeat_interleave). */
function isRepeatInterleave(index: number[], bImg: number): boolean {
  if (index.length % bImg !== 0) return false;
  const k = index.length / bImg;
  return index.every((v, i) => v === Math.floor(i / k));
}
