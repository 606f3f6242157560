/**
 * Backend selection with and without `navigator.gpu`: Dawn's adapter request is mocked
 * (`setDawnLoader`), so these run the same on a CPU machine and on a GPU machine. `webgpu` is chosen
 * only when Dawn returns a real (non-fallback, non-software) adapter; otherwise `auto` skips it with
 * the reason and a forced `webgpu` is an error naming it. With a real adapter the actual tfjs webgpu
 * package starts on the mocked device (nothing is computed on it). The webgpu-with-adapter tests run
 * last: once the package has registered its backend it stays registered in this process.
 */
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setDawnLoader, type AdapterLike, type DawnModule } from '../src/backend/webgpu-node';
import { BACKEND_NAMES, prepareBackend, resetBackendCache, selectBackend } from '../src/backend/select';

interface MockAdapter extends AdapterLike {
  features: Set<string>;
  limits: Record<string, number>;
  requestDevice: (desc: unknown) => Promise<unknown>;
}

const g = globalThis as unknown as Record<string, unknown> & { navigator?: { gpu?: unknown; userAgent?: string } };

/** A Dawn module whose `navigator.gpu.requestAdapter` resolves to `adapter` (null: no adapter). */
function mockDawn(adapter: MockAdapter | null) {
  const calls = { requestAdapter: [] as unknown[], requestDevice: [] as unknown[] };
  if (adapter) {
    const requestDevice = adapter.requestDevice;
    adapter.requestDevice = async (desc) => {
      calls.requestDevice.push(desc);
      return requestDevice(desc);
    };
  }
  const gpu = {
    requestAdapter: async (opts?: unknown) => {
      calls.requestAdapter.push(opts);
      return adapter;
    },
  };
  const dawn: DawnModule = { create: () => gpu, globals: { GPUBufferUsage: { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 }, GPUMapMode: { READ: 1, WRITE: 2 } } };
  return { dawn, gpu, calls };
}

/** An adapter as Dawn reports one for a GPU (its device is a stub: the backend is created, never used). */
function gpuAdapter(info: { vendor: string; architecture: string; description: string }, isFallbackAdapter = false): MockAdapter {
  const device = { queue: { submit() {}, writeBuffer() {}, onSubmittedWorkDone: async () => {} }, features: new Set<string>(), limits: {}, destroy() {} };
  return {
    info: { ...info, device: '' },
    isFallbackAdapter,
    features: new Set<string>(),
    limits: { maxComputeWorkgroupStorageSize: 32768, maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31, maxComputeWorkgroupSizeX: 1024, maxComputeInvocationsPerWorkgroup: 1024 },
    requestDevice: async () => device,
  };
}

const H100 = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' };

afterEach(() => {
  setDawnLoader(null);
  resetBackendCache();
});

/** The backend `auto` must end on when webgpu is refused: the first of the others that can start. */
async function expectedFallback(): Promise<string> {
  for (const name of BACKEND_NAMES) {
    if (name === 'webgpu') continue;
    if ((await prepareBackend(name)).ok) return name;
  }
  throw new Error('no backend starts');
}

const refusals: { what: string; adapter: () => MockAdapter | null; reason: RegExp }[] = [
  { what: 'no adapter (no GPU or no Vulkan driver)', adapter: () => null, reason: /Dawn found no GPU adapter/ },
  { what: 'a fallback adapter', adapter: () => gpuAdapter({ vendor: 'google', architecture: '', description: 'Dawn fallback' }, true), reason: /only a fallback software adapter is available/ },
  { what: 'SwiftShader', adapter: () => gpuAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' }), reason: /only a CPU software adapter is available \(.*SwiftShader/ },
  { what: 'llvmpipe (Mesa lavapipe)', adapter: () => gpuAdapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), reason: /only a CPU software adapter is available \(.*llvmpipe/ },
];

for (const r of refusals) {
  test(`auto without a usable GPU (${r.what}): webgpu is skipped with the reason, navigator.gpu is not installed`, async () => {
    const { dawn, calls } = mockDawn(r.adapter());
    setDawnLoader(async () => dawn);
    const fallback = await expectedFallback();
    resetBackendCache();
    const lines: string[] = [];
    const report = await selectBackend({ backend: 'auto', log: (l) => lines.push(l) });
    assert.equal(calls.requestAdapter.length, 1);
    assert.deepEqual(calls.requestAdapter[0], { powerPreference: 'high-performance' });
    const webgpu = report.attempts.find((a) => a.name === 'webgpu');
    if (fallback === 'tensorflow') {
      assert.equal(report.name, 'tensorflow'); // tfjs-node(-gpu) installed: webgpu is never tried
      assert.equal(webgpu, undefined);
      return;
    }
    assert.ok(webgpu && !webgpu.ok);
    assert.match(webgpu.detail, r.reason);
    assert.equal(report.name, fallback);
    assert.match(report.reason, new RegExp(`skipped webgpu ${r.reason.source.replace(/^\^/, '')}`));
    assert.match(report.reason, new RegExp(`${fallback} ready`));
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^\\[coprs\\] backend: ${fallback} — auto: `));
    assert.equal(g.navigator?.gpu, undefined, 'navigator.gpu must not be installed without a real adapter');
    assert.notEqual(tf.getBackend(), 'webgpu');
  });
}

test('forced webgpu without an adapter is an error that names the reason', async () => {
  setDawnLoader(async () => mockDawn(null).dawn);
  await assert.rejects(selectBackend({ backend: 'webgpu', log: null }), /backend "webgpu" \(from config\) could not start: webgpu: Dawn found no GPU adapter/);
});

test('Dawn that cannot load (package or binary missing): webgpu is skipped with that reason', async () => {
  setDawnLoader(async () => {
    throw new Error('the optional package `webgpu` (Dawn) is not installed');
  });
  const a = await prepareBackend('webgpu');
  assert.equal(a.ok, false);
  assert.match(a.detail, /the optional package `webgpu` \(Dawn\) is not installed/);
  assert.equal(g.navigator?.gpu, undefined);
});

test('the real Dawn on this machine: webgpu starts only with a hardware adapter, or is refused with a reason', async () => {
  const a = await prepareBackend('webgpu');
  if (a.ok) {
    assert.match(a.detail, /^Dawn adapter: /);
    assert.doesNotMatch(a.detail, /swiftshader|llvmpipe|lavapipe/i);
  } else {
    assert.match(a.detail, /not installed|could not load Dawn|no GPU adapter|fallback software adapter|CPU software adapter|failed to start/);
  }
  await tf.setBackend('cpu');
});

test('with a real adapter (mocked H100): navigator.gpu is installed, tfjs webgpu starts on it and auto picks it', async (t) => {
  if (g.navigator?.gpu !== undefined) {
    t.skip('this process already has a navigator.gpu (a real adapter was found above)');
    return;
  }
  // Node ≥ 21 defines a navigator without gpu; the kit must add gpu to it and keep the rest.
  const hadNavigator = Object.prototype.hasOwnProperty.call(globalThis, 'navigator');
  if (!hadNavigator) Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'node-test' }, configurable: true, writable: true });
  const { dawn, gpu, calls } = mockDawn(gpuAdapter(H100));
  setDawnLoader(async () => dawn);
  try {
    const fallback = await expectedFallback();
    resetBackendCache();
    const report = await selectBackend({ backend: 'auto', log: null });
    if (fallback === 'tensorflow') {
      assert.equal(report.name, 'tensorflow');
      return;
    }
    assert.equal(report.name, 'webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.match(report.reason, /auto: skipped tensorflow .*; webgpu ready \(Dawn adapter: nvidia hopper NVIDIA H100 80GB HBM3\)$/);
    assert.equal(g.navigator?.gpu, gpu, 'navigator.gpu is the Dawn GPU object');
    if (!hadNavigator) assert.equal(g.navigator?.userAgent, 'node-test');
    assert.ok(typeof g.GPUBufferUsage === 'object', "Dawn's globals are installed");
    // The tfjs webgpu package requested its own adapter and one device with the adapter's limits.
    assert.equal(calls.requestAdapter.length, 2);
    assert.equal(calls.requestDevice.length, 1);
    const limits = (calls.requestDevice[0] as { requiredLimits: Record<string, number> }).requiredLimits;
    assert.equal(limits.maxStorageBufferBindingSize, 2 ** 31);

    // Forced, the reason says so.
    const forced = await selectBackend({ backend: 'webgpu', log: null });
    assert.equal(forced.name, 'webgpu');
    assert.equal(forced.reason, 'forced by config=webgpu (Dawn adapter: nvidia hopper NVIDIA H100 80GB HBM3)');
  } finally {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
    if (!hadNavigator) delete g.navigator;
    else if (g.navigator) delete g.navigator.gpu;
  }
});
