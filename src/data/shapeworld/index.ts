/**
 * ShapeWorld-RS: the embedded benchmark (procedural scenes, anti-aliased renderer, instance masks,
 * scene graphs, the refshapes and reasonshapes query grammars with ground-truth chains of thought,
 * frozen evaluation splits with a checksum manifest). See README.md in this folder.
 */
export { DEFAULT_CONFIG, resolveConfig, validateConfig } from './config';
export type { DeepPartial, ProfileName, SceneProfile, ShapeWorldConfig } from './config';
export { COLORS, COLOR_RGB, POSITIONS, REGIONS, SHAPES, SIZES, positionPhrase, positionWord } from './vocab';
export type { ColorName, PositionWord, RegionName, ShapeKind, SizeName } from './vocab';
export { composeScene, generateScene } from './scene';
export type { ObjectGeometry, ObjectSpec, SceneGraph, SceneObject, SceneOptions } from './scene';
export type { BackgroundSpec } from './background';
export { instanceMasks, objectMask, renderScene } from './render';
export type { LabelMap, RenderResult } from './render';
export { FACTS, getFact } from './knowledge';
export type { Fact } from './knowledge';
export { evaluateProgram, programConstructs } from './program';
export type { EvalResult, Predicate, Program, ProgramNode, Relation, SuperlativeKind } from './program';
export type { Query } from './query';
export { refCandidates, refShapesQuery } from './refshapes';
export { reasonCandidates, reasonShapesQuery } from './reasonshapes';
export { buildChainOfThought } from './cot';
export { makeSample, shapeWorldMeta } from './make-sample';
export type { ShapeWorldDataset, ShapeWorldMeta } from './make-sample';
export { SPLITS, SHAPEWORLD_DATASETS, frozenSplits, generateSplitSample, getSplit, listSplits, trainStream } from './splits';
export type { GenerateOptions, ShapeWorldStream, SplitInfo, SplitSpec, StreamOptions, StreamState } from './splits';
export { isTrainSeed, sceneSeed } from './seeds';
export { DEFAULT_DATA_DIR, REPO_ROOT, loadSplit } from './store';
export type { IndexRecord, LoadOptions } from './store';
export { compareManifests, readManifest, verifyShapeWorld } from './manifest';
export type { Manifest, Mismatch, VerifyReport } from './manifest';
export { buildShapeWorld } from './build';
export type { BuildOptions, BuildResult } from './build';
export { shapeWorldStats } from './stats';
export type { ShapeWorldStats, SplitStats, Summary } from './stats';
export { SHAPEWORLD_SEED, SHAPEWORLD_VERSION } from './version';
export { rebuildShapeWorld } from './rebuild';
export type { RebuildResult } from './rebuild';
