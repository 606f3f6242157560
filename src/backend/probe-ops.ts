/**
 * The ops the kit's models train through, each as a small forward + backward computation. Used to
 * (1) list the kernels training needs (`tf.profile` over these on a complete backend), (2) check a
 * backend's registry for them (`coprs info`), and (3) compare every gradient on wasm vs cpu
 * (test/wasm-kernels.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { conv2d } from '../nn/conv';

export interface OpProbe {
  name: string;
  /** Input shapes; inputs are seeded uniform values in [-1, 1). */
  shapes: number[][];
  /** A scalar function of the inputs; the probe returns it and its gradients w.r.t. every input. */
  f: (...xs: tf.Tensor[]) => tf.Scalar;
}

/** A fixed "upstream gradient" so probes see non-trivial dy (same values on every backend). */
function weightsLike(t: tf.Tensor, seed = 99): tf.Tensor {
  const rng = new Rng(seed);
  const v = new Float32Array(t.size);
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-1, 1);
  return tf.tensor(v, t.shape);
}

const weighted = (y: tf.Tensor): tf.Scalar => y.mul(weightsLike(y)).sum();

const layerNorm = (x: tf.Tensor, eps = 1e-5): tf.Tensor => {
  const mean = x.mean(-1, true);
  const centered = x.sub(mean);
  return centered.mul(tf.rsqrt(centered.square().mean(-1, true).add(eps)));
};

export const OP_PROBES: readonly OpProbe[] = [
  { name: 'conv2d s1 same', shapes: [[2, 9, 9, 3], [3, 3, 3, 4]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')) },
  { name: 'conv2d s1 valid', shapes: [[2, 9, 9, 3], [3, 3, 3, 4]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')) },
  { name: 'conv2d s2 same', shapes: [[2, 9, 9, 3], [3, 3, 3, 4]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')) },
  { name: 'conv2d s2 valid 2x2 (SAM mask_downscaling)', shapes: [[2, 8, 8, 4], [2, 2, 4, 6]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid')) },
  { name: 'conv2d 1x1', shapes: [[2, 8, 8, 5], [1, 1, 5, 3]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')) },
  { name: 'conv2d patchify 4x4 s4', shapes: [[1, 16, 16, 3], [4, 4, 3, 8]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 4, 'valid')) },
  { name: 'conv2d dilation 2 (kit op)', shapes: [[2, 9, 9, 3], [3, 3, 3, 4]], f: (x, w) => weighted(conv2d(x as tf.Tensor4D, w as tf.Tensor4D, { dilation: 2, pad: 'same' })) },
  { name: 'conv2dTranspose s2 (SAM upscaling)', shapes: [[2, 4, 4, 6], [2, 2, 3, 6]], f: (x, w) => weighted(tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same')) },
  { name: 'conv2dTranspose s1 same', shapes: [[2, 5, 5, 4], [3, 3, 2, 4]], f: (x, w) => weighted(tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 5, 5, 2], 1, 'same')) },
  { name: 'depthwiseConv2d', shapes: [[1, 8, 8, 3], [3, 3, 3, 2]], f: (x, w) => weighted(tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')) },
  { name: 'matMul', shapes: [[4, 5], [6, 5]], f: (a, b) => weighted(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true)) },
  { name: 'batchMatMul', shapes: [[2, 3, 4, 5], [2, 3, 5, 6]], f: (a, b) => weighted(tf.matMul(a, b)) },
  { name: 'layerNorm', shapes: [[3, 8]], f: (x) => weighted(layerNorm(x)) },
  { name: 'rmsNorm', shapes: [[3, 8]], f: (x) => weighted(x.mul(tf.rsqrt(x.square().mean(-1, true).add(1e-6)))) },
  { name: 'softmax', shapes: [[3, 7]], f: (x) => weighted(tf.softmax(x)) },
  { name: 'logSoftmax', shapes: [[3, 7]], f: (x) => weighted(tf.logSoftmax(x)) },
  { name: 'gather (embedding)', shapes: [[6, 4]], f: (x) => weighted(tf.gather(x, tf.tensor1d([0, 2, 2, 5], 'int32'))) },
  { name: 'gelu (erf)', shapes: [[3, 8]], f: (x) => weighted(x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5)) },
  { name: 'silu / sigmoid', shapes: [[3, 8]], f: (x) => weighted(x.mul(tf.sigmoid(x))) },
  { name: 'relu', shapes: [[3, 8]], f: (x) => weighted(tf.relu(x)) },
  { name: 'tanh', shapes: [[3, 8]], f: (x) => weighted(tf.tanh(x)) },
  { name: 'bce with logits', shapes: [[3, 8]], f: (x) => weighted(tf.relu(x).sub(x.mul(0.3)).add(tf.log1p(tf.exp(x.abs().neg())))) },
  { name: 'resizeBilinear x4', shapes: [[1, 4, 4, 2]], f: (x) => weighted(tf.image.resizeBilinear(x as tf.Tensor4D, [16, 16], false, true)) },
  { name: 'resizeNearestNeighbor', shapes: [[1, 4, 4, 2]], f: (x) => weighted(tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [8, 8])) },
  { name: 'avgPool', shapes: [[1, 8, 8, 3]], f: (x) => weighted(tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid')) },
  { name: 'maxPool', shapes: [[1, 8, 8, 3]], f: (x) => weighted(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')) },
  { name: 'concat / slice / pad / tile', shapes: [[3, 4]], f: (x) => weighted(tf.pad(tf.concat([x, tf.tile(x.slice([0, 1], [3, 2]), [1, 2])], 1), [[1, 0], [0, 2]], -50)) },
  { name: 'transpose / reshape', shapes: [[2, 3, 4]], f: (x) => weighted(x.transpose([2, 0, 1]).reshape([4, 6])) },
  { name: 'where / clip / maximum', shapes: [[3, 8]], f: (x) => weighted(tf.where(tf.tensor(Array(24).fill(0).map((_, i) => i % 3 === 0), [3, 8], 'bool'), tf.clipByValue(x, -0.5, 0.5), tf.maximum(x, 0.1))) },
  { name: 'exp / log / sqrt / pow', shapes: [[3, 8]], f: (x) => weighted(tf.log(tf.exp(x).add(1)).add(tf.sqrt(x.abs().add(0.1))).add(tf.pow(x.abs().add(0.1), tf.scalar(1.5)))) },
  { name: 'sin / cos (Fourier PE)', shapes: [[3, 8]], f: (x) => weighted(tf.sin(x.mul(2 * Math.PI)).add(tf.cos(x))) },
  { name: 'max / mean / sum', shapes: [[3, 8]], f: (x) => x.max(-1).sum().add(x.mean(0).mul(weightsLike(x.mean(0))).sum()) as tf.Scalar },
  { name: 'cumsum', shapes: [[3, 8]], f: (x) => weighted(tf.cumsum(x, 1)) },

  // Stage 3 (CoPRS): the policy's patch tower, the heatmap head, GRPO's clipped objective and the
  // bookkeeping ops a real stage-1/2/3 step runs (test/backend-registries.test.ts profiles a tiny
  // stage-3 step and checks that these probes cover every kernel it executes).
  { name: 'conv2d s2 same, even size (policy patch tower)', shapes: [[2, 16, 16, 3], [3, 3, 3, 4]], f: (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')) },
  { name: 'conv2d s2 same + gelu, two stages (patch tower)', shapes: [[1, 16, 16, 3], [3, 3, 3, 4], [3, 3, 4, 6]], f: (x, w1, w2) => {
    const gelu = (t: tf.Tensor) => t.mul(tf.erf(t.mul(Math.SQRT1_2)).add(1)).mul(0.5);
    const h = gelu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 2, 'same')) as tf.Tensor4D;
    return weighted(gelu(tf.conv2d(h, w2 as tf.Tensor4D, 2, 'same')));
  } },
  { name: 'transpose 6-D (pixelsToImage)', shapes: [[1, 2, 2, 3, 3, 3]], f: (x) => weighted(x.transpose([0, 1, 3, 2, 4, 5]).reshape([1, 6, 6, 3])) },
  { name: 'heatmap scores: 1x1 keys, 5-D broadcast product, sum', shapes: [[2, 8], [8, 8], [2, 4, 4, 5], [1, 1, 5, 8]], f: (e, wq, img, wk) => {
    const q = tf.matMul(e as tf.Tensor2D, wq as tf.Tensor2D).reshape([2, 1, 1, 2, 4]);
    const k = tf.conv2d(img as tf.Tensor4D, wk as tf.Tensor4D, 1, 'valid').reshape([2, 4, 4, 2, 4]);
    return weighted(q.mul(k).sum(-1).div(2));
  } },
  { name: 'heatmap fusion: conv3x3 → silu → conv3x3 → resizeBilinear ×4 (half-pixel)', shapes: [[2, 4, 4, 4], [3, 3, 4, 4], [3, 3, 4, 1]], f: (s, w1, w2) => {
    const h = tf.conv2d(s as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same');
    const fused = tf.conv2d(h.mul(tf.sigmoid(h)) as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same').add(-1.8) as tf.Tensor4D;
    return weighted(tf.image.resizeBilinear(fused, [16, 16], false, true));
  } },
  { name: 'resizeBilinear ×4 align corners', shapes: [[1, 4, 4, 2]], f: (x) => weighted(tf.image.resizeBilinear(x as tf.Tensor4D, [16, 16], true, false)) },
  { name: 'GRPO clipped ratio + k3 KL (exp, minimum, clip, greater/less)', shapes: [[3, 5]], f: (logp) => {
    const old = weightsLike(logp, 7).mul(0.5); // constants: ratios on both sides of the clip range and inside it
    const ref = weightsLike(logp, 8).mul(0.5);
    const adv = tf.tensor2d([[0.5], [-1], [1.5]]);
    const ratio = tf.exp(logp.sub(old));
    const surrogate = tf.minimum(ratio.mul(adv), tf.clipByValue(ratio, 0.8, 1.28).mul(adv));
    // Clip fractions: logged, not differentiated (off the path to the loss, as in rl/policy-loss.ts).
    tf.less(ratio, 0.8).cast('float32').mean();
    tf.greater(ratio, 1.28).cast('float32').mean();
    const d = ref.sub(logp);
    const kl = tf.exp(d).sub(d).sub(1);
    return weighted(surrogate.neg().add(kl.mul(0.04)));
  } },
  { name: 'stack / unstack / expandDims / addN', shapes: [[3, 4]], f: (x) => {
    const rows = tf.unstack(x, 0);
    const stacked = tf.stack([rows[0], rows[1].mul(2), rows[2].square()], 1).expandDims(0);
    return weighted(stacked.add(tf.addN([rows[0], rows[1], rows[2]]).expandDims(1)));
  } },
  { name: 'fill / onesLike / oneHot', shapes: [[3, 8]], f: (x) => weighted(x.mul(tf.oneHot(tf.tensor1d([1, 4, 7], 'int32'), 8).add(tf.fill([3, 8], 0.5))).add(tf.onesLike(x).mul(x.square()))) },
];

/** Seeded inputs for a probe (identical values on every backend). */
export function probeInputs(probe: OpProbe, seed = 1): tf.Tensor[] {
  const rng = new Rng(seed);
  return probe.shapes.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.uniform(-1, 1);
    return tf.tensor(v, s);
  });
}

/** Run a probe: [value, ...gradients] as plain arrays (on the current backend). */
export function runProbe(probe: OpProbe, seed = 1): Float32Array[] {
  return tf.tidy(() => {
    const xs = probeInputs(probe, seed);
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => probe.f(...args))(xs);
    return [value, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/**
 * Names of every kernel the probes execute (forward and backward), recorded with `tf.profile` on
 * the current backend. Run it on `cpu`, which has all of them.
 */
export async function kernelsUsedByProbes(): Promise<string[]> {
  const names = new Set<string>();
  for (const probe of OP_PROBES) {
    const info = await tf.profile(() => {
      const xs = probeInputs(probe);
      const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => probe.f(...args))(xs);
      tf.dispose([value, ...grads, ...xs]);
    });
    // custom-gradient ops show up as 'name__op'; they are not kernels.
    for (const k of info.kernels) if (!k.name.endsWith('__op')) names.add(k.name);
  }
  return [...names].sort();
}
