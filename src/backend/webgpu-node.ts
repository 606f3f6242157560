/**
 * WebGPU in Node through Dawn (the `webgpu` npm package, which ships its dawn.node binary inside the
 * package). The package is ESM-only, and the kit is CommonJS (tslab cells are CommonJS), so the
 * native module is loaded directly from the package's dist folder; the package's own entry point is
 * tried first through a dynamic import that TypeScript will not rewrite into `require`.
 */
import * as path from 'path';

export interface DawnModule {
  create: (flags: string[]) => GPULike;
  globals: Record<string, unknown>;
}

export interface GPULike {
  requestAdapter(opts?: Record<string, unknown>): Promise<AdapterLike | null>;
}

export interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<{ vendor?: string; architecture?: string; device?: string; description?: string }>;
}

// eslint-disable-next-line @typescript-eslint/no-implied-eval
const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<DawnModule>;

/** Load Dawn's node binding, or throw with the reason (package not installed, no binary for this platform, ...). */
export async function loadDawn(): Promise<DawnModule> {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve('webgpu/package.json'));
  } catch {
    throw new Error('the optional package `webgpu` (Dawn) is not installed');
  }
  try {
    const mod = await dynamicImport('webgpu');
    if (mod && typeof mod.create === 'function') return mod;
  } catch {
    // Fall through to the native module (e.g. inside tslab or a bundle where import() is unavailable).
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const binary = path.join(pkgDir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(binary) as DawnModule;
  } catch (e) {
    throw new Error(`could not load Dawn's binary ${binary}: ${(e as Error).message.split('\n')[0]}`);
  }
}

let dawnLoader: () => Promise<DawnModule> = loadDawn;

/**
 * Replace how Dawn is loaded (tests: a mock `navigator.gpu` whose `requestAdapter` returns what the
 * test needs, on machines with or without a GPU); `null` restores the real loader.
 */
export function setDawnLoader(loader: (() => Promise<DawnModule>) | null): void {
  dawnLoader = loader ?? loadDawn;
}

/** A human-readable adapter description, or null when Dawn found no adapter. */
export async function describeAdapter(adapter: AdapterLike): Promise<string> {
  const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s);
  return parts.length > 0 ? parts.join(' ') : 'unnamed adapter';
}

/**
 * Create `navigator.gpu` from Dawn and request an adapter. Returns the adapter description when a
 * real (non-fallback, i.e. not a CPU software rasterizer) adapter exists; throws with the reason
 * otherwise. On success the WebGPU globals (GPUBufferUsage, ...) and `navigator.gpu` are installed
 * so that @tensorflow/tfjs-backend-webgpu can use them.
 */
export async function installNavigatorGpu(): Promise<string> {
  const dawn = await dawnLoader();
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter == null) throw new Error('Dawn found no GPU adapter (no Vulkan driver or GPU on this machine)');
  const desc = await describeAdapter(adapter);
  if (adapter.isFallbackAdapter) throw new Error(`only a fallback software adapter is available (${desc})`);
  if (/swiftshader|llvmpipe|lavapipe/i.test(desc)) throw new Error(`only a CPU software adapter is available (${desc})`);
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (g.navigator == null) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    try {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    } catch {
      Object.defineProperty(globalThis, 'navigator', { value: { ...g.navigator, gpu }, configurable: true, writable: true });
    }
  }
  return desc;
}
