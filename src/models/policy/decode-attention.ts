/**
 * Attention of ONE new position against the key/value cache (a decode step), for the wasm backend:
 *
 *   s[b,h,σ] = Σ_j q[b,h,0,j] · k[b,h,σ,j]          (broadcast multiply, sum over dh)
 *   p = softmax_σ(s + bias)
 *   o[b,h,j] = Σ_σ p[b,h,σ] · v[b,h,σ,j]            (a batched [1, S] × [S, dh] matmul)
 *
 * A decode step is a matrix-vector product per (b, h). tfjs-backend-wasm runs a batched matmul as
 * one XNNPACK call per batch entry (or a scalar loop) plus a transpose of K for q·Kᵀ: 5.3 ms for
 * both products at B 16, H 4, S 300, dh 32 here. The scores as a broadcast multiply + sum over the
 * last axis take 0.66 ms; the weighted sum of V as a broadcast multiply + sum over S would take
 * 1.05 ms (the reduction transposes first), as a batched matmul with one row 0.60 ms (the kit's
 * BatchMatMul does not split one-row products per batch entry). The products were ~70% of a
 * stage-3 `small` rollout. Plain ops, so gradients and every backend work; `useDecodeAttention` picks it
 * only on wasm, where it wins.
 */
import * as tf from '@tensorflow/tfjs';

/** Whether a step of T new positions takes the broadcast form: wasm, one position. */
export function useDecodeAttention(T: number): boolean {
  return T === 1 && tf.getBackend() === 'wasm';
}

/** q [B,H,1,dh] (scaled), k/v [B,H,S,dh], bias [B|1,1,1,S] → [B,1,H·dh]. */
export function decodeAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, H, T, dh] = q.shape;
    if (T !== 1) throw new Error(`decodeAttention: expected one query position, got q [${q.shape}]`);
    const S = k.shape[2];
    const scores = k.mul(q).sum(-1); // B x H x S
    const p = tf.softmax(scores.add(bias.reshape([bias.shape[0], 1, S]))); // B x H x S
    return tf.matMul(p.expandDims(2), v).reshape([B, 1, H * dh]) as tf.Tensor3D; // B x H x 1 x dh → B x 1 x H·dh
  });
}
