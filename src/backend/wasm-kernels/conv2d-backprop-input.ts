/**
 * Conv2DBackpropInput for the wasm backend: the gradient of conv2d w.r.t. its input, and the
 * forward pass of conv2dTranspose (SAM's output upscaling). tfjs-backend-wasm 4.22 has one, but it
 * is a direct loop at ~2.4 GFLOP/s against ~27 for its conv2d forward (measured on
 * [4, 32, 32, 32] * [3, 3, 32, 32]); this one is a matmul on XNNPACK plus a col2im in JS.
 *
 *   dy : [N, OH, OW, Cout]   W : [FH, FW, Cin, Cout], viewed as [K, Cout], K = FH*FW*Cin
 *   dcols [P, K] = dy [P, Cout] · Wᵀ [Cout, K]   (Wᵀ built in JS: the wasm matmul is slow with transpose flags)
 *   dx[n, oh*sh + fh*dh - top, ow*sw + fw*dw - left, c] += dcols[p, (fh*FW + fw)*Cin + c]   (col2im)
 */
import { backend_util, getKernel, Conv2DBackpropInput } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, NamedAttrMap } from '@tensorflow/tfjs';
import { WasmBackendLike, view, zerosOutput, assertNHWC, forEachConvTap, maxColumnsFloats } from './heap';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** Scatter-add rows [p0, p1) of dcols [p1 - p0, K] into dx (col2im). */
function col2imRows(dcols: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo, p0: number, p1: number): void {
  const C = info.inChannels;
  const K = info.filterHeight * info.filterWidth * C;
  forEachConvTap(info, p0, p1, (row, k0, x0) => {
    const src = row * K + k0;
    for (let c = 0; c < C; c++) dx[x0 + c] += dcols[src + c];
  });
}

export const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Attrs;
  assertNHWC('Conv2DBackpropInput', dataFormat);
  const fShape = filter.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(inputShape, fShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: N, outHeight: OH, outWidth: OW, outChannels: Cout } = info;
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const P = N * OH * OW;
  const bmm = getKernel('BatchMatMul', 'wasm');
  if (bmm == null) throw new Error('Conv2DBackpropInput (kit wasm kernel): BatchMatMul is not registered for wasm');

  // Wᵀ [1, Cout, K] built in JS. Views are re-taken after each allocation (heap growth detaches them).
  const wT = b.makeOutput([1, Cout, K], 'float32');
  {
    const w = view(b, filter);
    const t = view(b, wT);
    for (let k = 0; k < K; k++) for (let o = 0; o < Cout; o++) t[o * K + k] = w[k * Cout + o];
  }
  const { info: out } = zerosOutput(b, inputShape);
  const rowsPerChunk = Math.max(1, Math.min(P, Math.floor(maxColumnsFloats() / Math.max(K, 1))));
  for (let p0 = 0; p0 < P; p0 += rowsPerChunk) {
    const p1 = Math.min(P, p0 + rowsPerChunk);
    const rows = p1 - p0;
    const whole = p0 === 0 && p1 === P;
    const dyChunk: TensorInfo = whole
      ? { dataId: dy.dataId, shape: [1, P, Cout], dtype: 'float32' }
      : b.makeOutput([1, rows, Cout], 'float32');
    if (!whole) view(b, dyChunk).set(view(b, dy).subarray(p0 * Cout, p1 * Cout));
    const dcols = bmm.kernelFunc({
      inputs: { a: dyChunk, b: wT }, backend, attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap,
    }) as TensorInfo; // [1, rows, K]
    if (!whole) b.disposeData(dyChunk.dataId);
    col2imRows(view(b, dcols), view(b, out), info, p0, p1);
    b.disposeData(dcols.dataId);
  }
  b.disposeData(wT.dataId);
  return out; // [N, H, W, Cin]
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
