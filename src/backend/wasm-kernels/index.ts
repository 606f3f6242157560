/**
 * The gradient kernels that training the kit's layers needs and tfjs-backend-wasm 4.22 lacks.
 * Found by running the gradient of every op the models use on wasm (test/wasm-kernels.test.ts keeps
 * that probe) and checked against the `cpu` backend on random inputs (relative error ≤ 1e-4).
 */
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop';
import { maxPoolGradConfig } from './max-pool-grad';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input';
import { makeBatchMatMulConfig } from './batch-mat-mul';

export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  unsortedSegmentSumConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
];

/**
 * Kernels tfjs-backend-wasm 4.22 has but gets wrong or runs far below its own matmul speed; the
 * kit's version replaces them (each one is tested against `cpu`): MaxPoolGrad drops gradient
 * entries for some shapes; Conv2DBackpropInput is a direct loop ~10x slower than matmul + col2im;
 * BatchMatMul is ~15x slower with transpose flags (a factory: it wraps the original kernel).
 */
export const WASM_KERNEL_FIXES: readonly (KernelConfig | (() => KernelConfig))[] = [
  maxPoolGradConfig,
  conv2DBackpropInputConfig,
  // BatchMatMul with transpose flags runs ~15x below the plain path: transpose explicitly instead.
  makeBatchMatMulConfig,
];

const replaced = new Set<string>();

/**
 * Register the kit's wasm kernels (idempotent). Missing kernels are added, never replacing one the
 * backend already has (so a future tfjs-backend-wasm that ships its own wins); known-wrong kernels
 * are replaced. Returns the names it registered now.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    if (getKernel(config.kernelName, 'wasm') == null) {
      registerKernel(config);
      added.push(config.kernelName);
    }
  }
  for (const entry of WASM_KERNEL_FIXES) {
    const config = typeof entry === 'function' ? entry() : entry;
    if (replaced.has(config.kernelName)) continue;
    if (getKernel(config.kernelName, 'wasm') != null) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
    replaced.add(config.kernelName);
    added.push(`${config.kernelName} (fixed)`);
  }
  return added;
}
