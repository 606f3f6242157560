/**
 * One ShapeWorld-RS sample from its coordinates (dataset, split, index, seed): generate the scene,
 * ask a query with the split's grammar (regenerating the scene when no query fits), render, and
 * derive the target mask, instance masks and chain of thought.
 */
import { Rng, deriveSeed } from '../../util/rng';
import type { BinaryMask, Sample } from '../sample';
import { DEFAULT_CONFIG, type ProfileName, type ShapeWorldConfig } from './config';
import { buildChainOfThought } from './cot';
import type { Program } from './program';
import type { Query } from './query';
import { reasonShapesQuery } from './reasonshapes';
import { refShapesQuery } from './refshapes';
import { instanceMasks, objectMask, renderScene, type LabelMap } from './render';
import { generateScene, type SceneGraph } from './scene';
import { sceneSeed, type ScenePool } from './seeds';
import { SHAPEWORLD_VERSION } from './version';

export type ShapeWorldDataset = 'refshapes' | 'reasonshapes';

/**
 * What `sample.meta` holds for ShapeWorld-RS samples.
 * - scene: the full scene graph (objects with geometry and visibility, background).
 * - targetIds: ids (= indices into scene.objects) of the referent(s); always one object here.
 * - program: the query program; `evaluateProgram(program, scene)` selects exactly targetIds.
 * - family / constructs: the template family and the grammar constructs the program uses.
 * - labelMap: per-pixel labels (0 background, k + 1 object k); instanceMasks: one visible-pixel mask per object.
 */
export interface ShapeWorldMeta {
  generator: 'shapeworld-rs';
  version: string;
  /** Sample index within its split or stream. */
  index: number;
  /** Seed of the scene generator (training scenes have the top bit clear, evaluation scenes set). */
  sceneSeed: number;
  scene: SceneGraph;
  targetIds: number[];
  program: Program;
  family: string;
  constructs: string[];
  labelMap: LabelMap;
  instanceMasks: BinaryMask[];
}

/** Coordinates and generation settings of one sample. */
export interface SampleRequest {
  dataset: ShapeWorldDataset;
  split: string;
  /** Sample id, unique in its dataset and split. */
  id: string;
  index: number;
  /** Which grammar asks the query. */
  grammar: 'ref' | 'reason';
  profile: ProfileName;
  /** Subset tag ('sparse' | 'crowded' | 'mixed' | 'short' | 'long'). */
  subset: string;
  pool: ScenePool;
  seed: number;
  config?: ShapeWorldConfig;
}

/** Scene restarts allowed when no query fits a scene. */
const MAX_QUERY_ATTEMPTS = 50;

/** The scene and query of a sample (no rendering). */
export function sampleSceneAndQuery(req: SampleRequest): { scene: SceneGraph; query: Query; sceneSeed: number } {
  const cfg = req.config ?? DEFAULT_CONFIG;
  for (let attempt = 0; attempt < MAX_QUERY_ATTEMPTS; attempt++) {
    const seed = sceneSeed(req.pool, req.seed, req.dataset, req.split, req.index, attempt);
    const scene = generateScene(new Rng(seed), { config: cfg, profile: req.profile });
    const qrng = new Rng(deriveSeed(seed, 'query', req.dataset, req.subset));
    const query = req.grammar === 'ref' ? refShapesQuery(scene, qrng, cfg) : reasonShapesQuery(scene, qrng, cfg, req.subset === 'long' ? 'long' : 'short');
    if (query) return { scene, query, sceneSeed: seed };
  }
  throw new Error(`ShapeWorld: no ${req.grammar} query fits ${MAX_QUERY_ATTEMPTS} scenes for ${req.id}`);
}

/** Builds a Sample from a scene, a query and the rendered label map. */
export function assembleSample(req: SampleRequest, scene: SceneGraph, query: Query, seed: number, image: Sample['image'], labelMap: LabelMap): Sample {
  const cfg = req.config ?? DEFAULT_CONFIG;
  const meta: ShapeWorldMeta = {
    generator: 'shapeworld-rs',
    version: SHAPEWORLD_VERSION,
    index: req.index,
    sceneSeed: seed,
    scene,
    targetIds: [query.targetId],
    program: query.program,
    family: query.family,
    constructs: query.constructs,
    labelMap,
    instanceMasks: instanceMasks(labelMap, scene.objects.length),
  };
  return {
    id: req.id,
    dataset: req.dataset,
    split: req.split,
    subset: req.subset,
    image,
    mask: objectMask(labelMap, [query.targetId]),
    query: query.text,
    cot: buildChainOfThought(scene, query, cfg),
    meta: meta as unknown as Record<string, unknown>,
  };
}

/** Generates one complete sample. */
export function makeSample(req: SampleRequest): Sample {
  const { scene, query, sceneSeed: seed } = sampleSceneAndQuery(req);
  const { image, labelMap } = renderScene(scene, req.config ?? DEFAULT_CONFIG);
  return assembleSample(req, scene, query, seed, image, labelMap);
}

/** The ShapeWorld meta of a sample (throws when the sample is not a ShapeWorld-RS sample). */
export function shapeWorldMeta(s: Sample): ShapeWorldMeta {
  const m = s.meta as unknown as ShapeWorldMeta | undefined;
  if (!m || m.generator !== 'shapeworld-rs') throw new Error(`sample ${s.id} is not a ShapeWorld-RS sample (meta.generator missing)`);
  return m;
}
