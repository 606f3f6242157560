/**
 * Small helpers shared by the kit's own wasm kernels: the wasm backend keeps every tensor in the
 * WebAssembly heap, so a kernel reads its inputs as typed-array views of that heap and allocates its
 * output with `makeOutput` and fills the view in place.
 */
import type { TensorInfo, TypedArray, backend_util } from '@tensorflow/tfjs';

/** The subset of BackendWasm's interface these kernels use (the class itself is not exported as a type). */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32' | 'int32' | 'bool', memoryOffset?: number): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** A float32 view of a tensor's data in the wasm heap (no copy). */
export function view(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype} with shape [${t.shape}]`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** Allocate a zero-filled float32 output tensor in the wasm heap and return it with its view. */
export function zerosOutput(backend: WasmBackendLike, shape: number[]): { info: TensorInfo; data: Float32Array } {
  const info = backend.makeOutput(shape, 'float32');
  const data = backend.typedArrayFromHeap(info) as Float32Array;
  data.fill(0);
  return { info, data };
}

/** Refuse NCHW: the kit's models are NHWC throughout. */
export function assertNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} (kit wasm kernel): only NHWC is supported, got dataFormat=${dataFormat}`);
  }
}

export type ConvInfo = backend_util.Conv2DInfo;

/**
 * Visit every in-bounds (output position, filter tap) pair of a conv for output rows [p0, p1),
 * p = (n*OH + oh)*OW + ow: `fn(p - p0, k0, x0)` with k0 = (fh*FW + fw)*Cin the tap's first column in
 * an im2col row and x0 = ((n*H + ih)*W + iw)*Cin the input pixel's first channel. Shared by the
 * im2col (weight gradient) and col2im (input gradient) of the kit's conv kernels.
 */
export function forEachConvTap(info: ConvInfo, p0: number, p1: number, fn: (row: number, k0: number, x0: number) => void): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  for (let p = p0; p < p1; p++) {
    const ow = p % OW;
    const oh = Math.floor(p / OW) % OH;
    const n = Math.floor(p / (OW * OH));
    for (let fh = 0; fh < FH; fh++) {
      const ih = oh * sh + fh * dh - top;
      if (ih < 0 || ih >= H) continue;
      for (let fw = 0; fw < FW; fw++) {
        const iw = ow * sw + fw * dw - left;
        if (iw < 0 || iw >= W) continue;
        fn(p - p0, (fh * FW + fw) * C, ((n * H + ih) * W + iw) * C);
      }
    }
  }
}

/** Largest im2col / col2im chunk, in floats (64 MB); bigger problems are split along the output positions. */
let maxColsFloats = 16 * 1024 * 1024;

export function maxColumnsFloats(): number {
  return maxColsFloats;
}

/** For tests: force the chunked paths with a small limit. Returns the previous limit. */
export function setMaxColsFloats(n: number): number {
  const prev = maxColsFloats;
  maxColsFloats = n;
  return prev;
}
