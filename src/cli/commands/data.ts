/**
 * `coprs data build | verify | stats`: the frozen ShapeWorld-RS splits.
 *
 * `data build` regenerates every frozen split into a temporary folder and compares it with the
 * committed manifest (data/shapeworld/manifest.json). When it reproduces the commit, the fresh copy
 * replaces data/shapeworld (which repairs missing or damaged files); when it does not, nothing is
 * touched and the command fails listing the differences. `--update-manifest` accepts a new
 * generator version: it rebuilds data/shapeworld and its manifest in place.
 */
import { buildShapeWorld, rebuildShapeWorld, shapeWorldStats, verifyShapeWorld, DEFAULT_DATA_DIR } from '../../data/shapeworld/index';
import type { Flags } from '../args';

const log = (m: string) => console.error(m);

export async function dataBuildCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (flags['update-manifest']) {
    const r = await buildShapeWorld(DEFAULT_DATA_DIR, { log });
    return { ok: true, updated: true, dir: r.dir, seconds: round(r.seconds), msPerSample: round(r.msPerSample), splits: r.manifest.splits, totalBytes: r.manifest.totalBytes };
  }
  const result = await rebuildShapeWorld(flags.out ? String(flags.out) : null, { log });
  if (!flags.json) {
    for (const [k, v] of Object.entries(result.splits)) console.log(`${k.padEnd(20)} ${String(v.count).padStart(4)} samples  ${v.matches ? 'checksum matches' : 'CHECKSUM DIFFERS'}`);
    console.log(result.ok
      ? `reproduced the committed manifest: ${result.files} files${result.filesCompared ? ', every sha256 equal' : ' (PNG codec differs: content checksums compared, file bytes not)'} (${result.seconds} s)`
      : `does NOT reproduce the committed manifest: ${result.mismatchCount} differences, e.g. ${JSON.stringify(result.mismatches.slice(0, 3))}`);
  }
  return result as unknown as Record<string, unknown>;
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
