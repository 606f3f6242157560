/**
 * The checksum manifest of the frozen splits and `verifyShapeWorld`, which checks a directory
 * against it: every listed file present with the listed sha256, no unlisted files, and every
 * split's checksum recomputed from the decoded pixels and the index lines.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { decodeLabelPng, decodeRgbPng } from './png';
import { DEFAULT_DATA_DIR, SplitHasher } from './store';
import { mapLimit } from '../../util/async';

/** data/shapeworld/manifest.json */
export interface Manifest {
  name: 'ShapeWorld-RS';
  /** Generator version (SHAPEWORLD_VERSION). */
  version: string;
  /** Base seed of the evaluation splits. */
  seed: number;
  /** sha256 of the generator config (JSON). */
  configSha256: string;
  /** The PNG encoder the file hashes were produced with. */
  codec: string;
  /** Per split ("refshapes/val"): sample count, subset counts, checksum over decoded content. */
  splits: Record<string, { count: number; profile: string; subsets: Record<string, number>; checksum: string }>;
  /** Per file (path relative to the data directory, "/" separated): sha256 and size. */
  files: Record<string, { sha256: string; bytes: number }>;
  /** Sum of the file sizes listed (manifest.json itself excluded). */
  totalBytes: number;
}

/** One problem found by `verifyShapeWorld`. */
export interface Mismatch {
  kind: 'missing-manifest' | 'missing-file' | 'extra-file' | 'sha256' | 'split-checksum' | 'count';
  path: string;
  expected?: string;
  actual?: string;
}

/** Result of `verifyShapeWorld`. */
export interface VerifyReport {
  ok: boolean;
  dir: string;
  version: string | null;
  checkedFiles: number;
  checkedSplits: number;
  mismatches: Mismatch[];
}

/** sha256 of bytes, hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under a directory, as sorted "/"-separated relative paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

/** Reads manifest.json of a data directory (null when absent). */
export async function readManifest(dir: string = DEFAULT_DATA_DIR): Promise<Manifest | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/** Options of `verifyShapeWorld`. */
export interface VerifyOptions {
  /** Also decode every PNG and recompute the per-split checksums (default true). */
  decode?: boolean;
}

/** Checks a data directory against its manifest; never throws on a mismatch, reports it. */
export async function verifyShapeWorld(dir: string = DEFAULT_DATA_DIR, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const mismatches: Mismatch[] = [];
  const manifest = await readManifest(dir);
  if (!manifest) {
    return { ok: false, dir, version: null, checkedFiles: 0, checkedSplits: 0, mismatches: [{ kind: 'missing-manifest', path: 'manifest.json' }] };
  }
  let present: string[] = [];
  try {
    present = (await listFiles(dir)).filter((f) => f !== 'manifest.json');
  } catch {
    present = [];
  }
  const listed = Object.keys(manifest.files).sort();
  const presentSet = new Set(present);
  for (const f of present) if (!(f in manifest.files)) mismatches.push({ kind: 'extra-file', path: f });
  const hashes = await mapLimit(listed, 16, async (f) => {
    if (!presentSet.has(f)) return null;
    return sha256(await fs.readFile(path.join(dir, f)));
  });
  listed.forEach((f, k) => {
    const h = hashes[k];
    if (h === null) mismatches.push({ kind: 'missing-file', path: f });
    else if (h !== manifest.files[f].sha256) mismatches.push({ kind: 'sha256', path: f, expected: manifest.files[f].sha256, actual: h });
  });
  let checkedSplits = 0;
  if (opts.decode !== false) {
    for (const [name, info] of Object.entries(manifest.splits)) {
      const splitDir = path.join(dir, ...name.split('/'));
      let lines: string[];
      try {
        lines = (await fs.readFile(path.join(splitDir, 'index.jsonl'), 'utf8')).split('\n').filter((l) => l.length > 0);
      } catch {
        mismatches.push({ kind: 'missing-file', path: `${name}/index.jsonl` });
        continue;
      }
      if (lines.length !== info.count) mismatches.push({ kind: 'count', path: name, expected: String(info.count), actual: String(lines.length) });
      const hasher = new SplitHasher();
      try {
        const decoded = await mapLimit(lines, 8, async (line) => {
          const rec = JSON.parse(line) as { image: string; labels: string };
          const [img, lab] = await Promise.all([decodeRgbPng(path.join(splitDir, rec.image)), decodeLabelPng(path.join(splitDir, rec.labels))]);
          return { line, img, lab };
        });
        for (const d of decoded) hasher.add(d.line, d.img.data, d.lab.data);
        const sum = hasher.digest();
        if (sum !== info.checksum) mismatches.push({ kind: 'split-checksum', path: name, expected: info.checksum, actual: sum });
      } catch (e) {
        mismatches.push({ kind: 'split-checksum', path: name, expected: info.checksum, actual: `unreadable: ${(e as Error).message}` });
      }
      checkedSplits++;
    }
  }
  return { ok: mismatches.length === 0, dir, version: manifest.version, checkedFiles: listed.length, checkedSplits, mismatches };
}

/**
 * Differences between a freshly built manifest and the committed one: generator version and
 * config, per-split content checksums (independent of the PNG encoder), and — when both were made
 * with the same PNG codec — every file's sha256. Empty when the build reproduces the commit.
 */
export function compareManifests(built: Manifest, committed: Manifest): { mismatches: Mismatch[]; filesCompared: boolean } {
  const mismatches: Mismatch[] = [];
  if (built.version !== committed.version) mismatches.push({ kind: 'split-checksum', path: 'version', expected: committed.version, actual: built.version });
  if (built.configSha256 !== committed.configSha256) mismatches.push({ kind: 'split-checksum', path: 'config', expected: committed.configSha256, actual: built.configSha256 });
  for (const key of new Set([...Object.keys(committed.splits), ...Object.keys(built.splits)])) {
    const a = committed.splits[key];
    const b = built.splits[key];
    if (!a || !b) mismatches.push({ kind: 'count', path: key, expected: a ? String(a.count) : 'absent', actual: b ? String(b.count) : 'absent' });
    else if (a.count !== b.count) mismatches.push({ kind: 'count', path: key, expected: String(a.count), actual: String(b.count) });
    else if (a.checksum !== b.checksum) mismatches.push({ kind: 'split-checksum', path: key, expected: a.checksum, actual: b.checksum });
  }
  const filesCompared = built.codec === committed.codec;
  for (const file of new Set([...Object.keys(committed.files), ...Object.keys(built.files)])) {
    const a = committed.files[file];
    const b = built.files[file];
    if (!a) mismatches.push({ kind: 'extra-file', path: file });
    else if (!b) mismatches.push({ kind: 'missing-file', path: file });
    else if (filesCompared && a.sha256 !== b.sha256) mismatches.push({ kind: 'sha256', path: file, expected: a.sha256, actual: b.sha256 });
  }
  return { mismatches, filesCompared };
}
