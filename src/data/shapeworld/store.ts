/**
 * The on-disk format of the frozen splits and its readers.
 *
 *   data/shapeworld/
 *     manifest.json                      sha256 + size of every file, per-split checksums, counts, version
 *     README.md                          this layout, for people browsing the data
 *     <dataset>/<split>/index.jsonl      one JSON record per sample (`IndexRecord`), in index order
 *     <dataset>/<split>/images/NNNNNN.png     128x128 RGB image
 *     <dataset>/<split>/labels/NNNNNN.png     128x128 one-channel label map (0 background, k+1 object k)
 *
 * A split's checksum is sha256 over, for every sample in order: its index line + "\n", the decoded
 * RGB bytes, the decoded label bytes. It does not depend on the PNG encoder; the file hashes do.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ChainOfThought, Sample } from '../sample';
import { DEFAULT_CONFIG } from './config';
import { assembleSample, shapeWorldMeta, type SampleRequest, type ShapeWorldDataset } from './make-sample';
import { decodeLabelPng, decodeRgbPng } from './png';
import type { Program } from './program';
import { programConstructs } from './program';
import type { LabelMap } from './render';
import type { SceneGraph } from './scene';
import { getSplit } from './splits';
import { mapLimit } from '../../util/async';

/** The repository root (resolved from this file, not from the working directory). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Where the frozen splits live by default. */
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, 'data', 'shapeworld');

/** One line of a split's index.jsonl. */
export interface IndexRecord {
  id: string;
  index: number;
  subset: string;
  query: string;
  /** Image path relative to the split directory. */
  image: string;
  /** Label-map path relative to the split directory. */
  labels: string;
  targetIds: number[];
  family: string;
  constructs: string[];
  sceneSeed: number;
  program: Program;
  scene: SceneGraph;
  cot: ChainOfThought;
}

/** File stem of sample `index`. */
export function sampleStem(index: number): string {
  return String(index).padStart(6, '0');
}

/** The index record of a generated sample. */
export function sampleToRecord(s: Sample): IndexRecord {
  const m = shapeWorldMeta(s);
  if (!s.cot) throw new Error(`sample ${s.id} has no chain of thought`);
  const stem = sampleStem(m.index);
  return {
    id: s.id,
    index: m.index,
    subset: s.subset ?? '',
    query: s.query,
    image: `images/${stem}.png`,
    labels: `labels/${stem}.png`,
    targetIds: m.targetIds,
    family: m.family,
    constructs: m.constructs,
    sceneSeed: m.sceneSeed,
    program: m.program,
    scene: m.scene,
    cot: s.cot,
  };
}

/** Rebuilds a Sample from its record and decoded pixels (identical to the generated sample). */
export function recordToSample(dataset: ShapeWorldDataset, split: string, rec: IndexRecord, image: Sample['image'], labelMap: LabelMap): Sample {
  const spec = getSplit(dataset, split);
  const req: SampleRequest = {
    dataset, split, id: rec.id, index: rec.index, grammar: spec.grammar, profile: spec.profile, subset: rec.subset, pool: spec.pool, seed: 0, config: DEFAULT_CONFIG,
  };
  const query = { family: rec.family, program: rec.program, targetId: rec.targetIds[0], text: rec.query, asks: rec.cot.asks, constructs: programConstructs(rec.program) };
  const s = assembleSample(req, rec.scene, query, rec.sceneSeed, image, labelMap);
  s.cot = rec.cot;
  return s;
}

/** Incremental split checksum (see the module comment). */
export class SplitHasher {
  private readonly h = createHash('sha256');
  add(line: string, rgb: Uint8Array, labels: Uint8Array): void {
    this.h.update(line + '\n', 'utf8');
    this.h.update(rgb);
    this.h.update(labels);
  }
  digest(): string {
    return this.h.digest('hex');
  }
}

/** Reads a split's index records. */
export async function readIndex(splitDir: string): Promise<IndexRecord[]> {
  const text = await fs.readFile(path.join(splitDir, 'index.jsonl'), 'utf8');
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as IndexRecord);
}

/** Options of `loadSplit`. */
export interface LoadOptions {
  /** Load only the first `limit` samples. */
  limit?: number;
  /** Data directory (default: data/shapeworld in the repository). */
  dir?: string;
}


/**
 * Loads a frozen split from disk. Training splits are streams: use `trainStream(dataset)` instead.
 * Unknown names throw and list the valid ones.
 */
export async function loadSplit(dataset: string, split: string, opts: LoadOptions = {}): Promise<Sample[]> {
  const spec = getSplit(dataset, split);
  if (spec.kind !== 'frozen') {
    throw new Error(`ShapeWorld-RS: ${dataset}/${split} is a seeded stream, not a file split; use trainStream('${dataset}', { seed }) instead`);
  }
  const dir = path.join(opts.dir ?? DEFAULT_DATA_DIR, dataset, split);
  let recs: IndexRecord[];
  try {
    recs = await readIndex(dir);
  } catch (e) {
    throw new Error(`ShapeWorld-RS: cannot read ${path.join(dir, 'index.jsonl')} (${(e as Error).message}); rebuild with buildShapeWorld()`);
  }
  if (opts.limit !== undefined) recs = recs.slice(0, Math.max(0, opts.limit));
  return mapLimit(recs, 8, async (rec) => {
    const [image, labels] = await Promise.all([decodeRgbPng(path.join(dir, rec.image)), decodeLabelPng(path.join(dir, rec.labels))]);
    return recordToSample(spec.dataset, split, rec, image, labels);
  });
}
