/**
 * CoReS's token refiner (paper Eq. 3–4):
 *
 *   ĥ¹ = R(β(h¹), F_v(I), m⁰) = β(h¹) + CA(β(h¹), MAP(F_v(I), m⁰))
 *
 * - MAP, masked average pooling: the prototype of the image features under the first-level mask,
 *   p = Σ_ij w_ij · E_ij / Σ_ij w_ij (0 where the mask is empty).
 * - The weights w (kit's choice; the paper does not say how m⁰ is turned into pooling weights): the
 *   SOFT first mask σ(m⁰) (so the chain stays differentiable), times the valid (unpadded) region,
 *   average-pooled from the mask resolution r × r to the embedding grid h × w (r / h = 4).
 * - CA, cross-attention (SAM's multi-head Attention, q/k/v/out projections): the query is the
 *   projected [SEG] token, the keys and values the prototype. With ONE prototype the softmax over
 *   keys is exactly 1, so CA(h, p) = out(v(p)) — the paper's formula taken literally (a single
 *   prototype); the module stays a cross-attention so that more prototypes would be a change of input.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../../nn/params';
import { Attention } from '../../models/sam/transformer';

/** Masked average pooling: features [N, h, w, C], weights [N, h, w] (≥ 0) → prototypes [N, C]. */
export function maskedAveragePool(features: tf.Tensor4D, weights: tf.Tensor3D, eps = 1e-6): tf.Tensor2D {
  const [N, h, w, C] = features.shape;
  if (weights.rank !== 3 || weights.shape[0] !== N || weights.shape[1] !== h || weights.shape[2] !== w) {
    throw new Error(`maskedAveragePool: weights [${weights.shape}] must be [N, h, w] = [${N}, ${h}, ${w}] to match features [${features.shape}]`);
  }
  return tf.tidy(() => {
    const wv = weights.reshape([N, h * w, 1]); // N x h x w -> N x hw x 1
    const f = features.reshape([N, h * w, C]); // N x h x w x C -> N x hw x C
    const num = f.mul(wv).sum(1); // N x C
    const den = wv.sum(1).maximum(eps); // N x 1
    return num.div(den) as tf.Tensor2D;
  });
}

/**
 * Pooling weights on the h × w grid from first-level mask logits [N, r, r]: σ(m⁰) · valid,
 * average-pooled by r / h. `valid` [N, r, r] (1 inside the unpadded image) is optional.
 */
export function poolingWeights(maskLogits: tf.Tensor3D, grid: number, valid?: tf.Tensor3D): tf.Tensor3D {
  const [N, r, r2] = maskLogits.shape;
  if (r !== r2 || r % grid !== 0) throw new Error(`poolingWeights: mask logits [${maskLogits.shape}] must be square with a side divisible by the grid ${grid}`);
  return tf.tidy(() => {
    let p = tf.sigmoid(maskLogits); // N x r x r
    if (valid) p = p.mul(valid);
    const k = r / grid;
    return tf.avgPool(p.reshape([N, r, r, 1]) as tf.Tensor4D, k, k, 'valid').reshape([N, grid, grid]) as tf.Tensor3D; // N x r x r x 1 -> N x g x g x 1 -> N x g x g
  });
}

/** R(h, E, m) = h + CA(h, MAP(E, m)). */
export class TokenRefiner {
  readonly crossAttn: Attention;

  constructor(p: Params, readonly dim: number, heads: number) {
    if (dim % heads !== 0) throw new Error(`TokenRefiner: heads ${heads} must divide the token size ${dim}`);
    this.crossAttn = new Attention(p.scope('crossAttn'), dim, heads);
  }

  /** Tokens [N, C], features [N, h, w, C], pooling weights [N, h, w] → refined tokens [N, C]. */
  apply(tokens: tf.Tensor2D, features: tf.Tensor4D, weights: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [N, C] = tokens.shape;
      if (C !== this.dim) throw new Error(`TokenRefiner: tokens have size ${C}, the refiner ${this.dim}`);
      const proto = maskedAveragePool(features, weights).reshape([N, 1, C]); // N x C -> N x 1 x C
      const q = tokens.reshape([N, 1, C]); // N x C -> N x 1 x C
      const ca = this.crossAttn.apply(q, proto, proto).out; // N x 1 x C
      return tokens.add(ca.reshape([N, C])) as tf.Tensor2D; // N x 1 x C -> N x C
    });
  }
}
