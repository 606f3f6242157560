/**
 * MaxPoolGrad for the wasm backend. tfjs-backend-wasm 4.22 ships one, but it drops gradient entries
 * for some shapes (e.g. input [1, 8, 8, 2], 2x2 stride 2 'valid': several positions get 0 instead of
 * dy; found by test/wasm-kernels.test.ts comparing every op probe with `cpu`). The kit replaces it.
 *
 *   x : [N, H, W, C]   dy : [N, OH, OW, C]
 *   dx[argmax of window(n, oh, ow, c)] += dy[n, oh, ow, c]; ties go to the first position in scan
 *   order (rows, then columns), as in the cpu backend.
 */
import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { WasmBackendLike, view, zerosOutput } from './heap';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as Attrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: FH, effectiveFilterWidth: FW } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const { info: out, data: dx } = zerosOutput(b, input.shape);
  const xs = view(b, input);
  const dys = view(b, dy);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let bestIdx = -1;
          for (let fh = 0; fh < FH; fh += dh) {
            const ih = oh * sh - top + fh;
            if (ih < 0 || ih >= H) continue;
            for (let fw = 0; fw < FW; fw += dw) {
              const iw = ow * sw - left + fw;
              if (iw < 0 || iw >= W) continue;
              const idx = ((n * H + ih) * W + iw) * C + c;
              if (xs[idx] > best || bestIdx < 0) {
                best = xs[idx];
                bestIdx = idx;
              }
            }
          }
          if (bestIdx >= 0) dx[bestIdx] += dys[((n * OH + oh) * OW + ow) * C + c];
        }
      }
    }
  }
  return out;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
