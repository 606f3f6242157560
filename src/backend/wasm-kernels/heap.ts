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
