/**
 * BatchMatMul for the wasm backend with transposed operands made explicit. tfjs-backend-wasm 4.22
 * runs a matmul with `transposeA` or `transposeB` set at ~2 GFLOP/s against ~31 without (XNNPACK's
 * fast path takes plain operands only; measured on [288 x 4096] x [4096 x 32]). Attention (Q·Kᵀ)
 * and every matmul gradient (dA = dy·Bᵀ, dB = Aᵀ·dy) use those flags. This kernel transposes the
 * flagged operand with the backend's own Transpose kernel (a copy) and calls the original kernel
 * without flags.
 */
import { BatchMatMul, getKernel } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { WasmBackendLike } from './heap';

/** Build the replacement around the backend's original BatchMatMul kernel (whose setup still runs). */
export function makeBatchMatMulConfig(): KernelConfig {
  const original = getKernel(BatchMatMul, 'wasm');
  if (original == null) throw new Error('BatchMatMul is not registered for wasm: import @tensorflow/tfjs-backend-wasm first');
  const transposeKernel = () => {
    const k = getKernel('Transpose', 'wasm');
    if (k == null) throw new Error('Transpose is not registered for wasm');
    return k;
  };
  const swapLast = (t: TensorInfo, backend: unknown): TensorInfo => {
    const r = t.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transposeKernel().kernelFunc({ inputs: { x: t }, backend: backend as never, attrs: { perm } as unknown as NamedAttrMap }) as TensorInfo;
  };
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
    const bk = backend as unknown as WasmBackendLike;
    const aa = transposeA ? swapLast(a, backend) : a;
    const bb = transposeB ? swapLast(b, backend) : b;
    try {
      return original.kernelFunc({ inputs: { a: aa, b: bb }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } as unknown as NamedAttrMap });
    } finally {
      if (transposeA) bk.disposeData(aa.dataId);
      if (transposeB) bk.disposeData(bb.dataId);
    }
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', setupFunc: original.setupFunc, kernelFunc };
}
