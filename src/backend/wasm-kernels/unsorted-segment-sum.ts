/**
 * UnsortedSegmentSum for the wasm backend (missing in tfjs-backend-wasm 4.22; it is the gradient of
 * `tf.gather`, i.e. of every embedding lookup). Plain JS over heap views: it is memory-bound.
 *
 *   x : [D0, ..., Dk-1, ...inner]   segmentIds : [D0, ..., Dk-1] (int32)
 *   out[s, ...inner] = Σ_{i : ids[i] = s} x[i, ...inner],  ids outside [0, numSegments) dropped (TF semantics)
 */
import { UnsortedSegmentSum, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { WasmBackendLike } from './heap';

export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const k = segmentIds.shape.length;
  for (let i = 0; i < k; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(`UnsortedSegmentSum (kit wasm kernel): segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
    }
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (kit wasm kernel): x must be float32 or int32, got ${x.dtype}`);
  }
  const inner = x.shape.slice(k);
  const innerSize = util.sizeFromShape(inner);
  const outShape = [numSegments, ...inner];
  const out = b.makeOutput(outShape, x.dtype);
  const o = b.typedArrayFromHeap(out);
  o.fill(0);
  const xs = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds);
  const rows = util.sizeFromShape(segmentIds.shape);
  for (let r = 0; r < rows; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const src = r * innerSize;
    const dst = s * innerSize;
    for (let j = 0; j < innerSize; j++) o[dst + j] += xs[src + j];
  }
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
