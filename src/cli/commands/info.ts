/** `coprs info [--json]`: the backend in use and why, what else is available, versions, kernel completeness. */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, availableBackends } from '../../backend/select';
import { trainingKernelReport } from '../../backend/kernels';
import type { Flags } from '../args';

export async function infoCommand(flags: Flags): Promise<Record<string, unknown>> {
  const chosen = await selectBackend({ backend: flags.backend as string | undefined });
  const available = await availableBackends();
  await tf.setBackend(chosen.name);
  const kernels = await trainingKernelReport(chosen.name);
  const wasm = available.find((a) => a.name === 'wasm');
  const result = {
    backend: chosen.name,
    reason: chosen.reason,
    available: available.filter((a) => a.ok).map((a) => a.name),
    backends: available,
    tfjs: tf.version.tfjs,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    wasm: wasm?.ok
      ? {
        simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
        threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      }
      : null,
    trainingKernels: kernels,
  };
  if (!flags.json) {
    console.log(`backend      ${result.backend}`);
    console.log(`why          ${result.reason}`);
    console.log(`available    ${result.available.join(', ')}`);
    for (const a of available) console.log(`  ${a.ok ? '✓' : '✗'} ${a.name.padEnd(11)} ${a.detail}`);
    console.log(`tfjs         ${result.tfjs} on node ${result.node} (${result.platform})`);
    if (result.wasm) console.log(`wasm         SIMD ${result.wasm.simd ? 'on' : 'off'}, threads ${result.wasm.threads ? 'on' : 'off'}`);
    console.log(`training     ${kernels.complete ? 'complete' : `MISSING ${kernels.missing.join(', ')}`} (${kernels.required} kernels checked on ${kernels.backend})`);
  }
  return result;
}
