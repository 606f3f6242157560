/**
 * The ShapeWorld-RS splits.
 *
 * refshapes (RefCOCO analog, short explicit expressions):
 * - train: seeded infinite stream of mixed scenes (2-6 objects), training half of the seed space.
 * - val:   300 frozen samples, mixed scenes (2-6 objects, moderate occlusion), subset 'mixed'.
 * - testA: 300 frozen samples, sparse scenes (2-3 objects, each at least 95% visible), subset 'sparse'.
 * - testB: 300 frozen samples, crowded scenes (5-6 objects, placed against each other, down to 50%
 *          visible), subset 'crowded'.
 * reasonshapes (ReasonSeg analog, implicit multi-step queries; zero-shot for stage 3):
 * - train: seeded infinite stream of reasoning-style queries on training scenes only (for cold
 *          start / experiments; the evaluation scenes come from the disjoint evaluation seed half).
 * - val:   200 frozen samples, test: 400 frozen samples; 3-6 objects; even indices 'short'
 *          (one implicit phrase), odd indices 'long' (a situation sentence + a question).
 */
import type { Sample } from '../sample';
import type { ProfileName, ShapeWorldConfig } from './config';
import { makeSample, type SampleRequest, type ShapeWorldDataset } from './make-sample';
import type { ScenePool } from './seeds';
import { SHAPEWORLD_SEED } from './version';

/** One split's definition. */
export interface SplitSpec {
  dataset: ShapeWorldDataset;
  split: string;
  /** 'stream': generated on the fly, infinite; 'frozen': files under data/shapeworld. */
  kind: 'stream' | 'frozen';
  grammar: 'ref' | 'reason';
  profile: ProfileName;
  /** Number of samples (frozen splits). */
  count?: number;
  /** Subset tag of sample `index`. */
  subsetOf: (index: number) => string;
  pool: ScenePool;
  description: string;
}

const fixed = (s: string) => (): string => s;
const shortLong = (i: number): string => (i % 2 === 0 ? 'short' : 'long');

/** Every split, by dataset and name. */
export const SPLITS: Record<ShapeWorldDataset, Record<string, SplitSpec>> = {
  refshapes: {
    train: { dataset: 'refshapes', split: 'train', kind: 'stream', grammar: 'ref', profile: 'mixed', subsetOf: fixed('mixed'), pool: 'train', description: 'seeded infinite stream, mixed scenes (2-6 objects)' },
    val: { dataset: 'refshapes', split: 'val', kind: 'frozen', grammar: 'ref', profile: 'mixed', count: 300, subsetOf: fixed('mixed'), pool: 'eval', description: 'mixed scenes: 2-6 objects, moderate occlusion' },
    testA: { dataset: 'refshapes', split: 'testA', kind: 'frozen', grammar: 'ref', profile: 'sparse', count: 300, subsetOf: fixed('sparse'), pool: 'eval', description: 'sparse scenes: 2-3 objects, each at least 95% visible' },
    testB: { dataset: 'refshapes', split: 'testB', kind: 'frozen', grammar: 'ref', profile: 'crowded', count: 300, subsetOf: fixed('crowded'), pool: 'eval', description: 'crowded scenes: 5-6 objects placed against each other, down to 50% visible' },
  },
  reasonshapes: {
    train: { dataset: 'reasonshapes', split: 'train', kind: 'stream', grammar: 'reason', profile: 'reasoning', subsetOf: shortLong, pool: 'train', description: 'seeded infinite stream of reasoning queries on training scenes (short/long alternate)' },
    val: { dataset: 'reasonshapes', split: 'val', kind: 'frozen', grammar: 'reason', profile: 'reasoning', count: 200, subsetOf: shortLong, pool: 'eval', description: '3-6 objects, half short and half long queries' },
    test: { dataset: 'reasonshapes', split: 'test', kind: 'frozen', grammar: 'reason', profile: 'reasoning', count: 400, subsetOf: shortLong, pool: 'eval', description: '3-6 objects, half short and half long queries' },
  },
};

/** Dataset names. */
export const SHAPEWORLD_DATASETS = Object.keys(SPLITS) as ShapeWorldDataset[];

/** A split's definition; unknown names throw an error that lists the valid ones. */
export function getSplit(dataset: string, split: string): SplitSpec {
  const ds = (SPLITS as Record<string, Record<string, SplitSpec>>)[dataset];
  if (!ds) throw new Error(`ShapeWorld-RS: unknown dataset "${dataset}"; valid datasets: ${SHAPEWORLD_DATASETS.join(', ')}`);
  const spec = ds[split];
  if (!spec) throw new Error(`ShapeWorld-RS: unknown split "${split}" for dataset "${dataset}"; valid splits: ${Object.keys(ds).join(', ')}`);
  return spec;
}

/** A row of `listSplits()`. */
export interface SplitInfo {
  dataset: ShapeWorldDataset;
  split: string;
  kind: 'stream' | 'frozen';
  count: number | null;
  profile: ProfileName;
  description: string;
}

/** Every split as a plain table. */
export function listSplits(): SplitInfo[] {
  return SHAPEWORLD_DATASETS.flatMap((d) =>
    Object.values(SPLITS[d]).map((s) => ({ dataset: s.dataset, split: s.split, kind: s.kind, count: s.count ?? null, profile: s.profile, description: s.description })),
  );
}

/** The frozen splits. */
export function frozenSplits(): SplitSpec[] {
  return SHAPEWORLD_DATASETS.flatMap((d) => Object.values(SPLITS[d]).filter((s) => s.kind === 'frozen'));
}

/** The request for sample `index` of a split. */
export function sampleRequest(spec: SplitSpec, index: number, seed: number, config?: ShapeWorldConfig): SampleRequest {
  if (!Number.isInteger(index) || index < 0) throw new Error(`ShapeWorld-RS: sample index must be a non-negative integer, got ${index}`);
  const id = spec.kind === 'frozen' ? `${spec.dataset}/${spec.split}/${String(index).padStart(6, '0')}` : `${spec.dataset}/${spec.split}/s${seed}/${index}`;
  return { dataset: spec.dataset, split: spec.split, id, index, grammar: spec.grammar, profile: spec.profile, subset: spec.subsetOf(index), pool: spec.pool, seed, config };
}

/** Options of in-memory generation. */
export interface GenerateOptions {
  /** Base seed (default SHAPEWORLD_SEED; the frozen files use the default). */
  seed?: number;
  /** Generator config (default DEFAULT_CONFIG). */
  config?: ShapeWorldConfig;
}

/** Generates sample `index` of any split in memory (frozen splits: identical to the file version). */
export function generateSplitSample(dataset: string, split: string, index: number, opts: GenerateOptions = {}): Sample {
  const spec = getSplit(dataset, split);
  if (spec.count !== undefined && index >= spec.count) throw new Error(`ShapeWorld-RS: ${dataset}/${split} has ${spec.count} samples, index ${index} is out of range`);
  return makeSample(sampleRequest(spec, index, opts.seed ?? SHAPEWORLD_SEED, opts.config));
}

/** State of a training stream: the next sample is a pure function of it. */
export interface StreamState {
  dataset: ShapeWorldDataset;
  seed: number;
  /** Index of the next sample. */
  index: number;
}

/** A seeded infinite stream of training samples with a restorable state. */
export interface ShapeWorldStream extends Iterable<Sample> {
  /** The next sample. */
  next(): Sample;
  /** A batch of the next n samples. */
  take(n: number): Sample[];
  /** The state to store in a checkpoint. */
  getState(): StreamState;
  /** Restores a state from `getState()`. */
  setState(state: StreamState): void;
}

/** Options of a training stream. */
export interface StreamOptions {
  /** Seed (default SHAPEWORLD_SEED). */
  seed?: number;
  /** Index of the first sample (default 0). */
  start?: number;
  config?: ShapeWorldConfig;
}

/**
 * The training stream of a dataset ('refshapes' or 'reasonshapes'): sample i is generated from
 * (seed, i) alone, from training scenes only.
 */
export function trainStream(dataset: string, opts: StreamOptions = {}): ShapeWorldStream {
  const spec = getSplit(dataset, 'train');
  let seed = (opts.seed ?? SHAPEWORLD_SEED) >>> 0;
  let index = opts.start ?? 0;
  const stream: ShapeWorldStream = {
    next() {
      return makeSample(sampleRequest(spec, index++, seed, opts.config));
    },
    take(n: number) {
      const out: Sample[] = [];
      for (let k = 0; k < n; k++) out.push(stream.next());
      return out;
    },
    getState() {
      return { dataset: spec.dataset, seed, index };
    },
    setState(state: StreamState) {
      if (state.dataset !== spec.dataset) throw new Error(`trainStream.setState: state is for "${state.dataset}", this stream is "${spec.dataset}"`);
      if (!Number.isInteger(state.index) || state.index < 0) throw new Error(`trainStream.setState: bad index ${state.index}`);
      seed = state.seed >>> 0;
      index = state.index;
    },
    *[Symbol.iterator]() {
      for (;;) yield stream.next();
    },
  };
  return stream;
}
