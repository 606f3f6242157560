/**
 * The small layers every model of the kit is built from, as classes over `Params` (plain tf
 * variables and functions, no Layers API). Inputs are channels-last; shapes are noted on each
 * `apply`. Call `apply` inside `tf.tidy` (or a function that is).
 */
import * as tf from '@tensorflow/tfjs';
import { Params, Init, kaimingUniform, ones, zeros } from './params';
import { conv2d, Conv2dOptions } from './conv';

/** GELU, exact (erf) form as in PyTorch's nn.GELU. */
export const gelu = (x: tf.Tensor): tf.Tensor => tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
export const silu = (x: tf.Tensor): tf.Tensor => tf.tidy(() => x.mul(tf.sigmoid(x)));
export type Activation = 'relu' | 'gelu' | 'silu' | 'none';
export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case 'relu': return tf.relu(x);
    case 'gelu': return gelu(x);
    case 'silu': return silu(x);
    case 'none': return x;
    default: {
      const never: never = act;
      throw new Error(`unknown activation "${never}"`);
    }
  }
}

/**
 * a · bᵀ over the last two axes. On every backend the same as `tf.matMul(a, b, false, true)`; kept
 * as one named op so attention reads like the paper.
 */
export const matMulT = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.matMul(a, b, false, true);

/** Rows from which `Linear.applySplit` multiplies by weight blocks instead of splitting its output. */
export const SPLIT_PRODUCT_ROWS = 256;

export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(p: Params, readonly inDim: number, readonly outDim: number, opts: { bias?: boolean; init?: Init } = {}) {
    this.w = p.add('w', [inDim, outDim], opts.init ?? kaimingUniform(inDim));
    this.b = opts.bias === false ? null : p.add('b', [outDim], zeros);
  }

  /** [..., inDim] -> [..., outDim] */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const y = tf.matMul(x.reshape([-1, this.inDim]), this.w); // [N, outDim]
      return (this.b ? y.add(this.b) : y).reshape([...lead, this.outDim]);
    });
  }

  /**
   * `tf.split(apply(x), parts, -1)` computed as one product per column block of the weight: the
   * same values, without splitting the [.., outDim] output (on wasm a split copies each part out of
   * the whole tensor: 13 ms for a [4960, 384] q/k/v output against 3 ms for the three products).
   * Below `SPLIT_PRODUCT_ROWS` rows (a decode step) it splits the output instead: each sliced weight
   * is a new tensor, and the wasm backend re-packs a matmul's weight for every new tensor.
   */
  applySplit(x: tf.Tensor, parts: number): tf.Tensor[] {
    if (!Number.isInteger(parts) || parts < 1 || this.outDim % parts !== 0) throw new Error(`Linear.applySplit: outDim ${this.outDim} does not split into ${parts} equal parts`);
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const n = this.outDim / parts;
      const flat = x.reshape([-1, this.inDim]); // N x inDim
      if (flat.shape[0] < SPLIT_PRODUCT_ROWS) return tf.split(this.apply(x), parts, -1);
      return Array.from({ length: parts }, (_, i) => {
        const y = tf.matMul(flat, this.w.slice([0, i * n], [this.inDim, n])); // N x n
        return (this.b ? y.add(this.b.slice([i * n], [n])) : y).reshape([...lead, n]);
      });
    });
  }
}

/** LayerNorm over the last axis. */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(p: Params, readonly dim: number, readonly eps = 1e-5) {
    this.gamma = p.add('gamma', [dim], ones);
    this.beta = p.add('beta', [dim], zeros);
  }

  /** [..., dim] -> [..., dim] */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const mean = x.mean(-1, true);
      const c = x.sub(mean);
      return c.mul(tf.rsqrt(c.square().mean(-1, true).add(this.eps))).mul(this.gamma).add(this.beta);
    });
  }
}

/** SAM's LayerNorm2d: normalizes over channels at each pixel. NHWC, so the same as LayerNorm over the last axis (eps 1e-6). */
export class LayerNorm2d extends LayerNorm {
  constructor(p: Params, dim: number, eps = 1e-6) {
    super(p, dim, eps);
  }
}

/** RMSNorm over the last axis (LLaMA/Qwen): x / sqrt(mean(x²) + eps) · g. */
export class RMSNorm {
  readonly gamma: tf.Variable;
  constructor(p: Params, readonly dim: number, readonly eps = 1e-6) {
    this.gamma = p.add('gamma', [dim], ones);
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => x.mul(tf.rsqrt(x.square().mean(-1, true).add(this.eps))).mul(this.gamma));
  }
}

/** Multi-layer perceptron: Linear → act → … → Linear (SAM's MLP, with an optional sigmoid output). */
export class MLP {
  readonly layers: Linear[];
  constructor(p: Params, dims: number[], readonly act: Activation = 'relu', readonly sigmoidOutput = false) {
    if (dims.length < 2) throw new Error(`MLP needs at least input and output sizes, got [${dims}]`);
    this.layers = dims.slice(1).map((d, i) => new Linear(p.scope(`layers.${i}`), dims[i], d));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x;
      this.layers.forEach((l, i) => {
        h = l.apply(h);
        if (i < this.layers.length - 1) h = activate(h, this.act);
      });
      return this.sigmoidOutput ? tf.sigmoid(h) : h;
    });
  }
}

export class Embedding {
  readonly table: tf.Variable;
  constructor(p: Params, readonly count: number, readonly dim: number, init: Init = { kind: 'normal', std: 0.02 }) {
    this.table = p.add('table', [count, dim], init);
  }

  /** int32 ids [...] -> [..., dim] */
  apply(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.gather(this.table, ids.flatten()).reshape([...ids.shape, this.dim]));
  }
}

/** NHWC conv with weights [k, k, in, out]; differentiable for every stride, padding and dilation. */
export class Conv2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(p: Params, readonly inCh: number, readonly outCh: number, readonly kernel: number, readonly opts: Conv2dOptions & { bias?: boolean; init?: Init } = {}) {
    this.w = p.add('w', [kernel, kernel, inCh, outCh], opts.init ?? kaimingUniform(inCh * kernel * kernel));
    this.b = opts.bias === false ? null : p.add('b', [outCh], zeros);
  }

  /** [B, H, W, in] -> [B, H', W', out] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = conv2d(x, this.w as tf.Tensor4D, this.opts);
      return (this.b ? y.add(this.b) : y) as tf.Tensor4D;
    });
  }
}

/** Transposed conv (SAM's output upscaling: kernel 2, stride 2 doubles H and W). Weights [k, k, out, in]. */
export class ConvTranspose2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(p: Params, readonly inCh: number, readonly outCh: number, readonly kernel: number, readonly stride: number) {
    this.w = p.add('w', [kernel, kernel, outCh, inCh], kaimingUniform(outCh * kernel * kernel));
    this.b = p.add('b', [outCh], zeros);
  }

  /** [B, H, W, in] -> [B, H*stride, W*stride, out] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, H, W] = x.shape;
      const y = tf.conv2dTranspose(x, this.w as tf.Tensor4D, [B, H * this.stride, W * this.stride, this.outCh], this.stride, 'same');
      return y.add(this.b) as tf.Tensor4D;
    });
  }
}
