/**
 * Is a backend complete for training? The kernels training needs are recorded by running every op
 * probe (forward + backward, src/backend/probe-ops.ts) under `tf.profile` on `cpu`, which has them
 * all; a backend is complete when its registry has each of them.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelsUsedByProbes } from './probe-ops';
import { prepareBackend } from './select';

let cachedKernels: string[] | null = null;

/** The kernel names training the kit's layers executes (memoized; briefly switches to cpu). */
export async function trainingKernels(): Promise<string[]> {
  if (cachedKernels) return cachedKernels;
  const before = tf.getBackend();
  const cpu = await prepareBackend('cpu');
  if (!cpu.ok) throw new Error(`cannot list training kernels: ${cpu.detail}`);
  await tf.setBackend('cpu');
  try {
    cachedKernels = await kernelsUsedByProbes();
  } finally {
    if (before) await tf.setBackend(before);
  }
  return cachedKernels;
}

export interface KernelReport {
  backend: string;
  complete: boolean;
  required: number;
  missing: string[];
}

/** Which training kernels a registered backend lacks. */
export async function trainingKernelReport(backend: string): Promise<KernelReport> {
  const required = await trainingKernels();
  const missing = required.filter((k) => tf.getKernel(k, backend) == null);
  return { backend, complete: missing.length === 0, required: required.length, missing };
}
