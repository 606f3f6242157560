/**
 * `Sam`: the three submodules, passed in (segment-anything `modeling/sam.py`), plus SAM's pre- and
 * post-processing (normalize + pad to S x S; low-res logits back to the original size).
 *
 *   const sam = buildSam('S');          // or new Sam(imageEncoder, promptEncoder, maskDecoder), see build-sam.ts
 *   const [pred] = await sam.predict(image, [{ box: [10, 12, 40, 44] }]);
 *   pred.masks[0]  // BinaryMask at the image's size (logit >= 0)
 *
 * Lower level (what training and evaluation use, inside `tf.tidy`): `preprocess` → `imageEmbed`
 * (B x h x w x C) → `decode(embeddings, prompts, { masks, multimaskOutput, imageIndex })` →
 * N x M x 64 x 64 logits and N x M IoU predictions.
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, RGBImage } from '../../data/sample';
import { Params } from '../../nn/params';
import { PreprocessInfo, SAM_PIXEL_MEAN, SAM_PIXEL_STD, preprocessImages } from '../../io/preprocess';
import { postprocessLogits } from '../../io/postprocess';
import { binarizeLogits } from '../../metrics/threshold';
import { ImageEncoder } from './image-encoder';
import { PromptEncoder, PromptEmbeddings, PromptInputs } from './prompt-encoder';
import { MaskDecoder, MaskDecoderOutput } from './mask-decoder';
import { SamPrompt, promptTokens, transformPrompt } from './prompts';
import { tidy } from './common';
import type { SamConfig } from './config';

export interface SamOptions {
  /**
   * The model's parameter set (one `Params.create` shared by the three submodules): counts,
   * checkpoints, dispose. Default: the set the submodules' scopes belong to.
   */
  params?: Params;
  /** Per-channel mean and std of the [0, 1] input (default SAM's ImageNet statistics). */
  pixelMean?: [number, number, number];
  pixelStd?: [number, number, number];
  /** The resolved build config (kept for checkpoints and notebooks). */
  config?: SamConfig;
}

export interface DecodeOptions {
  /** B x 64 x 64 x 1 mask logits, one per prompt (dense prompt); none: `noMaskEmbed`. */
  masks?: tf.Tensor;
  /** Three disambiguation masks (true) or the single mask (false, default). */
  multimaskOutput?: boolean;
  /** Image of each prompt (see `MaskDecoderInputs.imageIndex`). */
  imageIndex?: number[];
  /** Also return the token → image attention weights. */
  returnAttention?: boolean;
}

/** One prompt's prediction from `Sam.predict`. */
export interface SamPrediction {
  /** Binary masks at the original image size (logit >= 0), one per output mask. */
  masks: BinaryMask[];
  /** Predicted IoU of each mask. */
  iouPredictions: number[];
  /** The low-resolution logits (M x 64 x 64, row-major), e.g. to feed back as a mask prompt. */
  lowResLogits: Float32Array;
}

export class Sam {
  readonly maskThreshold = 0;
  readonly imageFormat = 'RGB';
  readonly params: Params;
  readonly pixelMean: [number, number, number];
  readonly pixelStd: [number, number, number];
  readonly config: SamConfig | null;

  constructor(readonly imageEncoder: ImageEncoder, readonly promptEncoder: PromptEncoder, readonly maskDecoder: MaskDecoder, opts: SamOptions = {}) {
    const S = imageEncoder.config.imgSize;
    const [H, W] = promptEncoder.inputImageSize;
    if (H !== S || W !== S) throw new Error(`Sam: the prompt encoder's input size ${H}x${W} differs from the image encoder's ${S}x${S}`);
    const [h, w] = promptEncoder.imageEmbeddingSize;
    if (h !== imageEncoder.embedSize || w !== imageEncoder.embedSize) {
      throw new Error(`Sam: the prompt encoder's embedding grid ${h}x${w} differs from the image encoder's ${imageEncoder.embedSize}x${imageEncoder.embedSize}`);
    }
    if (promptEncoder.embedDim !== imageEncoder.config.outChans || maskDecoder.transformerDim !== imageEncoder.config.outChans) {
      throw new Error(`Sam: channel mismatch: image encoder ${imageEncoder.config.outChans}, prompt encoder ${promptEncoder.embedDim}, mask decoder ${maskDecoder.transformerDim}`);
    }
    // A scope lists every variable of its `Params.create` set, so the image encoder's scope is the whole model's set.
    this.params = opts.params ?? imageEncoder.params;
    const total = this.params.entries().length;
    for (const [name, m] of [['prompt encoder', promptEncoder], ['mask decoder', maskDecoder]] as const) {
      const first = m.params.entries(m.params.prefix)[0]?.[0];
      if (first == null || !this.params.has(first) || this.params.get(first) !== m.params.get(first)) throw new Error(`Sam: the ${name}'s parameters are not in the model's parameter set; build the three submodules from scopes of one Params.create (${total} parameters found)`);
    }
    this.pixelMean = opts.pixelMean ?? SAM_PIXEL_MEAN;
    this.pixelStd = opts.pixelStd ?? SAM_PIXEL_STD;
    this.config = opts.config ?? null;
  }

  /** Side S of the padded model input. */
  get imageSize(): number {
    return this.imageEncoder.config.imgSize;
  }

  /** Side of the image embedding grid (S / 8). */
  get embedSize(): number {
    return this.imageEncoder.embedSize;
  }

  /** Side of the mask logits and of the mask prompt (4x the embedding grid). */
  get maskSize(): number {
    return this.promptEncoder.maskInputSize[0];
  }

  /** Channels C of the image embedding. */
  get embedDim(): number {
    return this.promptEncoder.embedDim;
  }

  /** Images (any size) -> normalized, padded B x S x S x 3 and what was done to each. */
  preprocess(images: (RGBImage | tf.Tensor3D)[]): { tensor: tf.Tensor4D; infos: PreprocessInfo[] } {
    return preprocessImages(images, this.imageSize, { normalize: { mean: this.pixelMean, std: this.pixelStd } });
  }

  /** B x S x S x 3 (preprocessed) -> B x h x w x C. */
  imageEmbed(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.imageEncoder.apply(x));
  }

  /** Prompt embeddings of plain prompts (model-input pixels) and optional mask logits. */
  encodePrompts(prompts: SamPrompt[], masks?: tf.Tensor): PromptEmbeddings {
    if (masks && masks.shape[0] !== prompts.length) throw new Error(`Sam: ${prompts.length} prompts but ${masks.shape[0]} mask inputs; give one mask per prompt`);
    const toks = promptTokens(prompts);
    try {
      if (!toks.coords && !masks) return this.emptyPrompts(prompts.length);
      const inputs: PromptInputs = { masks };
      if (toks.coords) inputs.points = { coords: toks.coords, labels: toks.labels };
      return this.promptEncoder.apply(inputs, { pad: false });
    } finally {
      toks.coords?.dispose();
    }
  }

  /** Embeddings of N prompts with no sparse and no dense prompt. */
  private emptyPrompts(n: number): PromptEmbeddings {
    return tidy(() => {
      const { dense } = this.promptEncoder.apply({ masks: undefined }, { pad: false }); // 1 x h x w x C
      return { sparse: tf.zeros([n, 0, this.embedDim]) as tf.Tensor3D, dense: tf.zeros([n, ...dense.shape.slice(1)]).add(dense) as tf.Tensor4D };
    });
  }

  /**
   * Masks for a batch of prompts on precomputed image embeddings. `prompts`: plain prompts in
   * model-input pixels (see `prompts.ts`), or the prompt encoder's tensor inputs (SAM's API).
   * Returns N x M x 64 x 64 logits, N x M IoU predictions (and attention maps on request).
   */
  decode(imageEmbeddings: tf.Tensor4D, prompts: SamPrompt[] | PromptInputs, opts: DecodeOptions = {}): MaskDecoderOutput {
    return tidy(() => {
      const emb = Array.isArray(prompts) ? this.encodePrompts(prompts, opts.masks) : this.promptEncoder.apply({ ...prompts, masks: prompts.masks ?? opts.masks });
      return this.maskDecoder.apply({
        imageEmbeddings,
        imagePe: this.promptEncoder.getDensePe(),
        sparsePromptEmbeddings: emb.sparse,
        densePromptEmbeddings: emb.dense,
        multimaskOutput: opts.multimaskOutput ?? false,
        imageIndex: opts.imageIndex,
        returnAttention: opts.returnAttention,
      });
    });
  }

  /** Low-res logits (r x r) of one prompt -> logits at the original image size (SAM's `postprocess_masks`). */
  postprocessMasks(lowRes: tf.Tensor2D, info: PreprocessInfo): tf.Tensor2D {
    return postprocessLogits(lowRes, info);
  }

  /**
   * Predict masks for one image and several prompts (points and boxes in original-image pixels;
   * a point or box outside the image is an error). `maskInputs`: optional previous low-res logits
   * (N x 64 x 64 x 1). Returns plain values; no tensors are left behind.
   */
  async predict(image: RGBImage, prompts: SamPrompt[], opts: { multimaskOutput?: boolean; maskInputs?: tf.Tensor } = {}): Promise<SamPrediction[]> {
    if (prompts.length === 0) throw new Error('Sam.predict: expected at least one prompt');
    const { tensor, infos } = this.preprocess([image]);
    const info = infos[0];
    const inModel = prompts.map((p, i) => transformPrompt(p, info, `prompt ${i}`));
    const out = tf.tidy(() => {
      const emb = this.imageEmbed(tensor);
      const dec = this.decode(emb, inModel, { masks: opts.maskInputs, multimaskOutput: opts.multimaskOutput });
      const [n, m, r] = dec.masks.shape;
      const full = tf.stack(tf.unstack(dec.masks.reshape([n * m, r, r])).map((l) => binarizeLogits(this.postprocessMasks(l as tf.Tensor2D, info)))); // N*M x H x W
      return { low: dec.masks, iou: dec.iouPred, full };
    });
    tensor.dispose();
    const [low, iou, full] = await Promise.all([out.low.data(), out.iou.data(), out.full.data()]);
    const [n, m, r] = out.low.shape;
    tf.dispose(out);
    const px = info.origH * info.origW;
    return Array.from({ length: n }, (_, i) => ({
      masks: Array.from({ length: m }, (_, j) => ({ width: info.origW, height: info.origH, data: Uint8Array.from(full.subarray((i * m + j) * px, (i * m + j + 1) * px)) })),
      iouPredictions: Array.from(iou.subarray(i * m, (i + 1) * m)),
      lowResLogits: Float32Array.from(low.subarray(i * m * r * r, (i + 1) * m * r * r)),
    }));
  }

  /** Parameter counts per submodule (trainable and fixed alike). */
  parameterCounts(): { imageEncoder: number; promptEncoder: number; maskDecoder: number; total: number } {
    return {
      imageEncoder: this.params.count('imageEncoder'),
      promptEncoder: this.params.count('promptEncoder'),
      maskDecoder: this.params.count('maskDecoder'),
      total: this.params.count(),
    };
  }

  /** Dispose every variable of the model. */
  dispose(): void {
    this.params.dispose();
  }
}
