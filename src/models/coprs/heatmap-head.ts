/**
 * The positional-prior head (CoPRS Algorithm 1, in the official code's form):
 *
 *   Q  = Linear_noBias(e_conc)                      [B, n·d_h]   (the concentration query)
 *   K  = Conv1x1_noBias(E)                          [B, h, w, n·d_h]   (image keys from the frozen embedding)
 *   S_i(u, v) = q_i · K_i(u, v) / sqrt(d_h)         [B, h, w, n]   per head, NO softmax
 *   H = Conv3x3(n→n) → SiLU → Conv3x3(n→1, bias initialised to −1.8)      [B, h, w, 1]
 *   H_prior = bilinear ×`upscale` (4: 16×16 → 64×64)                      [B, 4h, 4w, 1] logits
 *
 * The −1.8 bias starts the prior at sigmoid(−1.8) ≈ 0.14 everywhere, a low foreground rate.
 */
import * as tf from '@tensorflow/tfjs';
import { Params, kaimingUniform } from '../../nn/params';
import { Conv2d, Linear, silu } from '../../nn/layers';

export interface HeatmapHeadConfig {
  /** Width of e_conc (the policy's hidden size). */
  queryDim: number;
  /** Channels C of the image embedding. */
  embedDim: number;
  /** Number of heads n (4 in the paper). */
  heads: number;
  /** Per-head dimension d_h. */
  headDim: number;
  /** Bilinear upscaling of the prior (4: the mask-logit resolution). */
  upscale: number;
  /** Initial bias of the last fusion conv. */
  initBias: number;
}

export const DEFAULT_HEATMAP_HEAD: Omit<HeatmapHeadConfig, 'queryDim' | 'embedDim'> = { heads: 4, headDim: 32, upscale: 4, initBias: -1.8 };

export class HeatmapHead {
  readonly queryProj: Linear;
  readonly keyProj: Conv2d;
  readonly fuse1: Conv2d;
  readonly fuse2: Conv2d;

  constructor(p: Params, readonly cfg: HeatmapHeadConfig) {
    const nd = cfg.heads * cfg.headDim;
    this.queryProj = new Linear(p.scope('queryProj'), cfg.queryDim, nd, { bias: false });
    this.keyProj = new Conv2d(p.scope('keyProj'), cfg.embedDim, nd, 1, { bias: false, pad: 'valid' });
    this.fuse1 = new Conv2d(p.scope('fuse.0'), cfg.heads, cfg.heads, 3, { pad: 'same' });
    this.fuse2 = new Conv2d(p.scope('fuse.2'), cfg.heads, 1, 3, { pad: 'same', init: kaimingUniform(cfg.heads * 9) });
    // Bias of the last conv starts at initBias (replace the zero bias created by Conv2d).
    tf.tidy(() => this.fuse2.b!.assign(tf.fill([1], cfg.initBias)));
  }

  /** Per-head scores S before fusion: e_conc [B, queryDim], E [B, h, w, C] → [B, h, w, n]. */
  scores(eConc: tf.Tensor2D, embedding: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { heads: n, headDim: dh } = this.cfg;
      const [B, h, w] = embedding.shape;
      const q = this.queryProj.apply(eConc).reshape([B, 1, 1, n, dh]); // B x 1 x 1 x n x dh
      const k = this.keyProj.apply(embedding).reshape([B, h, w, n, dh]); // B x h x w x n x dh
      return q.mul(k).sum(-1).div(Math.sqrt(dh)) as tf.Tensor4D; // B x h x w x n
    });
  }

  /** The positional prior logits: e_conc [B, queryDim], E [B, h, w, C] → [B, h·s, w·s, 1]. */
  apply(eConc: tf.Tensor2D, embedding: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, h, w] = embedding.shape;
      const s = this.scores(eConc, embedding);
      const fused = this.fuse2.apply(silu(this.fuse1.apply(s)) as tf.Tensor4D); // B x h x w x 1
      return tf.image.resizeBilinear(fused, [h * this.cfg.upscale, w * this.cfg.upscale], false, true); // B x 4h x 4w x 1
    });
  }
}
