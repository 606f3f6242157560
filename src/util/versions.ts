/** Versions of the kit's runtime pieces, read from the installed packages' manifests. */
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from './paths';

/** An installed package's version (read from node_modules, so `exports` maps don't get in the way), or null. */
export function packageVersion(name: string): string | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export const KIT_PACKAGES = [
  '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-node-gpu',
  'webgpu', 'tslab', 'sharp', 'danfojs-node', 'plotly.js-dist', 'playwright-core',
];

/** Rows { component, version } for node and every kit package ('not installed' where absent). */
export function kitVersions(): { component: string; version: string }[] {
  return [
    { component: 'node', version: process.version },
    { component: 'coprs-lab', version: JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version },
    ...KIT_PACKAGES.map((p) => ({ component: p, version: packageVersion(p) ?? 'not installed' })),
  ];
}
