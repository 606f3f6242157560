/**
 * Which kernels each backend registers, for checking that training runs everywhere.
 *
 * `cpu`, `wasm` and `webgpu` are installed with the kit, so their registries are read live (the
 * webgpu package registers its kernels on import, without a GPU). `tensorflow` (tfjs-node /
 * tfjs-node-gpu) cannot be installed where libtensorflow cannot be downloaded, so its registry is
 * a committed list extracted from the published package (registries/tensorflow-4.22.0.json):
 *
 *   npm pack @tensorflow/tfjs-node@4.22.0 && tar xzf tensorflow-tfjs-node-4.22.0.tgz
 *   # the kernel configs imported by package/dist/register_all_kernels.js; each kernelName is a
 *   # string literal or one of @tensorflow/tfjs's exported names (tfjs-node-gpu registers the same set)
 */
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from './select';

export const REGISTRY_BACKENDS = ['cpu', 'wasm', 'webgpu', 'tensorflow'] as const;
export type RegistryBackend = (typeof REGISTRY_BACKENDS)[number];

/** Kernel names registered for a backend (live, or from the committed list for `tensorflow`). */
export async function backendRegistry(backend: RegistryBackend): Promise<{ kernels: string[]; source: string }> {
  switch (backend) {
    case 'cpu':
    case 'wasm':
      await prepareBackend(backend);
      return { kernels: tf.getKernelsForBackend(backend).map((k) => k.kernelName), source: 'live registry' };
    case 'webgpu':
      // The package registers its backend only if navigator.gpu exists when it is first loaded, so
      // let selection create navigator.gpu first (where Dawn finds an adapter); then load it.
      await prepareBackend('webgpu');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-webgpu');
      return { kernels: tf.getKernelsForBackend('webgpu').map((k) => k.kernelName), source: 'live registry (@tensorflow/tfjs-backend-webgpu)' };
    case 'tensorflow': {
      const live = tf.getKernelsForBackend('tensorflow').map((k) => k.kernelName);
      if (live.length > 0) return { kernels: live, source: 'live registry' };
      // A static require: bundlers (bin/build-gpu-bundle.js) inline the list, so it needs no file beside the bundle.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const list = require('./registries/tensorflow-4.22.0.json') as { kernels: string[]; source: string };
      return { kernels: list.kernels, source: '@tensorflow/tfjs-node 4.22.0 package (tensorflow-4.22.0.json)' };
    }
    default: {
      const never: never = backend;
      throw new Error(`unknown backend "${never}"`);
    }
  }
}
