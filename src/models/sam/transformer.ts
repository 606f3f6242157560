/**
 * The two-way transformer of SAM's mask decoder (segment-anything `modeling/transformer.py`).
 *
 * Prompt tokens (queries) and image positions (keys) attend to each other in every layer:
 *   1. self-attention of the tokens (the first layer skips the positional encoding of the tokens),
 *   2. cross-attention token → image,
 *   3. MLP on the tokens,
 *   4. cross-attention image → token (the image embedding is updated by the prompts),
 * each followed by a LayerNorm; then a final token → image attention and LayerNorm.
 * Cross-attention works in a smaller internal dimension (`attentionDownsampleRate`, 2 as in SAM).
 *
 * Layout: the image embedding is NHWC, flattened to B x HW x C for attention. Optional attention
 * maps (`returnAttention`) hold the softmax weights of every token → image attention, per layer
 * and head, for notebooks.
 */
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../nn/params';
import { Activation, LayerNorm, Linear } from '../../nn/layers';
import { MLPBlock, checkShape, scaledDotProductAttention, tidy } from './common';

/** Output of `Attention.apply`: the result and, when asked, the attention weights. */
export interface AttentionOutput {
  /** B x Nq x C */
  out: tf.Tensor3D;
  /** B x heads x Nq x Nk (softmax weights), only with `returnWeights`. */
  weights?: tf.Tensor4D;
}

/** SAM's `Attention`: multi-head attention with a downscaled internal dimension after projection. */
export class Attention {
  readonly internalDim: number;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;

  constructor(p: Params, readonly embeddingDim: number, readonly numHeads: number, readonly downsampleRate = 1) {
    this.internalDim = Math.floor(embeddingDim / downsampleRate);
    if (this.internalDim % numHeads !== 0) {
      throw new Error(`Attention: numHeads ${numHeads} must divide the internal dimension ${this.internalDim} (embeddingDim ${embeddingDim} / downsampleRate ${downsampleRate})`);
    }
    this.qProj = new Linear(p.scope('qProj'), embeddingDim, this.internalDim);
    this.kProj = new Linear(p.scope('kProj'), embeddingDim, this.internalDim);
    this.vProj = new Linear(p.scope('vProj'), embeddingDim, this.internalDim);
    this.outProj = new Linear(p.scope('outProj'), this.internalDim, embeddingDim);
  }

  /** B x N x C -> B x heads x N x C/heads */
  private separateHeads(x: tf.Tensor): tf.Tensor4D {
    const [b, n, c] = x.shape;
    return x.reshape([b, n, this.numHeads, c / this.numHeads]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // B x heads x N x C_per_head
  }

  /** B x heads x N x C_per_head -> B x N x C */
  private recombineHeads(x: tf.Tensor): tf.Tensor3D {
    const [b, h, n, c] = x.shape;
    return x.transpose([0, 2, 1, 3]).reshape([b, n, h * c]) as tf.Tensor3D; // B x N x C
  }

  /** q: B x Nq x C, k and v: B x Nk x C -> B x Nq x C. */
  apply(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: { returnWeights?: boolean } = {}): AttentionOutput {
    return tf.tidy(() => {
      const qh = this.separateHeads(this.qProj.apply(q)); // B x heads x Nq x c
      const kh = this.separateHeads(this.kProj.apply(k)); // B x heads x Nk x c
      const vh = this.separateHeads(this.vProj.apply(v)); // B x heads x Nk x c
      const a = scaledDotProductAttention(qh, kh, vh, { returnWeights: opts.returnWeights }); // softmax(q·kᵀ / sqrt(c))·v
      const out = this.outProj.apply(this.recombineHeads(a.out)) as tf.Tensor3D; // B x Nq x C
      return a.weights ? { out, weights: a.weights as tf.Tensor4D } : { out }; // weights: B x heads x Nq x Nk
    });
  }
}

/** What one block and the whole transformer return. */
export interface TwoWayOutput {
  /** Processed tokens, B x N_tokens x C. */
  queries: tf.Tensor3D;
  /** Processed image positions, B x HW x C. */
  keys: tf.Tensor3D;
  /** Token → image attention weights (B x heads x N_tokens x HW), one per layer and the final attention; only with `returnAttention`. */
  attention?: tf.Tensor4D[];
}

/** SAM's `TwoWayAttentionBlock`. */
export class TwoWayAttentionBlock {
  readonly selfAttn: Attention;
  readonly norm1: LayerNorm;
  readonly crossAttnTokenToImage: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: MLPBlock;
  readonly norm3: LayerNorm;
  readonly norm4: LayerNorm;
  readonly crossAttnImageToToken: Attention;

  constructor(
    p: Params,
    readonly embeddingDim: number,
    numHeads: number,
    mlpDim: number,
    activation: Activation = 'relu',
    attentionDownsampleRate = 2,
    readonly skipFirstLayerPe = false,
  ) {
    this.selfAttn = new Attention(p.scope('selfAttn'), embeddingDim, numHeads);
    this.norm1 = new LayerNorm(p.scope('norm1'), embeddingDim);
    this.crossAttnTokenToImage = new Attention(p.scope('crossAttnTokenToImage'), embeddingDim, numHeads, attentionDownsampleRate);
    this.norm2 = new LayerNorm(p.scope('norm2'), embeddingDim);
    this.mlp = new MLPBlock(p.scope('mlp'), embeddingDim, mlpDim, activation);
    this.norm3 = new LayerNorm(p.scope('norm3'), embeddingDim);
    this.norm4 = new LayerNorm(p.scope('norm4'), embeddingDim);
    this.crossAttnImageToToken = new Attention(p.scope('crossAttnImageToToken'), embeddingDim, numHeads, attentionDownsampleRate);
  }

  /**
   * queries: B x N_tokens x C, keys: B x HW x C, queryPe: B x N_tokens x C, keyPe: B x HW x C (or
   * 1 x HW x C, broadcast). Returns the updated queries and keys.
   */
  apply(queries: tf.Tensor, keys: tf.Tensor, queryPe: tf.Tensor, keyPe: tf.Tensor, opts: { returnAttention?: boolean } = {}): TwoWayOutput {
    return tidy(() => {
      // Self attention block
      let q: tf.Tensor;
      if (this.skipFirstLayerPe) {
        queries = this.selfAttn.apply(queries, queries, queries).out; // B x N_tokens x C
      } else {
        q = queries.add(queryPe);
        queries = queries.add(this.selfAttn.apply(q, q, queries).out);
      }
      queries = this.norm1.apply(queries);

      // Cross attention block, tokens attending to image embedding
      q = queries.add(queryPe);
      let k = keys.add(keyPe); // B x HW x C
      const t2i = this.crossAttnTokenToImage.apply(q, k, keys, { returnWeights: opts.returnAttention });
      queries = this.norm2.apply(queries.add(t2i.out));

      // MLP block
      queries = this.norm3.apply(queries.add(this.mlp.apply(queries)));

      // Cross attention block, image embedding attending to tokens
      q = queries.add(queryPe);
      k = keys.add(keyPe);
      const i2t = this.crossAttnImageToToken.apply(k, q, queries).out; // B x HW x C
      keys = this.norm4.apply(keys.add(i2t));

      const out: TwoWayOutput = { queries: queries as tf.Tensor3D, keys: keys as tf.Tensor3D };
      if (t2i.weights) out.attention = [t2i.weights];
      return out;
    });
  }
}

export interface TwoWayTransformerConfig {
  /** Number of two-way blocks (SAM: 2). */
  depth: number;
  /** Channel dimension C of tokens and image embedding. */
  embeddingDim: number;
  /** Attention heads (SAM: 8; the kit: 4). */
  numHeads: number;
  /** Hidden size of the token MLP (SAM: 2048 at C = 256; the kit: 4C). */
  mlpDim: number;
  /** Token MLP activation (SAM: ReLU). */
  activation?: Activation;
  /** Internal dimension divisor of the cross-attentions (SAM: 2). */
  attentionDownsampleRate?: number;
}

/** SAM's `TwoWayTransformer`. */
export class TwoWayTransformer {
  readonly layers: TwoWayAttentionBlock[];
  readonly finalAttnTokenToImage: Attention;
  readonly normFinalAttn: LayerNorm;
  readonly embeddingDim: number;

  constructor(p: Params, readonly config: TwoWayTransformerConfig) {
    const { depth, embeddingDim, numHeads, mlpDim } = config;
    const rate = config.attentionDownsampleRate ?? 2;
    this.embeddingDim = embeddingDim;
    this.layers = [];
    for (let i = 0; i < depth; i++) {
      this.layers.push(new TwoWayAttentionBlock(p.scope(`layers.${i}`), embeddingDim, numHeads, mlpDim, config.activation ?? 'relu', rate, i === 0));
    }
    this.finalAttnTokenToImage = new Attention(p.scope('finalAttnTokenToImage'), embeddingDim, numHeads, rate);
    this.normFinalAttn = new LayerNorm(p.scope('normFinalAttn'), embeddingDim);
  }

  /**
   * imageEmbedding: B x h x w x C; imagePe: B x h x w x C or 1 x h x w x C; pointEmbedding:
   * B x N_tokens x C. Returns the processed tokens (B x N_tokens x C) and image positions
   * (B x HW x C), and with `returnAttention` the token → image weights of each layer and of the
   * final attention (depth + 1 tensors, B x heads x N_tokens x HW).
   */
  apply(imageEmbedding: tf.Tensor4D, imagePe: tf.Tensor4D, pointEmbedding: tf.Tensor3D, opts: { returnAttention?: boolean } = {}): TwoWayOutput {
    const C = this.embeddingDim;
    checkShape(imageEmbedding, [null, null, null, C], 'TwoWayTransformer imageEmbedding (B x h x w x C)');
    checkShape(pointEmbedding, [imageEmbedding.shape[0], null, C], 'TwoWayTransformer pointEmbedding (B x N_tokens x C)');
    checkShape(imagePe, [null, imageEmbedding.shape[1], imageEmbedding.shape[2], C], 'TwoWayTransformer imagePe (1 x h x w x C)');
    return tidy(() => {
      const [b, h, w] = imageEmbedding.shape;
      const keys0 = imageEmbedding.reshape([b, h * w, C]); // B x HW x C
      const keyPe = imagePe.reshape([imagePe.shape[0], h * w, C]); // B x HW x C (or 1 x HW x C)
      let queries: tf.Tensor = pointEmbedding; // B x N_tokens x C
      let keys: tf.Tensor = keys0;
      const attention: tf.Tensor4D[] = [];
      for (const layer of this.layers) {
        const o = layer.apply(queries, keys, pointEmbedding, keyPe, opts);
        queries = o.queries;
        keys = o.keys;
        if (o.attention) attention.push(...o.attention);
      }
      // Final attention layer from the points to the image
      const q = queries.add(pointEmbedding);
      const k = keys.add(keyPe);
      const fin = this.finalAttnTokenToImage.apply(q, k, keys, { returnWeights: opts.returnAttention });
      queries = this.normFinalAttn.apply(queries.add(fin.out)); // B x N_tokens x C
      const out: TwoWayOutput = { queries: queries as tf.Tensor3D, keys: keys as tf.Tensor3D };
      if (opts.returnAttention && fin.weights) out.attention = [...attention, fin.weights];
      return out;
    });
  }
}
