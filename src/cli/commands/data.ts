/**
 * `coprs data build | verify | stats`: the frozen ShapeWorld-RS splits.
 *
 * `data build` regenerates every frozen split into a temporary folder and compares it with the
 * committed manifest (data/shapeworld/manifest.json). When it reproduces the commit, the fresh copy
 * replaces data/shapeworld (which repairs missing or damaged files); when it does not, nothing is
 * touched and the command fails listing the differences. `--update-manifest` accepts a new
 * generator version: it rebuilds data/shapeworld and its manifest in place.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildShapeWorld, compareManifests, readManifest, shapeWorldStats, verifyShapeWorld, DEFAULT_DATA_DIR } from '../../data/shapeworld/index';
import type { Mismatch } from '../../data/shapeworld/index';
import type { Flags } from '../args';

const log = (m: string) => console.error(m);

/** Replace `dir` by `fresh` with renames (the old copy is removed only after the swap). */
function swapInto(fresh: string, dir: string): void {
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(fresh, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

export async function dataBuildCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (flags['update-manifest']) {
    const r = await buildShapeWorld(DEFAULT_DATA_DIR, { log });
    return { ok: true, updated: true, dir: r.dir, seconds: round(r.seconds), msPerSample: round(r.msPerSample), splits: r.manifest.splits, totalBytes: r.manifest.totalBytes };
  }
  const result = await rebuildShapeWorld(flags.out ? String(flags.out) : null);
  if (!flags.json) {
    for (const [k, v] of Object.entries(result.splits)) console.log(`${k.padEnd(20)} ${String(v.count).padStart(4)} samples  ${v.matches ? 'checksum matches' : 'CHECKSUM DIFFERS'}`);
    console.log(result.ok
      ? `reproduced the committed manifest: ${result.files} files${result.filesCompared ? ', every sha256 equal' : ' (PNG codec differs: content checksums compared, file bytes not)'} (${result.seconds} s)`
      : `does NOT reproduce the committed manifest: ${result.mismatchCount} differences, e.g. ${JSON.stringify(result.mismatches.slice(0, 3))}`);
  }
  return result as unknown as Record<string, unknown>;
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
export async function rebuildShapeWorld(outDir: string | null = null): Promise<RebuildResult> {
  const committed = await readManifest(DEFAULT_DATA_DIR);
  if (!committed) throw new Error(`no committed manifest at ${path.join(DEFAULT_DATA_DIR, 'manifest.json')}: run "coprs data build --update-manifest" to create the splits`);
  const out = outDir ? path.resolve(outDir) : null;
  if (out && path.resolve(out) === path.resolve(DEFAULT_DATA_DIR)) throw new Error('--out must differ from data/shapeworld (use --update-manifest to rebuild it in place)');
  const buildDir = out ?? path.join(path.dirname(DEFAULT_DATA_DIR), `.shapeworld-rebuild-${process.pid}`);
  let mismatches: Mismatch[] = [];
  let filesCompared = false;
  try {
    const r = await buildShapeWorld(buildDir, { log });
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

export async function dataVerifyCommand(flags: Flags): Promise<Record<string, unknown>> {
  const r = await verifyShapeWorld(DEFAULT_DATA_DIR);
  if (!flags.json) {
    console.log(r.ok
      ? `data/shapeworld matches its manifest (${r.checkedFiles} files, ${r.checkedSplits} split checksums)`
      : `data/shapeworld does NOT match its manifest: ${r.mismatches.length} problems, e.g. ${JSON.stringify(r.mismatches.slice(0, 3))}\nrepair with: coprs data build`);
  }
  return { ...r, mismatches: r.mismatches.slice(0, 20), mismatchCount: r.mismatches.length };
}

export async function dataStatsCommand(flags: Flags): Promise<Record<string, unknown>> {
  const stats = await shapeWorldStats(DEFAULT_DATA_DIR);
  if (!flags.json) {
    console.log('split                 count  subsets                    objects  target px  query words');
    for (const [k, s] of Object.entries(stats.splits)) {
      const subsets = Object.entries(s.subsets).map(([n, c]) => `${n} ${c}`).join(', ');
      console.log(`${k.padEnd(20)} ${String(s.count).padStart(6)}  ${subsets.padEnd(26)} ${s.objectsPerScene.mean.toFixed(2).padStart(7)}  ${s.targetArea.mean.toFixed(0).padStart(9)}  ${s.queryWords.mean.toFixed(1).padStart(11)}`);
    }
    console.log(`total ${stats.total} frozen samples (train streams are generated on the fly)`);
  }
  return stats as unknown as Record<string, unknown>;
}

const round = (v: number) => Math.round(v * 100) / 100;
