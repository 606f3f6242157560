/**
 * Backend selection (DESIGN §5), in one place.
 *
 * `auto` tries, in order: `tensorflow` (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node, when
 * installed: optional dependencies whose install downloads libtensorflow) → `webgpu` (Dawn with a
 * real adapter) → `wasm` (with the kit's training kernels registered) → `cpu`. A config value or
 * the COPRS_BACKEND environment variable forces one; a forced backend that cannot start is an error.
 * `selectBackend` prints one line: the backend and why.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-kernels/index';
import { installNavigatorGpu } from './webgpu-node';

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = BackendName | 'auto';

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** What was found: the package or adapter on success, the reason on failure. */
  detail: string;
}

export interface BackendReport {
  /** The backend in use. */
  name: BackendName;
  requested: BackendRequest;
  /** One line: why this backend. */
  reason: string;
  attempts: BackendAttempt[];
}

/** Parse a backend request (config value or COPRS_BACKEND); unknown names throw naming the valid ones. */
export function parseBackendRequest(value: string | undefined | null): BackendRequest {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new Error(`unknown backend "${value}": expected one of auto, ${BACKEND_NAMES.join(', ')}`);
}

/** Which package provides the real `tensorflow` backend, if any (an npm alias of tfjs does not count). */
function findTensorflowPackage(): string | null {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const manifest = require.resolve(`${pkg}/package.json`);
      const name = JSON.parse(fs.readFileSync(manifest, 'utf8')).name;
      // danfojs-node's @tensorflow/tfjs-node is aliased to @tensorflow/tfjs in this kit: skip it.
      if (name === pkg) return pkg;
    } catch {
      // not installed
    }
  }
  return null;
}

const initialized = new Map<BackendName, BackendAttempt>();

/** Make a backend usable (register, initialize) without switching to it; memoized per process. */
export async function prepareBackend(name: BackendName): Promise<BackendAttempt> {
  const cached = initialized.get(name);
  if (cached) return cached;
  const attempt = await prepareUncached(name);
  initialized.set(name, attempt);
  return attempt;
}

/**
 * Forget which backends were prepared (tests that swap Dawn's loader with `setDawnLoader` and try
 * the selection again). Registered tfjs backends stay registered.
 */
export function resetBackendCache(): void {
  initialized.clear();
  current = null;
}

async function prepareUncached(name: BackendName): Promise<BackendAttempt> {
  const fail = (detail: string): BackendAttempt => ({ name, ok: false, detail });
  try {
    switch (name) {
      case 'tensorflow': {
        const pkg = findTensorflowPackage();
        if (pkg == null) return fail('not installed (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node are optional; see README)');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(pkg);
        if (tf.findBackendFactory('tensorflow') == null) return fail(`${pkg} loaded but registered no backend`);
        await tf.setBackend('tensorflow');
        return { name, ok: true, detail: pkg };
      }
      case 'webgpu': {
        const adapter = await installNavigatorGpu();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-backend-webgpu');
        if (tf.findBackendFactory('webgpu') == null) {
          return fail(`adapter ${adapter} found, but @tensorflow/tfjs-backend-webgpu was loaded earlier without navigator.gpu and so registered no backend (select the backend before loading that package)`);
        }
        if (!(await tf.setBackend('webgpu'))) return fail(`adapter ${adapter} found but the tfjs webgpu backend failed to start`);
        return { name, ok: true, detail: `Dawn adapter: ${adapter}` };
      }
      case 'wasm': {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-backend-wasm');
        const added = registerWasmTrainingKernels();
        if (!(await tf.setBackend('wasm'))) return fail('the wasm module failed to initialize');
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
        const kernels = added.length > 0 ? `, kit gradient kernels: ${added.join(', ')}` : '';
        return { name, ok: true, detail: `SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'}${kernels}` };
      }
      case 'cpu': {
        if (!(await tf.setBackend('cpu'))) return fail('the cpu backend failed to start');
        return { name, ok: true, detail: 'pure JavaScript' };
      }
    }
  } catch (e) {
    return fail((e as Error).message.split('\n')[0]);
  }
}

export interface SelectOptions {
  /** Forced backend or 'auto'; default: COPRS_BACKEND, else 'auto'. */
  backend?: string;
  /** Where the one-line report goes (default console.error, so --json stdout stays clean); null for silence. */
  log?: ((line: string) => void) | null;
}

let current: BackendReport | null = null;

/** The report of the last `selectBackend`, or null. */
export function currentBackend(): BackendReport | null {
  return current;
}

/** Pick, initialize and switch to a backend; prints one line saying which and why. */
export async function selectBackend(opts: SelectOptions = {}): Promise<BackendReport> {
  const fromEnv = process.env.COPRS_BACKEND;
  const requested = parseBackendRequest(opts.backend ?? fromEnv);
  const source = opts.backend != null ? 'config' : fromEnv ? 'COPRS_BACKEND' : 'auto';
  const order: BackendName[] = requested === 'auto' ? [...BACKEND_NAMES] : [requested];
  const attempts: BackendAttempt[] = [];
  let chosen: BackendAttempt | null = null;
  for (const name of order) {
    const a = await prepareBackend(name);
    attempts.push(a);
    if (a.ok) {
      chosen = a;
      break;
    }
  }
  if (chosen == null) {
    const why = attempts.map((a) => `${a.name}: ${a.detail}`).join('; ');
    throw new Error(`backend "${requested}" (from ${source}) could not start: ${why}`);
  }
  await tf.setBackend(chosen.name);
  await tf.ready();
  const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.name} ${a.detail}`);
  const reason = requested === 'auto'
    ? `auto: ${[...skipped.map((s) => `skipped ${s}`), `${chosen.name} ready (${chosen.detail})`].join('; ')}`
    : `forced by ${source}=${requested} (${chosen.detail})`;
  current = { name: chosen.name, requested, reason, attempts };
  const log = opts.log === undefined ? (line: string) => console.error(line) : opts.log;
  log?.(`[coprs] backend: ${chosen.name} — ${reason}`);
  return current;
}

/** Every backend that can start on this machine (each one initialized once; the current backend is restored). */
export async function availableBackends(): Promise<BackendAttempt[]> {
  const before = tf.getBackend();
  const out: BackendAttempt[] = [];
  for (const name of BACKEND_NAMES) out.push(await prepareBackend(name));
  if (before) await tf.setBackend(before);
  return out;
}
