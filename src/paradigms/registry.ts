/**
 * The paradigm registry: names → `ParadigmDefinition`s, and building a paradigm from the shipped
 * stage-1 mini-SAM and stage-2 policy checkpoints (`buildParadigm`) or from one of its own
 * checkpoints (`loadParadigm`). See types.ts ("Adding a paradigm"): a new paradigm exports its
 * definition and is appended to `BUILTIN_PARADIGMS` below (or registered at run time with
 * `registerParadigm`, e.g. from a notebook).
 *
 *   const p = buildParadigm('lisa', { sam: 'data/checkpoints/sam-S', policy: 'data/checkpoints/policy-small', preset: 'small' });
 *   p.trainStep(); const preds = await p.predict(samples); p.dispose();
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, readCheckpointMeta, type CheckpointMeta } from '../train/checkpoint';
import { buildSamFromConfig } from '../models/sam/build-sam';
import { parseSamSize, resolveSamConfig } from '../models/sam/config';
import { loadSamCheckpoint } from '../models/sam/eval';
import { loadPolicy, readPolicyConfig, samSource } from '../models/policy/checkpoint';
import { resolvePolicyConfig } from '../models/policy/config';
import { PolicyModel } from '../models/policy/model';
import { Tokenizer } from '../models/policy/tokenizer';
import { resolveSamDir } from '../models/coprs/checkpoint';
import { PARADIGM_KIND, type Paradigm, type ParadigmCheckpointConfig, type ParadigmDefinition, type ParadigmParts, type ParadigmTrainConfig } from './types';
import { LISA } from './lisa/index';
import { SEG_ZERO } from './seg-zero/index';
import { CORES } from './cores/index';
import { RSVP } from './rsvp/index';
import { CR_SEG } from './cr-seg/index';

/** The paradigms the kit ships, in the order of DESIGN §4's table (append new ones here). */
export const BUILTIN_PARADIGMS: ParadigmDefinition<any>[] = [LISA, SEG_ZERO, CORES, RSVP, CR_SEG]; // eslint-disable-line @typescript-eslint/no-explicit-any

const REGISTRY = new Map<string, ParadigmDefinition<ParadigmTrainConfig>>();

/** Register a paradigm under its name (lower-case letters, digits and -). */
export function registerParadigm(def: ParadigmDefinition<any>, opts: { replace?: boolean } = {}): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!/^[a-z0-9][a-z0-9-]*$/.test(def.name)) throw new Error(`paradigm name "${def.name}": use lower-case letters, digits and -`);
  if (REGISTRY.has(def.name) && !opts.replace) throw new Error(`paradigm "${def.name}" is already registered (pass { replace: true } to override it)`);
  REGISTRY.set(def.name, def);
}

for (const d of BUILTIN_PARADIGMS) registerParadigm(d);

/** Registered names. */
export function paradigmNames(): string[] {
  return [...REGISTRY.keys()];
}

/** The definition of a name; an unknown name throws with the known list. */
export function getParadigm(name: string): ParadigmDefinition<ParadigmTrainConfig> {
  const d = REGISTRY.get(String(name));
  if (!d) throw new Error(`unknown paradigm "${name}"; known paradigms: ${paradigmNames().join(', ')}`);
  return d;
}

/**
 * Load the shared parts: the mini-SAM of `samDir` (a checkpoint folder or a stage-1 run folder with
 * best/) and the policy of `policyDir`, which must have been trained on that very mini-SAM (its
 * recorded encoder sha256 is checked, as for CoPRS: the policy reads the frozen embedding).
 */
export function loadSharedParts(samDir: string, policyDir: string): ParadigmParts {
  const sDir = resolveSamDir(samDir);
  try {
    readCheckpointMeta(sDir, { kind: 'sam' });
  } catch (e) {
    throw new Error(`--sam ${samDir}: ${(e as Error).message}`);
  }
  let policyMeta: CheckpointMeta;
  let recorded;
  try {
    const r = readPolicyConfig(policyDir);
    policyMeta = r.meta;
    recorded = r.config.encoder;
  } catch (e) {
    throw new Error(`--policy ${policyDir}: ${(e as Error).message}`);
  }
  const sam = loadSamCheckpoint(sDir);
  const source = samSource(sDir, sam.embedDim, sam.embedSize);
  if (recorded.kind !== 'sam' || recorded.sha256 !== source.sha256) {
    sam.dispose();
    throw new Error(`--policy ${policyDir} was not trained on --sam ${samDir} (encoder weights differ); pass the mini-SAM the policy was trained on`);
  }
  try {
    const bundle = loadPolicy(policyDir, { encoder: 'none' });
    return { policy: bundle.model, sam, sources: { sam: source, policy: { dir: policyDir, sha256: policyMeta.weightsSha256, step: policyMeta.step } } };
  } catch (e) {
    sam.dispose();
    throw e;
  }
}

export interface BuildParadigmOptions {
  /** Stage-1 mini-SAM folder and stage-2 policy folder (e.g. data/checkpoints/sam-S, data/checkpoints/policy-small). */
  sam?: string;
  policy?: string;
  /** Or parts already in memory (tests, notebooks); the paradigm takes ownership. */
  parts?: ParadigmParts;
  /** Training preset (default small). */
  preset?: string;
  /** Config overrides (unknown keys rejected). */
  overrides?: unknown;
}

/** A new paradigm from the shared parts (see the module comment). */
export function buildParadigm(name: string, opts: BuildParadigmOptions): Paradigm {
  const def = getParadigm(name);
  const config = def.resolveConfig(opts.preset ?? 'small', opts.overrides);
  let parts = opts.parts;
  if (!parts) {
    if (!opts.sam || !opts.policy) throw new Error(`buildParadigm(${name}): give sam and policy checkpoint folders, or parts`);
    parts = loadSharedParts(opts.sam, opts.policy);
  }
  try {
    return def.create(parts, config);
  } catch (e) {
    parts.policy.dispose();
    parts.sam.dispose();
    throw e;
  }
}

/** Read a paradigm checkpoint's config (no tensors), checked. */
export function readParadigmConfig(dir: string): { meta: CheckpointMeta; config: ParadigmCheckpointConfig } {
  const meta = readCheckpointMeta(dir, { kind: PARADIGM_KIND });
  const c = meta.config as ParadigmCheckpointConfig | null;
  if (!c || typeof c !== 'object' || !c.paradigm || !c.train || !c.policy || !c.sam || !c.tokenizer) {
    throw new Error(`checkpoint ${dir}: config.paradigm, train, policy, sam and tokenizer are required in a paradigm checkpoint; it was not written by src/paradigms`);
  }
  return { meta, config: c };
}

/**
 * Load a paradigm checkpoint (a run folder's best weights, or OUT/latest with the training state):
 * rebuild the parts from the recorded configs, then assign every tensor. `steps` may extend the
 * run's step count (resume).
 */
export function loadParadigm(dir: string, opts: { steps?: number } = {}): Paradigm {
  const { config: c } = readParadigmConfig(dir);
  const def = getParadigm(c.paradigm);
  const { preset, paradigm: _name, ...rest } = c.train;
  const config = def.resolveConfig(preset, { ...rest, ...(opts.steps != null ? { steps: opts.steps } : {}) });
  const { meta, tensors } = loadCheckpoint(dir, { kind: PARADIGM_KIND });
  try {
    const sam = buildSamFromConfig(resolveSamConfig(parseSamSize(c.sam.size), c.sam));
    let policy: PolicyModel;
    try {
      policy = new PolicyModel(resolvePolicyConfig(c.policy.preset, c.policy), Tokenizer.fromJSON(c.tokenizer), { embedDim: sam.embedDim, gridSize: sam.embedSize });
    } catch (e) {
      sam.dispose();
      throw e;
    }
    const p = def.create({ policy, sam, sources: c.sources }, config);
    try {
      p.loadState(meta, tensors);
    } catch (e) {
      p.dispose();
      throw e;
    }
    return p;
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
