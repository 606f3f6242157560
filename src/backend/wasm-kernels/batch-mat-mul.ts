/**
 * BatchMatMul for the wasm backend with transposed operands made explicit. tfjs-backend-wasm 4.22
 * runs a matmul with `transposeA` or `transposeB` set at ~2 GFLOP/s against ~31 without (XNNPACK's
 * fast path takes plain operands only; measured on [288 x 4096] x [4096 x 32]). Attention (Q·Kᵀ)
 * and every matmul gradient (dA = dy·Bᵀ, dB = Aᵀ·dy) use those flags. This kernel transposes the
 * flagged operand with the backend's own Transpose kernel (a copy) and calls the original kernel
 * without flags.
 *
 * It also runs at ~2 GFLOP/s whenever the batch is larger than one ([8, 256, 64] × [8, 64, 256]: 2.0
 * against 12.8 for one [256, 64] × [64, 256]), which is every attention score and every batched
 * projection. So a batched product is split into one plain product per batch entry, each copied
 * into its own buffer (a memcpy) so the fast path takes it. Batch shapes must match or one side
 * must have a batch of 1 (broadcast); anything else goes to the original kernel, and so do products
 * with one row (M = 1, a decode step's attention: the per-entry calls cost more than the loop —
 * [64, 1, 300] × [64, 300, 32]: 2.7 ms split, 0.6 ms not).
 */
import { BatchMatMul, getKernel } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { WasmBackendLike, view } from './heap';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Split only when each entry's product is at least this many multiply-adds (M·K·N): below it the
 * per-call overhead eats the gain (measured: 2560 → slower, 4096 → even, 131072 → 3.5–4× faster).
 */
export const MIN_SPLIT_WORK = 8192;

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
    const bk = backend as unknown as WasmBackendLike;
    const aa = transposeA ? swapLast(a, backend) : a;
    const bb = transposeB ? swapLast(b, backend) : b;
    const plain = { ...attrs, transposeA: false, transposeB: false } as unknown as NamedAttrMap;
    try {
      return perBatch(aa, bb, backend, plain) ?? original.kernelFunc({ inputs: { a: aa, b: bb }, backend, attrs: plain });
    } finally {
      if (transposeA) bk.disposeData(aa.dataId);
      if (transposeB) bk.disposeData(bb.dataId);
    }
  };

  /** One plain product per batch entry (see the module comment), or null when the fast path does not apply. */
  const perBatch = (a: TensorInfo, b: TensorInfo, backend: unknown, plain: NamedAttrMap): TensorInfo | null => {
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 3 || b.shape.length < 2) return null;
    const batchShapeA = a.shape.slice(0, -2);
    const batchShapeB = b.shape.slice(0, -2);
    const batchA = size(batchShapeA);
    const batchB = size(batchShapeB);
    const batch = Math.max(batchA, batchB);
    if (batch <= 1) return null;
    const sameShape = batchShapeA.length === batchShapeB.length && batchShapeA.every((d, i) => d === batchShapeB[i]);
    if (!sameShape && batchA !== 1 && batchB !== 1) return null;
    const [M, K] = a.shape.slice(-2);
    const N = b.shape[b.shape.length - 1];
    if (b.shape[b.shape.length - 2] !== K) return null; // let the original kernel report the mismatch
    if (M * K * N < MIN_SPLIT_WORK || M === 1) return null;
    const bk = backend as unknown as WasmBackendLike;
    const outShape = [...(batchA >= batchB ? batchShapeA : batchShapeB), M, N];
    const out = bk.makeOutput(outShape, 'float32');
    const aBuf = batchA > 1 ? bk.makeOutput([1, M, K], 'float32') : null;
    try {
      for (let i = 0; i < batch; i++) {
        // The right operand needs a fresh buffer (a new tensor id) for every entry: the backend
        // caches XNNPACK's packed copy of it by tensor id until that tensor is disposed.
        const bBuf = batchB > 1 ? bk.makeOutput([1, K, N], 'float32') : null;
        // Views are re-taken after every allocation: a growing heap detaches old ones.
        if (aBuf) view(bk, aBuf).set(view(bk, a).subarray(i * M * K, (i + 1) * M * K));
        if (bBuf) view(bk, bBuf).set(view(bk, b).subarray(i * K * N, (i + 1) * K * N));
        const ai: TensorInfo = aBuf ?? { dataId: a.dataId, shape: [1, M, K], dtype: 'float32' };
        const bi: TensorInfo = bBuf ?? { dataId: b.dataId, shape: [1, K, N], dtype: 'float32' };
        const r = original.kernelFunc({ inputs: { a: ai, b: bi }, backend: backend as never, attrs: plain }) as TensorInfo; // [1, M, N]
        view(bk, out).set(view(bk, r), i * M * N);
        bk.disposeData(r.dataId);
        if (bBuf) bk.disposeData(bBuf.dataId);
      }
    } finally {
      if (aBuf) bk.disposeData(aBuf.dataId);
    }
    return out;
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', setupFunc: original.setupFunc, kernelFunc };
}
