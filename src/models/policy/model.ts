/**
 * The policy π_θ: a tiny vision-language model. Vision tokens from the frozen mini-SAM embedding
 * (vision.ts) take the place of the prompt's `<image>` block; a decoder-only transformer
 * (transformer.ts) reads them with the instruction and the query and writes
 * `<think> … </think> <REF_POS>`. The LM head is a separate Linear in every preset
 * (`tieEmbeddings: false`; see config.ts for why), or the token embedding itself (logits = h · Eᵀ,
 * as in Qwen2.5 ≤ 3B) with `tieEmbeddings: true`.
 *
 * Parameters live in one `Params` store under `vision.*`, `embed.*`, `decoder.*` (and `lmHead.*`
 * when untied), so checkpoints, optimizer groups and parameter counts read them by prefix.
 */
import * as tf from '@tensorflow/tfjs';
import { Params, normal } from '../../nn/params';
import { Embedding, Linear, matMulT } from '../../nn/layers';
import { resolvePolicyConfig, type PolicyConfig } from './config';
import { Tokenizer } from './tokenizer';
import { Decoder, MASKED, disposeCache, type KVCache } from './transformer';
import { VisionProjector, embedImages, type ImageEncoderLike } from './vision';
import type { RGBImage } from '../../data/sample';
import { biasParts, type SeqBatch } from './batch';

/** What the policy needs to know about its frozen image encoder. */
export interface EncoderShape {
  embedDim: number;
  gridSize: number;
}

export interface ForwardOptions {
  /** Keys/values of earlier positions (not disposed here). */
  cache?: KVCache;
  /** Return the extended cache (the caller disposes it). */
  returnCache?: boolean;
  /** Validity of every key column so far, B × S (required with a cache; default: the batch's own). */
  keyValid?: Uint8Array;
  /** Also return the last layer's attention probabilities [B, H, L, S] (CR-Seg's attention maps; default off). */
  returnAttention?: boolean;
}

export class PolicyModel {
  readonly params: Params;
  readonly vision: VisionProjector;
  readonly embed: Embedding;
  readonly decoder: Decoder;
  readonly lmHead: Linear | null;
  /** N: vision tokens per image (the size of the prompt's image block). */
  readonly imageTokens: number;

  constructor(readonly config: PolicyConfig, readonly tokenizer: Tokenizer, readonly encoder: EncoderShape, seed = 0) {
    this.params = Params.create(seed);
    this.vision = new VisionProjector(this.params.scope('vision'), config, encoder.embedDim, encoder.gridSize);
    this.embed = new Embedding(this.params.scope('embed'), tokenizer.size, config.dim, normal(config.initStd));
    this.decoder = new Decoder(this.params.scope('decoder'), config);
    this.lmHead = config.tieEmbeddings ? null : new Linear(this.params.scope('lmHead'), config.dim, tokenizer.size, { bias: false, init: normal(config.initStd) });
    this.imageTokens = this.vision.tokens;
  }

  /** A model of a preset (with overrides) and the kit's frozen vocabulary. */
  static create(preset: string, encoder: EncoderShape, opts: { seed?: number; overrides?: unknown; tokenizer?: Tokenizer } = {}): PolicyModel {
    return new PolicyModel(resolvePolicyConfig(preset, opts.overrides), opts.tokenizer ?? Tokenizer.default(), encoder, opts.seed ?? 0);
  }

  /** Number of parameters (optionally under a prefix: 'vision', 'embed', 'decoder', 'lmHead'). */
  paramCount(prefix = ''): number {
    return this.params.count(prefix);
  }

  /**
   * The policy's image input [B, g, g, C + P] of images: the frozen encoder's embedding plus the
   * colour side channel (vision.ts). Computed outside any gradient; the caller disposes it.
   */
  embedImages(encoder: ImageEncoderLike, images: RGBImage[]): tf.Tensor4D {
    if (encoder.embedDim !== this.encoder.embedDim || encoder.gridSize !== this.encoder.gridSize) {
      throw new Error(`policy: the encoder gives ${encoder.gridSize}×${encoder.gridSize}×${encoder.embedDim} embeddings, the policy expects ${this.encoder.gridSize}×${this.encoder.gridSize}×${this.encoder.embedDim}`);
    }
    return embedImages(encoder, images, { pixelPool: this.config.vision.pixelPool, imageSize: this.config.vision.imageSize });
  }

  /** Image input [B, g, g, C + P] (`embedImages`) → vision tokens [B, N, d]. */
  visionTokens(embedding: tf.Tensor4D): tf.Tensor3D {
    return this.vision.apply(embedding);
  }

  /** Token embeddings [B, L, d] of a batch; with `vis` [B, N, d] the image block is replaced by it. */
  embedBatch(batch: SeqBatch, vis: tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const { B, L, imageTokens: N } = batch;
      if (vis == null || N === 0) {
        return this.embed.apply(tf.tensor2d(batch.ids, [B, L], 'int32')) as tf.Tensor3D;
      }
      if (vis.shape[0] !== B || vis.shape[1] !== N) throw new Error(`policy: vision tokens [${vis.shape}] do not fit a batch of ${B} rows with ${N} image tokens`);
      const text = new Int32Array(B * (L - N));
      for (let b = 0; b < B; b++) {
        text[b * (L - N)] = batch.ids[b * L];
        text.set(batch.ids.subarray(b * L + 1 + N, (b + 1) * L), b * (L - N) + 1);
      }
      const e = this.embed.apply(tf.tensor2d(text, [B, L - N], 'int32')); // B x (L-N) x d
      const head = e.slice([0, 0, 0], [B, 1, -1]); // B x 1 x d (<bos>)
      const tail = e.slice([0, 1, 0], [B, L - N - 1, -1]); // B x (L-1-N) x d
      return tf.concat([head, vis, tail], 1) as tf.Tensor3D; // B x L x d
    });
  }

  /**
   * Run the decoder on a packed batch (all columns are new; `opts.cache` holds earlier ones).
   * Returns the last-layer hidden states [B, L, d] (after the final RMSNorm) and, with
   * `returnCache`, the extended cache; with `returnAttention`, the last layer's attention
   * probabilities [B, H, L, S].
   */
  forward(batch: SeqBatch, vis: tf.Tensor3D | null, opts: ForwardOptions = {}): { hidden: tf.Tensor3D; cache: KVCache; attention?: tf.Tensor4D } {
    const { B, L } = batch;
    const offset = opts.cache && opts.cache.length > 0 ? opts.cache[0].k.shape[2] : 0;
    const S = offset + L;
    const keyValid = opts.keyValid ?? (offset === 0 ? batch.valid : null);
    if (!keyValid || keyValid.length !== B * S) throw new Error(`policy.forward: keyValid must hold B × S = ${B} × ${S} values (cache ${offset} + ${L} new)`);
    const maxPos = batch.positions.reduce((m, p) => Math.max(m, p), 0);
    if (maxPos >= this.config.maxSeqLen) throw new Error(`policy: position ${maxPos} exceeds maxSeqLen ${this.config.maxSeqLen}; shorten the prompt/response or raise policy.maxSeqLen`);
    return tf.tidy(() => {
      const x = this.embedBatch(batch, vis);
      const parts = biasParts(keyValid, B, S, L, offset, MASKED);
      const bias = tf.tensor4d(parts.causal, [1, 1, L, S]).add(tf.tensor4d(parts.pad, [B, 1, 1, S])) as tf.Tensor4D;
      const positions = tf.tensor2d(batch.positions, [B, L], 'int32');
      const out = this.decoder.apply(x, positions, bias, opts.cache, { returnCache: opts.returnCache, returnAttention: opts.returnAttention });
      return out as unknown as tf.TensorContainer;
    }) as unknown as { hidden: tf.Tensor3D; cache: KVCache; attention?: tf.Tensor4D };
  }

  /** Hidden states [..., d] → logits [..., V]. */
  logits(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = hidden.shape.slice(0, -1);
      const h = hidden.reshape([-1, this.config.dim]);
      const z = this.lmHead ? this.lmHead.apply(h) : matMulT(h, this.embed.table);
      return z.reshape([...lead, this.tokenizer.size]);
    });
  }

  dispose(): void {
    this.decoder.dispose();
    this.params.dispose();
  }
}

export { disposeCache };
