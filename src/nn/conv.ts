/**
 * Convolutions with gradients on every backend.
 *
 * tfjs-core 4.22's Conv2D gradient throws for dilation > 1 ("dilation rates greater than 1 are not
 * yet supported in gradients"). A dilated convolution equals an ordinary convolution with a
 * *dilated kernel* (zeros inserted between taps), and building that kernel from reshape/pad/concat
 * keeps it differentiable, so `conv2d` here routes dilation > 1 through it. The forward result is
 * identical to `tf.conv2d(..., dilations)` (tested), and the weight gradient is the dilated
 * kernel's gradient sampled back at the taps.
 */
import * as tf from '@tensorflow/tfjs';

export interface Conv2dOptions {
  /** Stride along height and width. */
  stride?: number | [number, number];
  /** 'same' or 'valid', or explicit [[top, bottom], [left, right]]. */
  pad?: 'same' | 'valid' | [[number, number], [number, number]];
  /** Dilation along height and width. */
  dilation?: number | [number, number];
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * Insert (d - 1) zeros between the taps of a [FH, FW, Cin, Cout] kernel along H and W.
 * Result: [(FH-1)*dh + 1, (FW-1)*dw + 1, Cin, Cout].
 */
export function dilateKernel(w: tf.Tensor4D, dilation: number | [number, number]): tf.Tensor4D {
  const [dh, dw] = pair(dilation);
  if (dh === 1 && dw === 1) return w;
  return tf.tidy(() => {
    const [FH, FW, Cin, Cout] = w.shape;
    // Along H: [FH, 1, FW*Cin*Cout] -> pad to [FH, dh, ...] -> [FH*dh, ...] -> drop the trailing dh-1 rows.
    let k: tf.Tensor = w.reshape([FH, 1, FW * Cin * Cout]); // FH x 1 x (FW*Cin*Cout)
    k = tf.pad(k, [[0, 0], [0, dh - 1], [0, 0]]); // FH x dh x (FW*Cin*Cout)
    k = k.reshape([FH * dh, FW, Cin, Cout]).slice([0, 0, 0, 0], [(FH - 1) * dh + 1, FW, Cin, Cout]);
    const FHd = (FH - 1) * dh + 1;
    // Along W: [FHd, FW, 1, Cin*Cout] -> pad to [FHd, FW, dw, ...] -> [FHd, FW*dw, Cin, Cout] -> trim.
    k = k.reshape([FHd, FW, 1, Cin * Cout]); // FHd x FW x 1 x (Cin*Cout)
    k = tf.pad(k, [[0, 0], [0, 0], [0, dw - 1], [0, 0]]); // FHd x FW x dw x (Cin*Cout)
    k = k.reshape([FHd, FW * dw, Cin, Cout]).slice([0, 0, 0, 0], [FHd, (FW - 1) * dw + 1, Cin, Cout]);
    return k as tf.Tensor4D;
  });
}

/** NHWC conv2d whose gradient exists for every stride, padding and dilation on every backend. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: Conv2dOptions = {}): tf.Tensor4D {
  const stride = pair(opts.stride ?? 1);
  const dilation = pair(opts.dilation ?? 1);
  const pad = opts.pad ?? 'same';
  const explicit = Array.isArray(pad) ? [[0, 0], pad[0], pad[1], [0, 0]] as tf.backend_util.ExplicitPadding : pad;
  if (dilation[0] === 1 && dilation[1] === 1) return tf.conv2d(x, w, stride, explicit);
  return tf.tidy(() => tf.conv2d(x, dilateKernel(w, dilation), stride, explicit));
}
