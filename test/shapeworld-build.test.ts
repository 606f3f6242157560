/**
 * Regenerating the frozen ShapeWorld-RS splits reproduces the committed manifest exactly: per-split
 * checksums over decoded pixels + index lines, and every file's sha256 (with the same PNG codec).
 * Goes through `rebuildShapeWorld`, what `coprs data build --out DIR` runs.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readManifest, rebuildShapeWorld } from '../src/data/shapeworld/index';

describe('shapeworld build', () => {
  it('regenerates the committed splits bit-identically', { timeout: 180_000 }, async (t) => {
    const committed = await readManifest();
    assert.ok(committed, 'data/shapeworld/manifest.json is missing: run coprs data build --update-manifest');
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'shapeworld-build-'));
    try {
      const r = await rebuildShapeWorld(path.join(parent, 'shapeworld'));
      t.diagnostic(`shapeworld rebuild: ${r.seconds} s, ${r.msPerSample} ms/sample generation+rendering`);
      if (!r.filesCompared) t.diagnostic('PNG codec differs from the committed one: file hashes not compared');
      // Content checksums are independent of the PNG encoder; file bytes are compared with the same sharp/libvips build.
      assert.deepEqual(r.mismatches, [], 'generated data differs from data/shapeworld: bump SHAPEWORLD_VERSION and rebuild');
      assert.ok(r.ok && r.reproduced);
      assert.equal(r.files, Object.keys(committed!.files).length);
      if (r.filesCompared) assert.equal(r.totalBytes, committed!.totalBytes);
      const left = (await fs.readdir(parent)).filter((f) => f !== 'shapeworld');
      assert.deepEqual(left, [], 'temporary build directories left behind');
    } finally {
      await fs.rm(parent, { recursive: true, force: true });
    }
  });
});
