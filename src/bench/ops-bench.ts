/**
 * Micro-benchmarks of the ops that dominate training: square matmuls and a conv2d forward +
 * backward. Each result is GFLOP/s = useful FLOPs / wall time, timed after a warm-up with the
 * result read back (`await data()`), repeated until `minMs` has passed.
 */
import * as tf from '@tensorflow/tfjs';

export interface OpTiming {
  name: string;
  /** FLOPs of one run (multiply-add = 2). */
  flops: number;
  reps: number;
  msPerRun: number;
  gflops: number;
}

export interface TimeOptions {
  /** Keep repeating until this much time has passed (ms). */
  minMs?: number;
  minReps?: number;
  maxReps?: number;
}

/** Time `fn` (which returns a tensor to read back) after one warm-up run. */
export async function timeOp(name: string, flops: number, fn: () => tf.Tensor, opts: TimeOptions = {}): Promise<OpTiming> {
  const { minMs = 500, minReps = 3, maxReps = 200 } = opts;
  const once = async () => {
    const out = fn();
    await out.data();
    out.dispose();
  };
  await once(); // warm-up: kernel compilation, allocations
  let reps = 0;
  const t0 = performance.now();
  while (reps < minReps || (performance.now() - t0 < minMs && reps < maxReps)) {
    await once();
    reps++;
  }
  const ms = (performance.now() - t0) / reps;
  return { name, flops, reps, msPerRun: round(ms, 3), gflops: round(flops / (ms * 1e6), 3) };
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/** n x n by n x n matmul: 2n³ FLOPs. */
export async function benchMatmul(n: number, opts?: TimeOptions): Promise<OpTiming> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  try {
    return await timeOp(`matmul ${n}x${n}`, 2 * n ** 3, () => tf.matMul(a, b), opts);
  } finally {
    tf.dispose([a, b]);
  }
}

export interface ConvShape {
  batch: number;
  size: number;
  channels: number;
  kernel: number;
}

/** Conv2d 'same' stride 1, forward + gradients w.r.t. input and weights: 3 × 2·N·H·W·K²·C² FLOPs. */
export async function benchConv2d(s: ConvShape, opts?: TimeOptions): Promise<OpTiming> {
  const x = tf.randomUniform([s.batch, s.size, s.size, s.channels], -1, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomUniform([s.kernel, s.kernel, s.channels, s.channels], -0.1, 0.1, 'float32', 4) as tf.Tensor4D;
  const f = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same').square().mean());
  const fwd = 2 * s.batch * s.size * s.size * s.kernel * s.kernel * s.channels * s.channels;
  try {
    return await timeOp(
      `conv2d fwd+bwd [${s.batch},${s.size},${s.size},${s.channels}] k${s.kernel}`,
      3 * fwd,
      () => tf.tidy(() => {
        const [gx, gw] = f([x, w]);
        return gx.sum().add(gw.sum()); // read back one scalar that depends on both gradients
      }),
      opts,
    );
  } finally {
    tf.dispose([x, w]);
  }
}

export const DEFAULT_CONV: ConvShape = { batch: 4, size: 32, channels: 32, kernel: 3 };
