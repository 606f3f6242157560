/**
 * Batched matmul for attention, fast on the wasm backend.
 *
 * tfjs-backend-wasm 4.22 runs BatchMatMul through XNNPACK only for a batch of one; a batch > 1
 * (attention's [B·H, T, dh] × [B·H, dh, S]) takes a scalar loop at ~2 GFLOP/s, and splitting the
 * batch into 2-D matmuls costs a full copy of the input per slice (the wasm Slice kernel reads the
 * whole tensor). But a batched matmul IS a depthwise convolution: with the batch as channels g and
 * the contraction axis as the filter's width,
 *
 *   input  [1, m, k, G]   (a[g, i, c] at (i, c, g))
 *   filter [1, k, G, n]   (b[g, c, j] at (0, c, g, j); channel multiplier n)
 *   'valid' depthwise conv → [1, m, 1, G·n] = y[g, i, j] = Σ_c a[g, i, c] · b[g, c, j]
 *
 * which XNNPACK runs as a grouped GEMM (~4× the BatchMatMul kernel here). The gradient is written
 * with the same op (a custom gradient, so the tape holds one node), 3–4× faster forward + backward
 * than `tf.matMul` on these shapes. Other backends, and products too small to gain, use `tf.matMul`.
 */
import * as tf from '@tensorflow/tfjs';

/** Multiply-adds per batch entry from which the depthwise route is taken on wasm. */
const MIN_MACS = 16 * 1024;

/** [G, m, k] (or [G, k, m] with transposeA) × [G, k, n] (or [G, n, k]) → [G, m, n], one depthwise conv. */
function depthwiseMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  return tf.tidy(() => {
    const G = a.shape[0];
    const [m, k] = transposeA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
    const n = transposeB ? b.shape[1] : b.shape[2];
    const x = a.transpose(transposeA ? [2, 1, 0] : [1, 2, 0]).reshape([1, m, k, G]) as tf.Tensor4D; // 1 x m x k x G
    const f = b.transpose(transposeB ? [2, 0, 1] : [1, 0, 2]).reshape([1, k, G, n]) as tf.Tensor4D; // 1 x k x G x n
    const y = tf.depthwiseConv2d(x, f, 1, 'valid'); // 1 x m x 1 x G·n
    return y.reshape([m, G, n]).transpose([1, 0, 2]) as tf.Tensor3D; // G x m x n
  });
}

function depthwiseBmm(transposeA: boolean, transposeB: boolean): (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D {
  return tf.customGrad(((a: tf.Tensor3D, b: tf.Tensor3D, save: tf.GradSaveFunc) => {
    save([a, b]);
    const value = depthwiseMatMul(a, b, transposeA, transposeB);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sa, sb] = saved as tf.Tensor3D[];
      const d = dy as tf.Tensor3D;
      if (!transposeA && !transposeB) return [depthwiseMatMul(d, sb, false, true), depthwiseMatMul(sa, d, true, false)];
      if (!transposeA && transposeB) return [depthwiseMatMul(d, sb, false, false), depthwiseMatMul(d, sa, true, false)];
      if (transposeA && !transposeB) return [depthwiseMatMul(sb, d, false, true), depthwiseMatMul(sa, d, false, false)];
      return [depthwiseMatMul(sb, d, true, true), depthwiseMatMul(d, sa, true, true)];
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
}

const ROUTES = [depthwiseBmm(false, false), depthwiseBmm(false, true), depthwiseBmm(true, false), depthwiseBmm(true, true)];

/**
 * `tf.matMul(a, b, transposeA, transposeB)` over the last two axes for tensors with equal leading
 * axes (rank ≥ 3), through a depthwise convolution on wasm when the product is large enough.
 */
export function batchMatMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (a.rank !== b.rank || a.rank < 3 || a.shape.slice(0, -2).join(',') !== b.shape.slice(0, -2).join(',')) {
    throw new Error(`batchMatMul: expected equal leading axes, got [${a.shape}] and [${b.shape}]`);
  }
  const lead = a.shape.slice(0, -2);
  const G = lead.reduce((x, y) => x * y, 1);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const n = transposeB ? br : bc;
  if (tf.getBackend() !== 'wasm' || G === 1 || m * k * n < MIN_MACS) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    const route = ROUTES[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)];
    return route(a.reshape([G, ar, ac]) as tf.Tensor3D, b.reshape([G, br, bc]) as tf.Tensor3D).reshape([...lead, m, n]);
  });
}
