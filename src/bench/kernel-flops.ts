/**
 * Floating-point work of a profiled computation, counted from the kernels `tf.profile` saw: the
 * matmul and convolution kernels (forward and gradients), at 2 FLOPs per multiply-add. Elementwise
 * ops, reductions, softmax and copies are left out — so the achieved GFLOP/s of a training step
 * (this count ÷ its wall time) is comparable with a matmul benchmark's, and the gap between them is
 * what the rest of the step (and per-op overhead) costs.
 *
 *   BatchMatMul / _FusedMatMul   2 · batch · M · N · K        (K: the dimension of `a` that is not M)
 *   Conv2D                       2 · |y| · fh · fw · Cin
 *   Conv2DBackpropInput          2 · |dy| · fh · fw · Cin     (filter [fh, fw, Cin, Cout])
 *   Conv2DBackpropFilter         2 · |dy| · fh · fw · Cin     (output = the filter)
 *   DepthwiseConv2dNative        2 · |y| · fh · fw
 *   DepthwiseConv2dNative­Backprop{Input,Filter}  2 · |dy| · fh · fw
 */
export interface ProfiledKernel {
  name: string;
  inputShapes: (number[] | null | undefined)[];
  outputShapes: (number[] | null | undefined)[];
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** FLOPs of one kernel call (0 for kernels that are not matmuls or convolutions). */
export function kernelFlops(k: ProfiledKernel): number {
  const ins = k.inputShapes.map((s) => s ?? []);
  const out = k.outputShapes[0] ?? [];
  switch (k.name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = ins[0];
      if (a.length < 2 || out.length < 2) return 0;
      const M = out[out.length - 2];
      const [a0, a1] = a.slice(-2);
      const K = a0 === M ? a1 : a0;
      return 2 * size(out) * K;
    }
    case 'Conv2D':
    case 'FusedConv2D': {
      const f = ins[1];
      return f.length === 4 ? 2 * size(out) * f[0] * f[1] * f[2] : 0;
    }
    case 'Conv2DBackpropInput': {
      const [dy, f] = [ins[0], ins[1]];
      return f.length === 4 ? 2 * size(dy) * f[0] * f[1] * f[2] : 0;
    }
    case 'Conv2DBackpropFilter': {
      const dy = ins[1];
      return out.length === 4 ? 2 * size(dy) * out[0] * out[1] * out[2] : 0;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const f = ins[1];
      return f.length === 4 ? 2 * size(out) * f[0] * f[1] : 0;
    }
    case 'DepthwiseConv2dNativeBackpropInput': {
      const [dy, f] = [ins[0], ins[1]];
      return f.length === 4 ? 2 * size(dy) * f[0] * f[1] : 0;
    }
    case 'DepthwiseConv2dNativeBackpropFilter': {
      const dy = ins[1];
      return out.length === 4 ? 2 * size(dy) * out[0] * out[1] : 0;
    }
    default:
      return 0;
  }
}

/** Total FLOPs of a profile's kernels (see the module comment). */
export function profileFlops(kernels: readonly ProfiledKernel[]): number {
  return kernels.reduce((s, k) => s + kernelFlops(k), 0);
}
