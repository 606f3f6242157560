/**
 * DepthwiseConv2dNativeBackpropInput / ...BackpropFilter for the wasm backend (both missing in
 * tfjs-backend-wasm 4.22). Direct loops over heap views; depthwise convs are cheap.
 *
 *   x : [N, H, W, C]   filter : [FH, FW, C, M]   dy : [N, OH, OW, C*M]
 *   y[n,oh,ow,c*M+m] = Σ_{fh,fw} x[n, oh*sh+fh*dh-top, ow*sw+fw*dw-left, c] · w[fh,fw,c,m]
 */
import {
  backend_util, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput,
} from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { WasmBackendLike, view, zerosOutput } from './heap';

interface Attrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

/** Visit every (input position, filter tap, output position) triple of a depthwise conv. */
function forEachTap(
  info: backend_util.Conv2DInfo,
  fn: (xBase: number, wBase: number, yBase: number) => void,
): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw, outChannels: CM } = info;
  const M = CM / C;
  const { top, left } = info.padInfo;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let fh = 0; fh < FH; fh++) {
        const ih = oh * sh + fh * dh - top;
        if (ih < 0 || ih >= H) continue;
        for (let ow = 0; ow < OW; ow++) {
          for (let fw = 0; fw < FW; fw++) {
            const iw = ow * sw + fw * dw - left;
            if (iw < 0 || iw >= W) continue;
            fn(((n * H + ih) * W + iw) * C, (fh * FW + fw) * C * M, ((n * OH + oh) * OW + ow) * CM);
          }
        }
      }
    }
  }
}

export const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as Attrs;
  const fShape = filter.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(inputShape!, fShape, strides, dilations, pad, dimRoundingMode, true);
  const C = info.inChannels;
  const M = info.outChannels / C;
  const { info: out, data: dx } = zerosOutput(b, inputShape!);
  const dys = view(b, dy);
  const w = view(b, filter);
  forEachTap(info, (xb, wb, yb) => {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dys[yb + c * M + m] * w[wb + c * M + m];
      dx[xb + c] += s;
    }
  });
  return out;
};

export const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackendLike;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as Attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape!, strides, dilations, pad, dimRoundingMode, true);
  const C = info.inChannels;
  const M = info.outChannels / C;
  const { info: out, data: dw } = zerosOutput(b, filterShape!);
  const xs = view(b, x);
  const dys = view(b, dy);
  forEachTap(info, (xb, wb, yb) => {
    for (let c = 0; c < C; c++) {
      const xv = xs[xb + c];
      for (let m = 0; m < M; m++) dw[wb + c * M + m] += xv * dys[yb + c * M + m];
    }
  });
  return out;
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};
