/**
 * Regenerating the frozen ShapeWorld-RS splits into a temporary directory reproduces the committed
 * manifest exactly: per-split checksums over decoded pixels + index lines, and every file's sha256.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildShapeWorld, compareManifests, readManifest } from '../src/data/shapeworld/index';

describe('shapeworld build', () => {
  it('regenerates the committed splits bit-identically', { timeout: 180_000 }, async (t) => {
    const committed = await readManifest();
    assert.ok(committed, 'data/shapeworld/manifest.json is missing: run node --import tsx src/data/shapeworld/build-cli.ts');
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'shapeworld-build-'));
    try {
      const t0 = performance.now();
      const r = await buildShapeWorld(path.join(parent, 'shapeworld'));
      const seconds = (performance.now() - t0) / 1000;
      t.diagnostic(`shapeworld rebuild: ${seconds.toFixed(1)} s, ${r.msPerSample.toFixed(2)} ms/sample generation+rendering`);
      const { mismatches, filesCompared } = compareManifests(r.manifest, committed!);
      if (!filesCompared) t.diagnostic(`PNG codec differs (${r.manifest.codec} vs ${committed!.codec}): file hashes not compared`);
      // Content checksums are independent of the PNG encoder; file bytes are compared with the same sharp/libvips build.
      assert.deepEqual(mismatches, [], 'generated data differs from data/shapeworld: bump SHAPEWORLD_VERSION and rebuild');
      if (filesCompared) assert.equal(r.manifest.totalBytes, committed!.totalBytes);
      const left = (await fs.readdir(parent)).filter((f) => f !== 'shapeworld');
      assert.deepEqual(left, [], 'temporary build directories left behind');
      assert.ok(seconds < 60, `rebuild took ${seconds.toFixed(1)} s`);
    } finally {
      await fs.rm(parent, { recursive: true, force: true });
    }
  });
});
