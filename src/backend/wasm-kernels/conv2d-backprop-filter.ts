/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 lacks it, so conv2d has no
 * weight gradient there). dW = im2col(x)ᵀ · dy, with the transposed im2col built in JS and the
 * product done by the backend's own XNNPACK BatchMatMul kernel, so the heavy part runs at wasm
 * matmul speed. The im2col is written already transposed because the wasm BatchMatMul is ~15x
 * slower with transposeA/transposeB set (measured: 2 vs 31 GFLOP/s on [288 x 4096] x [4096 x 32]).
 *
 *   x  : [N, H, W, Cin]      dy : [N, OH, OW, Cout]      dW : [FH, FW, Cin, Cout]
 *   colsT[(fh*FW + fw)*Cin + c, p] = x[n, oh*sh + fh*dh - top, ow*sw + fw*dw - left, c]  (0 outside)
 *   with p = (n*OH + oh)*OW + ow, so dW viewed as [FH*FW*Cin, Cout] = colsT [K, P] · dy [P, Cout].
 */
import { backend_util, getKernel, Conv2DBackpropFilter } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, NamedAttrMap } from '@tensorflow/tfjs';
import { WasmBackendLike, view, zerosOutput, assertNHWC, forEachConvTap, maxColumnsFloats } from './heap';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Fill columns [p0, p1) of the transposed im2col matrix colsT [K, p1 - p0] for the given conv geometry. */
export function im2colT(x: Float32Array, colsT: Float32Array, info: backend_util.Conv2DInfo, p0: number, p1: number): void {
  const C = info.inChannels;
  const rows = p1 - p0;
  colsT.fill(0, 0, rows * info.filterHeight * info.filterWidth * C);
  forEachConvTap(info, p0, p1, (row, k0, x0) => {
    for (let c = 0; c < C; c++) colsT[(k0 + c) * rows + row] = x[x0 + c];
  });
}

export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Attrs;
  assertNHWC('Conv2DBackpropFilter', dataFormat);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: N, outHeight: OH, outWidth: OW, outChannels: Cout } = info;
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const P = N * OH * OW;
  const bmm = getKernel('BatchMatMul', 'wasm');
  if (bmm == null) throw new Error('Conv2DBackpropFilter (kit wasm kernel): BatchMatMul is not registered for wasm');

  // Views into the wasm heap are re-taken after every allocation: growing the heap detaches them.
  const rowsPerChunk = Math.max(1, Math.min(P, Math.floor(maxColumnsFloats() / Math.max(K, 1))));
  let out: TensorInfo | null = null;
  for (let p0 = 0; p0 < P; p0 += rowsPerChunk) {
    const p1 = Math.min(P, p0 + rowsPerChunk);
    const rows = p1 - p0;
    const cols = b.makeOutput([1, K, rows], 'float32'); // [1, K, rows]
    // dy rows [p0, p1) as a [1, rows, Cout] matrix (the whole of dy when there is one chunk).
    const whole = p0 === 0 && p1 === P;
    const dyChunk: TensorInfo = whole
      ? { dataId: dy.dataId, shape: [1, P, Cout], dtype: 'float32' }
      : b.makeOutput([1, rows, Cout], 'float32');
    im2colT(view(b, x), view(b, cols), info, p0, p1);
    if (!whole) view(b, dyChunk).set(view(b, dy).subarray(p0 * Cout, p1 * Cout));
    const part = bmm.kernelFunc({
      inputs: { a: cols, b: dyChunk }, backend, attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap,
    }) as TensorInfo; // [1, K, Cout]
    b.disposeData(cols.dataId);
    if (!whole) b.disposeData(dyChunk.dataId);
    if (out === null) {
      out = part;
    } else {
      const acc = view(b, out);
      const src = view(b, part);
      for (let i = 0; i < src.length; i++) acc[i] += src[i];
      b.disposeData(part.dataId);
    }
  }
  if (out === null) {
    // P = 0 (empty batch): the gradient is all zeros.
    return zerosOutput(b, filterShape).info;
  }
  return { dataId: out.dataId, shape: filterShape, dtype: 'float32' }; // [FH, FW, Cin, Cout]
};

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
