/**
 * The CoPRS model (DESIGN §1, paper §3.1): the policy π_θ, the positional-prior head, and the
 * mini-SAM's prompt encoder and mask decoder, over the frozen mini-SAM image embedding E.
 *
 *   images ─► frozen encoder ─► E [B,h,w,C] (+ colour channel ─► the policy's vision tokens)
 *   policy.generate(prompt) ─► "<think> … </think> <REF_POS>"   (G rollouts per prompt share E)
 *   logProbs(prompt, response).refPosHidden, zero where no <REF_POS> ─► e_conc [N,d]
 *   head(e_conc, E) ─► H_prior logits [N,4h,4w,1]
 *   H_prior, −50 outside the valid region ─► prompt encoder mask_downscaling ─► dense prompt [N,h,w,C]
 *   mask decoder (no sparse prompts, single mask) ─► mask logits [N,4h,4w]
 *
 * Rows are prompt-major (row b·G + g is rollout g of image b), as in `generate`. `run` is the one
 * call from images and queries to responses, priors and masks; training uses the pieces
 * (`encode`, `rollouts`, `score`, `segment`) so that the SEG loss, the GRPO loss and the masks the
 * reward needs come from ONE differentiable forward pass.
 *
 * Parameter names (checkpoints, optimizer groups): `policy.*` (the policy's own names),
 * `sam.imageEncoder.*` (frozen), `sam.promptEncoder.*`, `sam.maskDecoder.*`, `head.*`.
 */
import * as tf from '@tensorflow/tfjs';
import type { RGBImage } from '../../data/sample';
import { Params } from '../../nn/params';
import type { Sam } from '../sam/sam';
import type { PolicyModel } from '../policy/model';
import { generate, type GenerateResult } from '../policy/generate';
import type { LogProbsResult } from '../policy/logprobs';
import { scoreGrouped } from '../policy/grouped-scoring';
import { encodePrompt } from '../policy/prompt';
import { samImageEncoder, type ImageEncoderLike } from '../policy/vision';
import { Rng } from '../../util/rng';
import { HeatmapHead } from './heatmap-head';
import { Linear } from '../../nn/layers';
import { conceptEmbedding } from './e-conc';
import { disposeImageBatch, encodeImages, repeatRows, type ImageBatch } from './images';
import type { CoprsModelConfig } from './config';

/** The trainable parts, as the optimizer groups them (DESIGN §1: ×1, ×25, ×10, ×5). */
export type CoprsPart = 'policy' | 'heatmapHead' | 'promptEncoder' | 'maskDecoder';
export const COPRS_PARTS: readonly CoprsPart[] = ['policy', 'heatmapHead', 'promptEncoder', 'maskDecoder'];

export interface SegmentOutput {
  /** e_conc [N, d] (zeros where the response has no `<REF_POS>`). */
  eConc: tf.Tensor2D;
  /** H_prior logits [N, r, r, 1] as the head gives them (no fill: the losses mask the padding themselves). */
  prior: tf.Tensor4D;
  /** Mask logits [N, r, r] (single-mask output). */
  masks: tf.Tensor3D;
}

export interface RunOptions {
  /** Rollouts per query (default 1). */
  G?: number;
  /** 0 (default) = greedy, as at inference. */
  temperature?: number;
  topP?: number;
  /** Generation cap (default: what maxSeqLen leaves, at most 400). */
  maxTokens?: number;
  /** Sampling seed or generator (default 0). */
  rng?: number | Rng;
}

export interface RunResult {
  generation: GenerateResult;
  /** Prompt ids of each row. */
  prompts: number[][];
  refPosFound: boolean[];
  /** [N, r, r, 1] prior logits and [N, r, r] mask logits (the caller disposes both). */
  prior: tf.Tensor4D;
  masks: tf.Tensor3D;
  /** What preprocessing did to each image (to undo padding and resize to the original size). */
  infos: ImageBatch['infos'];
}

export class CoprsModel {
  /** The head's parameters (names `head.*`). */
  readonly headParams: Params;
  readonly head: HeatmapHead;
  /** The conclusion probe e_conc → vocabulary logits (concept.ts), when `config.conceptProbe`. */
  readonly conceptProbe: Linear | null;

  constructor(readonly policy: PolicyModel, readonly sam: Sam, readonly config: CoprsModelConfig) {
    if (policy.encoder.embedDim !== sam.embedDim || policy.encoder.gridSize !== sam.embedSize) {
      throw new Error(`CoPRS: the policy reads ${policy.encoder.gridSize}×${policy.encoder.gridSize}×${policy.encoder.embedDim} image embeddings, the mini-SAM gives ${sam.embedSize}×${sam.embedSize}×${sam.embedDim}; they must share one frozen encoder`);
    }
    if (config.head.upscale * sam.embedSize !== sam.maskSize) {
      throw new Error(`CoPRS: the prior (${config.head.upscale} × ${sam.embedSize}) must have the mask prompt's resolution ${sam.maskSize}; set head.upscale to ${sam.maskSize / sam.embedSize}`);
    }
    sam.params.setTrainable(false, 'imageEncoder'); // F_enc is frozen
    this.headParams = Params.create(config.seed).scope('head');
    if (config.head.colorKeys && policy.config.vision.pixelPool === 0) throw new Error('CoPRS: head.colorKeys needs the policy\'s pixel side channel (vision.pixelPool > 0), which this policy does not have');
    const { colorKeys, ...headSizes } = config.head;
    this.head = new HeatmapHead(this.headParams, { queryDim: policy.config.dim, embedDim: sam.embedDim + (colorKeys ? 3 : 0), ...headSizes });
    this.conceptProbe = config.conceptProbe ? new Linear(this.headParams.scope('conceptProbe'), policy.config.dim, policy.tokenizer.size) : null;
  }

  /** Side r of the prior and of the mask logits. */
  get maskSize(): number {
    return this.sam.maskSize;
  }

  /** The frozen encoder as the policy sees it (for `PolicyModel.embedImages` and friends). */
  imageEncoder(): ImageEncoderLike {
    return samImageEncoder(this.sam);
  }

  /** Every parameter by its checkpoint name (see the module comment). */
  namedParams(): [string, tf.Variable][] {
    return [
      ...this.policy.params.entries().map(([n, v]) => [`policy.${n}`, v] as [string, tf.Variable]),
      ...this.sam.params.entries().map(([n, v]) => [`sam.${n}`, v] as [string, tf.Variable]),
      ...this.headParams.entries(),
    ];
  }

  /** The trainable parameters of one part, by checkpoint name. */
  partParams(part: CoprsPart): [string, tf.Variable][] {
    const all = this.namedParams().filter(([, v]) => v.trainable);
    switch (part) {
      case 'policy': return all.filter(([n]) => n.startsWith('policy.'));
      case 'heatmapHead': return all.filter(([n]) => n.startsWith('head.'));
      case 'promptEncoder': return all.filter(([n]) => n.startsWith('sam.promptEncoder.'));
      case 'maskDecoder': return all.filter(([n]) => n.startsWith('sam.maskDecoder.'));
      default: {
        const never: never = part;
        throw new Error(`unknown CoPRS part "${never}"`);
      }
    }
  }

  /** Parameter counts per part (the frozen image encoder counted apart). */
  parameterCounts(): Record<CoprsPart | 'imageEncoder' | 'total', number> {
    const count = (xs: [string, tf.Variable][]) => xs.reduce((n, [, v]) => n + v.size, 0);
    const parts = Object.fromEntries(COPRS_PARTS.map((p) => [p, count(this.partParams(p))])) as Record<CoprsPart, number>;
    return { ...parts, imageEncoder: this.sam.params.count('imageEncoder'), total: count(this.namedParams()) };
  }

  /** Encode images once (see images.ts); the caller disposes with `disposeImageBatch`. */
  encode(images: RGBImage[]): ImageBatch {
    return encodeImages(this.sam, images, this.policy.config.vision.pixelPool);
  }

  /** Prompt ids of queries. */
  prompts(queries: string[]): number[][] {
    return queries.map((q) => encodePrompt(this.policy.tokenizer, q, this.policy.imageTokens));
  }

  /** G responses per prompt from the CURRENT policy (no gradient). */
  rollouts(prompts: number[][], batch: ImageBatch, opts: RunOptions & { maxTokens: number }): GenerateResult {
    return generate(this.policy, prompts, batch.policyInput, {
      maxTokens: opts.maxTokens, temperature: opts.temperature ?? 0, topP: opts.topP ?? 1, G: opts.G ?? 1, rng: opts.rng ?? 0,
    });
  }

  /**
   * Teacher-forced log-probabilities and hidden states of the rollouts (differentiable): row i is
   * (prompts[⌊i/G⌋], responses[i]); each prompt and its image run once and the G rows share its
   * states (grouped-scoring.ts).
   * `opts.policy` scores with another policy of the same shape (the frozen reference).
   */
  score(prompts: number[][], responses: number[][], batch: ImageBatch, G: number, opts: { temperature?: number; policy?: PolicyModel } = {}): LogProbsResult {
    const policy = opts.policy ?? this.policy;
    if (responses.length !== prompts.length * G) throw new Error(`CoPRS: ${responses.length} responses for ${prompts.length} prompts × G = ${G}`);
    const vis = policy.visionTokens(batch.policyInput); // B x n_img x d (one per image; the G rows share the prompt's states)
    try {
      return scoreGrouped(policy, prompts, responses, vis, G, { temperature: opts.temperature });
    } finally {
      vis.dispose();
    }
  }

  /** What the head's key projection reads: E [B, h, w, C], or [E, mean colour per cell] [B, h, w, C + 3] with `head.colorKeys`. */
  headKeysInput(batch: ImageBatch): tf.Tensor4D {
    if (!this.config.head.colorKeys) return batch.E;
    return tf.tidy(() => {
      const [B, h, w, C] = batch.E.shape;
      const P = batch.policyInput.shape[3] - C; // pixel channels per cell (k·k·3)
      const pixels = batch.policyInput.slice([0, 0, 0, C], [B, h, w, P]).reshape([B, h, w, P / 3, 3]); // B x h x w x k² x 3
      return tf.concat([batch.E, pixels.mean(3)], -1) as tf.Tensor4D; // B x h x w x (C + 3)
    });
  }

  /**
   * e_conc → prior → mask for N = B·G rows over B images (differentiable). `refPosHidden` [N, d]
   * and `found` come from `score`.
   */
  segment(refPosHidden: tf.Tensor2D, found: readonly boolean[], batch: ImageBatch, G: number): SegmentOutput {
    const B = batch.E.shape[0];
    const N = refPosHidden.shape[0];
    if (N !== B * G) throw new Error(`CoPRS.segment: ${N} rows for ${B} images × G = ${G}`);
    return tf.tidy(() => {
      const eConc = conceptEmbedding(refPosHidden, found); // N x d
      const { prior, masks } = this.priorAndMask(eConc, this.headKeysInput(batch), batch.E, batch.valid, G);
      return { eConc, prior, masks } as unknown as tf.TensorContainer;
    }) as unknown as SegmentOutput;
  }

  /**
   * The part of `segment` after e_conc (differentiable; call inside a tidy or a gradient): e_conc
   * [N, d] over B images' head keys [B, h, w, C'] (`headKeysInput`), embeddings E [B, h, w, C] and
   * valid regions [B, r, r, 1], N = B·G → prior logits [N, r, r, 1] and mask logits [N, r, r].
   * Head pre-training (train/coprs/head-pretrain.ts) calls it on cached rows.
   */
  priorAndMask(eConc: tf.Tensor2D, keys: tf.Tensor4D, E: tf.Tensor4D, validRegion: tf.Tensor4D, G: number): { prior: tf.Tensor4D; masks: tf.Tensor3D } {
    const N = eConc.shape[0];
    const prior = this.head.apply(eConc, repeatRows(keys, G)); // N x r x r x 1
    const valid = repeatRows(validRegion, G); // N x r x r x 1
    const maskPrompt = tf.where(valid.greater(0.5), prior, tf.fill(prior.shape, this.config.outsideFill)); // N x r x r x 1: −50 in the padding
    const dense = this.sam.promptEncoder.embedMasks(maskPrompt); // N x h x w x C
    const C = this.sam.embedDim;
    const dec = this.sam.maskDecoder.apply({
      imageEmbeddings: E,
      imagePe: this.sam.promptEncoder.getDensePe(),
      sparsePromptEmbeddings: tf.zeros([N, 0, C]) as tf.Tensor3D, // no sparse prompts
      densePromptEmbeddings: dense,
      multimaskOutput: false,
      imageIndex: Array.from({ length: N }, (_, i) => Math.floor(i / G)),
    });
    const r = this.maskSize;
    return { prior, masks: dec.masks.reshape([N, r, r]) as tf.Tensor3D }; // N x 1 x r x r -> N x r x r
  }

  /**
   * The one call: images + queries → responses (G per query), prior logits and mask logits.
   * Greedy by default (inference). No gradient is recorded; the caller disposes `prior` and `masks`.
   */
  run(images: RGBImage[], queries: string[], opts: RunOptions = {}): RunResult {
    if (images.length !== queries.length) throw new Error(`CoPRS.run: ${images.length} images but ${queries.length} queries`);
    const G = opts.G ?? 1;
    const prompts = this.prompts(queries);
    const longest = Math.max(...prompts.map((p) => p.length));
    const maxTokens = opts.maxTokens ?? Math.min(400, this.policy.config.maxSeqLen - longest);
    const batch = this.encode(images);
    try {
      const generation = this.rollouts(prompts, batch, { ...opts, G, maxTokens });
      let found: boolean[] = [];
      const out = tf.tidy(() => {
        const lp = this.score(prompts, generation.ids, batch, G);
        found = lp.refPosFound;
        const seg = this.segment(lp.refPosHidden, lp.refPosFound, batch, G);
        return { prior: seg.prior, masks: seg.masks };
      });
      return { generation, prompts: generation.ids.map((_, i) => prompts[Math.floor(i / G)]), refPosFound: found, prior: out.prior, masks: out.masks, infos: batch.infos };
    } finally {
      disposeImageBatch(batch);
    }
  }

  dispose(): void {
    this.policy.dispose();
    this.sam.dispose();
    this.headParams.dispose();
  }
}
