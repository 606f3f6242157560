/**
 * Regenerate the frozen splits and compare them with the committed manifest — what
 * `coprs data build` and `npm start` run. A build that reproduces the commit can replace
 * data/shapeworld (repairing missing or damaged files); one that does not leaves it untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildShapeWorld } from './build';
import { compareManifests, readManifest } from './manifest';
import type { Mismatch } from './manifest';
import { DEFAULT_DATA_DIR } from './store';

/** Replace `dir` by `fresh` with renames (the old copy is removed only after the swap). */
function swapInto(fresh: string, dir: string): void {
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(fresh, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

export interface RebuildResult {
  ok: boolean;
  reproduced: boolean;
  dir: string;
  version: string;
  filesCompared: boolean;
  files: number;
  totalBytes: number;
  splits: Record<string, { count: number; checksum: string; matches: boolean }>;
  seconds: number;
  msPerSample: number;
  mismatches: Mismatch[];
  mismatchCount: number;
}

/**
 * Regenerate every frozen split into `out` (or a temporary folder) and compare with the committed
 * manifest; without `out`, a reproducing build replaces data/shapeworld.
 */
export async function rebuildShapeWorld(outDir: string | null = null, opts: { log?: (m: string) => void } = {}): Promise<RebuildResult> {
  const committed = await readManifest(DEFAULT_DATA_DIR);
  if (!committed) throw new Error(`no committed manifest at ${path.join(DEFAULT_DATA_DIR, 'manifest.json')}: run "coprs data build --update-manifest" to create the splits`);
  const out = outDir ? path.resolve(outDir) : null;
  if (out && path.resolve(out) === path.resolve(DEFAULT_DATA_DIR)) throw new Error('the output folder (--out) must differ from data/shapeworld; to rebuild data/shapeworld itself use coprs data build --update-manifest');
  const buildDir = out ?? path.join(path.dirname(DEFAULT_DATA_DIR), `.shapeworld-rebuild-${process.pid}`);
  let mismatches: Mismatch[] = [];
  let filesCompared = false;
  try {
    const r = await buildShapeWorld(buildDir, { log: opts.log });
    ({ mismatches, filesCompared } = compareManifests(r.manifest, committed));
    const ok = mismatches.length === 0;
    if (ok && !out) swapInto(buildDir, DEFAULT_DATA_DIR);
    const result = {
      ok,
      reproduced: ok,
      dir: out ?? DEFAULT_DATA_DIR,
      version: r.manifest.version,
      filesCompared,
      files: Object.keys(r.manifest.files).length,
      totalBytes: r.manifest.totalBytes,
      splits: Object.fromEntries(Object.entries(r.manifest.splits).map(([k, v]) => [k, { count: v.count, checksum: v.checksum, matches: committed.splits[k]?.checksum === v.checksum }])),
      seconds: round(r.seconds),
      msPerSample: round(r.msPerSample),
      mismatches: mismatches.slice(0, 20),
      mismatchCount: mismatches.length,
    };
    return result;
  } finally {
    if (!out && fs.existsSync(buildDir)) fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

const round = (v: number) => Math.round(v * 100) / 100;
