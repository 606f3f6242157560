/**
 * Bilinear resizing of tensors, with the two behaviours SAM relies on:
 *
 * - `resizeBilinear` = PyTorch `F.interpolate(mode='bilinear', align_corners=False)` without
 *   antialiasing (what SAM's `postprocess_masks` uses). tfjs `tf.image.resizeBilinear` with
 *   `halfPixelCenters = true` computes exactly this: source coordinate (i + 0.5) / scale - 0.5,
 *   clamped at the borders.
 * - `resizeBilinearAntialias` = the same with `antialias=True` (SAM's `apply_image_torch`, and
 *   PIL's bilinear filter): when shrinking, the triangle filter is stretched by the shrink factor so
 *   every input pixel contributes (no aliasing). Written as two small weight matrices applied with
 *   `tf.matMul` (rows then columns), so it runs on any backend. When enlarging it equals
 *   `resizeBilinear`.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The [outSize, inSize] matrix of antialiased bilinear weights along one axis (PyTorch
 * `_compute_indices_min_size_weights_aa` / PIL `precompute_coeffs` with the triangle filter).
 * Each row sums to 1.
 */
export function antialiasWeights(inSize: number, outSize: number): Float32Array {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1; // interp_size/2 * max(scale, 1), interp_size = 2
  const invScale = scale >= 1 ? 1 / scale : 1;
  const w = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    const row = new Float64Array(Math.max(xmax - xmin, 0));
    for (let j = xmin; j < xmax; j++) {
      const d = Math.abs((j - center + 0.5) * invScale);
      const v = d < 1 ? 1 - d : 0;
      row[j - xmin] = v;
      total += v;
    }
    for (let j = xmin; j < xmax; j++) w[i * inSize + j] = total > 0 ? row[j - xmin] / total : 0;
  }
  return w;
}

/** Bilinear resize (half-pixel centers, no antialias) of [H, W], [H, W, C] or [B, H, W, C]. */
export function resizeBilinear<T extends tf.Tensor2D | tf.Tensor3D | tf.Tensor4D>(x: T, outH: number, outW: number): T {
  return tf.tidy(() => {
    const hAxis = x.rank === 4 ? 1 : 0;
    if (x.shape[hAxis] === outH && x.shape[hAxis + 1] === outW) return x.clone();
    if (x.rank === 2) {
      const [h, w] = x.shape;
      const x3 = x.reshape([h, w, 1]) as tf.Tensor3D; // [H, W, 1]
      return tf.image.resizeBilinear(x3, [outH, outW], false, true).reshape([outH, outW]); // [outH, outW]
    }
    return tf.image.resizeBilinear(x as tf.Tensor3D | tf.Tensor4D, [outH, outW], false, true);
  }) as T;
}

/**
 * Antialiased bilinear resize of [H, W] or [H, W, C] (float). Use it to shrink images and masks;
 * when no axis shrinks it falls back to `resizeBilinear` (identical result, cheaper).
 */
export function resizeBilinearAntialias<T extends tf.Tensor2D | tf.Tensor3D>(x: T, outH: number, outW: number): T {
  const [h, w] = x.shape;
  if (outH >= h && outW >= w) return resizeBilinear(x, outH, outW);
  return tf.tidy(() => {
    const c = x.rank === 3 ? (x.shape[2] as number) : 1;
    const ah = tf.tensor2d(antialiasWeights(h, outH), [outH, h]); // [outH, H]
    const aw = tf.tensor2d(antialiasWeights(w, outW), [outW, w]); // [outW, W]
    const rows = tf.matMul(ah, x.toFloat().reshape([h, w * c])); // [outH, W*C]
    const t = rows.reshape([outH, w, c]).transpose([1, 0, 2]).reshape([w, outH * c]); // [W, outH*C]
    const cols = tf.matMul(aw, t).reshape([outW, outH, c]).transpose([1, 0, 2]); // [outH, outW, C]
    return (x.rank === 2 ? cols.reshape([outH, outW]) : cols) as T;
  });
}
