/**
 * softmax(q·kᵀ + bias)·v for the wasm backend, as one op with a hand-written gradient.
 *
 * On wasm, a batched matmul is fastest as a depthwise convolution (bmm.ts), whose natural layouts
 * put the batch (g = b·h) in the channel axis. This op keeps the score tensor — the only large one,
 * B·H·T·S values — in the layout the convolution produces, [T, G, S], and orders every product so
 * that only three full passes over it are transposes (one forward, two backward) instead of about
 * ten with `batchMatMul` around standard ops:
 *
 *   forward   scores = dw(Q as [1,T,dh,G], K as [1,dh,G,S])          → [T,G,S]
 *             P = softmax(scores + bias)                              (over S)
 *             O = dw(P as [1,T,S,G] (transpose), V as [1,S,G,dh])     → [T,G,dh]
 *   backward  dP = dw(dO as [1,T,dh,G], V as [1,dh,G,S])              → [T,G,S]
 *             dV = dw(P as [1,S,T,G] (transpose), dO as [1,T,G,dh])   → [S,G,dh]
 *             dZ = P ⊙ (dP − Σ_s dP ⊙ P)
 *             dQ = dw(dZ as [1,T,S,G] (transpose), K as [1,S,G,dh])   → [T,G,dh]
 *             dK = dw(Q as [1,dh,T,G], dZ as [1,T,G,S])               → [dh,G,S]
 *
 * where dw(x, f) is a 'valid' depthwise conv2d (a grouped GEMM in XNNPACK). Equal to the plain
 * attention up to float rounding (tested against it, values and gradients).
 */
import * as tf from '@tensorflow/tfjs';

const dw = (x: tf.Tensor, f: tf.Tensor): tf.Tensor => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid');

/**
 * q [B,H,T,dh] (scaled), k and v [B,H,S,dh], bias [B,1,T,S] (additive, constant) → [B,T,H·dh].
 */
export function attentionCore(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, dh] = q.shape;
  const S = k.shape[2];
  const G = B * H;
  return tf.tidy(() => {
    const Qi = q.reshape([G, T, dh]).transpose([1, 2, 0]).reshape([1, T, dh, G]); // 1 x T x dh x G
    const Kf = k.reshape([G, S, dh]).transpose([2, 0, 1]).reshape([1, dh, G, S]); // 1 x dh x G x S
    const Vf = v.reshape([G, S, dh]).transpose([1, 0, 2]).reshape([1, S, G, dh]); // 1 x S x G x dh
    const biasT = bias.reshape([B, T, S]).transpose([1, 0, 2]).reshape([T, B, 1, S]); // T x B x 1 x S
    const core = tf.customGrad(((qi: tf.Tensor, kf: tf.Tensor, vf: tf.Tensor, save: tf.GradSaveFunc) => {
      const z = dw(qi, kf).reshape([T, B, H, S]).add(biasT); // T x B x H x S
      const p = tf.softmax(z).reshape([T, G, S]); // T x G x S
      const pi = p.transpose([0, 2, 1]).reshape([1, T, S, G]); // 1 x T x S x G
      const o = dw(pi, vf).reshape([T, G, dh]); // T x G x dh
      save([qi, kf, vf, p, pi]);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
        const [sq, sk, sv, sp, spi] = saved;
        const dO = dy.reshape([T, G, dh]);
        const dP = dw(dO.transpose([0, 2, 1]).reshape([1, T, dh, G]), sv.reshape([S, G, dh]).transpose([2, 1, 0]).reshape([1, dh, G, S])).reshape([T, G, S]);
        const dV = dw(spi.reshape([T, S, G]).transpose([1, 0, 2]).reshape([1, S, T, G]), dO.reshape([1, T, G, dh])); // 1 x S x 1 x G·dh
        const dZ = sp.mul(dP.sub(dP.mul(sp).sum(-1, true))); // T x G x S
        const dQ = dw(dZ.transpose([0, 2, 1]).reshape([1, T, S, G]), sk.reshape([dh, G, S]).transpose([2, 1, 0]).reshape([1, S, G, dh])); // 1 x T x 1 x G·dh
        const dK = dw(sq.reshape([T, dh, G]).transpose([1, 0, 2]).reshape([1, dh, T, G]), dZ.reshape([1, T, G, S])); // 1 x dh x 1 x G·S
        return [
          dQ.reshape([T, G, dh]).transpose([0, 2, 1]).reshape([1, T, dh, G]),
          dK.reshape([1, dh, G, S]),
          dV.reshape([1, S, G, dh]),
        ];
      };
      return { value: o, gradFunc };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;
    const o = core(Qi, Kf, Vf); // T x G x dh
    return o.reshape([T, B, H * dh]).transpose([1, 0, 2]) as tf.Tensor3D; // B x T x d
  });
}

/** Whether `attentionCore` pays off: wasm, and enough work per batch entry. */
export function useAttentionCore(B: number, H: number, T: number, S: number, dh: number): boolean {
  return tf.getBackend() === 'wasm' && T > 1 && T * S * dh >= 16 * 1024 && B * H > 1;
}
