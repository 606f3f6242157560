/**
 * Every kernel that training the kit's layers runs (recorded by profiling the op probes, forward and
 * backward) is registered on every backend the kit supports: cpu, wasm (with the kit's kernels),
 * webgpu, and tensorflow (tfjs-node / tfjs-node-gpu 4.22, from the published package's list).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { trainingKernels } from '../src/backend/kernels';
import { backendRegistry, REGISTRY_BACKENDS } from '../src/backend/registries';

for (const backend of REGISTRY_BACKENDS) {
  test(`training kernels are all registered on ${backend}`, async () => {
    const needed = await trainingKernels();
    const { kernels, source } = await backendRegistry(backend);
    const missing = needed.filter((k) => !kernels.includes(k));
    assert.deepEqual(missing, [], `${backend} (${source}) lacks ${missing.join(', ')}`);
    assert.ok(needed.length > 40);
  });
}
