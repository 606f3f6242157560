/**
 * CoPRS checkpoints (kind 'coprs', size = the training preset) and building the model for stage 3
 * from a stage-1 mini-SAM checkpoint and a stage-2 policy checkpoint.
 *
 * A coprs checkpoint is self-contained: every tensor of the model under its checkpoint name
 * (`policy.*`, `sam.*` — the frozen image encoder included — and `head.*`), and a config holding
 * the policy config, the mini-SAM build config, the head config and the vocabulary, plus where the
 * parts came from (`sources`) and, when a trainer wrote it, the resolved training config. A
 * trainer's `latest/` adds the reference policy (`ref.*`) and the AdamW state (`adamw.*`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { assignParams, loadCheckpoint, readCheckpointMeta, saveCheckpoint, type CheckpointMeta, type SaveInput } from '../../train/checkpoint';
import { buildSamFromConfig } from '../sam/build-sam';
import { resolveSamConfig, parseSamSize, type SamConfig } from '../sam/config';
import { loadSamCheckpoint } from '../sam/eval';
import { loadPolicy, readPolicyConfig, samSource, type EncoderSource } from '../policy/checkpoint';
import { resolvePolicyConfig, type PolicyConfig } from '../policy/config';
import { PolicyModel } from '../policy/model';
import { Tokenizer, type TokenizerJSON } from '../policy/tokenizer';
import { CoprsModel } from './model';
import { resolveCoprsModelConfig, type CoprsModelConfig } from './config';

export const COPRS_KIND = 'coprs';

/** Where the parts of a CoPRS model came from. */
export interface CoprsSources {
  /** The stage-1 mini-SAM (folder and weights sha256): the frozen encoder, prompt encoder and mask decoder. */
  sam: EncoderSource;
  /** The stage-2 policy checkpoint (folder, sha256, step). */
  policy: { dir: string; sha256: string; step: number } | null;
}

/** What a coprs checkpoint's `config` holds. */
export interface CoprsCheckpointConfig {
  policy: PolicyConfig;
  sam: SamConfig;
  model: CoprsModelConfig;
  tokenizer: TokenizerJSON;
  sources: CoprsSources;
  /** The resolved stage-3 training config, when a trainer wrote the checkpoint. */
  train?: unknown;
}

/** The mini-SAM checkpoint folder of a `--sam` value: a folder with checkpoint.json, or a stage-1 run folder with best/. */
export function resolveSamDir(dir: string): string {
  if (fs.existsSync(path.join(dir, 'checkpoint.json'))) return dir;
  if (fs.existsSync(path.join(dir, 'best', 'checkpoint.json'))) return path.join(dir, 'best');
  throw new Error(`--sam ${dir}: no mini-SAM checkpoint there (no checkpoint.json, nor best/checkpoint.json); train one with \`coprs train sam\``);
}

/**
 * The CoPRS model of stage 3's start: the mini-SAM of `samDir` (kind 'sam') and the policy of
 * `policyDir` (kind 'policy'), which must have been trained on that very mini-SAM (its recorded
 * encoder sha256 is checked: the policy and the heatmap head read one frozen embedding). A new,
 * randomly initialised heatmap head. Checkpoints of another kind are errors naming the flag.
 */
export function buildCoprsFromParts(samDir: string, policyDir: string, modelConfig?: CoprsModelConfig): { model: CoprsModel; sources: CoprsSources } {
  const sDir = resolveSamDir(samDir);
  try {
    readCheckpointMeta(sDir, { kind: 'sam' });
  } catch (e) {
    throw new Error(`--sam ${samDir}: ${(e as Error).message}`);
  }
  let policyMeta: CheckpointMeta;
  let recorded: EncoderSource;
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
    const what = recorded.kind === 'stub' ? 'a random stub encoder (development only)' : `the mini-SAM ${recorded.dir ?? '?'} (weights ${recorded.sha256?.slice(0, 12) ?? '?'}…)`;
    throw new Error(`--policy ${policyDir} was trained on ${what}, --sam ${samDir} has weights ${source.sha256?.slice(0, 12)}…; CoPRS needs the policy and the heatmap head to read the same frozen encoder: pass the mini-SAM the policy was trained on`);
  }
  let model: CoprsModel;
  try {
    const bundle = loadPolicy(policyDir, { encoder: 'none' });
    model = new CoprsModel(bundle.model, sam, modelConfig ?? resolveCoprsModelConfig());
  } catch (e) {
    sam.dispose();
    throw e;
  }
  return { model, sources: { sam: source, policy: { dir: policyDir, sha256: policyMeta.weightsSha256, step: policyMeta.step } } };
}

/** The `config` object of a coprs checkpoint. */
export function coprsCheckpointConfig(model: CoprsModel, sources: CoprsSources, train?: unknown): CoprsCheckpointConfig {
  if (!model.sam.config) throw new Error('CoPRS checkpoint: the mini-SAM has no build config (build it with buildSamFromConfig / loadSamCheckpoint)');
  return { policy: model.policy.config, sam: model.sam.config, model: model.config, tokenizer: model.policy.tokenizer.toJSON(), sources, ...(train !== undefined ? { train } : {}) };
}

/** Save a coprs checkpoint folder (replaces `dir`); `extraTensors` (reference policy, optimizer state) are stored too. */
export async function saveCoprs(
  dir: string, model: CoprsModel, sources: CoprsSources,
  opts: Omit<SaveInput, 'kind' | 'config' | 'tensors' | 'size'> & { size: string; train?: unknown; extraTensors?: [string, tf.Tensor][] },
): Promise<CheckpointMeta> {
  return saveCheckpoint(dir, {
    kind: COPRS_KIND,
    size: opts.size,
    config: coprsCheckpointConfig(model, sources, opts.train),
    step: opts.step,
    best: opts.best,
    rng: opts.rng,
    extra: opts.extra,
    tensors: [...model.namedParams(), ...(opts.extraTensors ?? [])],
  });
}

/** Read and check a coprs checkpoint's config (no tensors). */
export function readCoprsConfig(dir: string): { meta: CheckpointMeta; config: CoprsCheckpointConfig } {
  const meta = readCheckpointMeta(dir, { kind: COPRS_KIND });
  const c = meta.config as CoprsCheckpointConfig | null;
  if (!c || typeof c !== 'object' || !c.policy || !c.sam || !c.model || !c.tokenizer) {
    throw new Error(`checkpoint ${dir}: config.policy, config.sam, config.model and config.tokenizer are required in a coprs checkpoint; it was not written by the kit's CoPRS code`);
  }
  return { meta, config: c };
}

/** Build the (untrained) model a coprs checkpoint config describes. */
export function buildCoprsFromConfig(c: CoprsCheckpointConfig): CoprsModel {
  const samCfg = resolveSamConfig(parseSamSize(c.sam.size), c.sam);
  const sam = buildSamFromConfig(samCfg);
  try {
    const policy = new PolicyModel(resolvePolicyConfig(c.policy.preset, c.policy), Tokenizer.fromJSON(c.tokenizer), { embedDim: sam.embedDim, gridSize: sam.embedSize });
    return new CoprsModel(policy, sam, resolveCoprsModelConfig(c.model));
  } catch (e) {
    sam.dispose();
    throw e;
  }
}

/** Assign a loaded tensor map (by checkpoint name) into a model. */
export function assignCoprs(model: CoprsModel, tensors: Map<string, tf.Tensor>): void {
  assignParams(model.policy.params, tensors, { from: 'policy.' });
  assignParams(model.sam.params, tensors, { from: 'sam.' });
  assignParams(model.headParams, tensors, { prefix: 'head', from: 'head' });
}

/** Load a coprs checkpoint folder (weights checked by sha256). A checkpoint of another kind is an error naming both kinds. */
export function loadCoprs(dir: string): { model: CoprsModel; meta: CheckpointMeta; config: CoprsCheckpointConfig } {
  const { config } = readCoprsConfig(dir);
  const { meta, tensors } = loadCheckpoint(dir, { kind: COPRS_KIND });
  const model = buildCoprsFromConfig(config);
  try {
    assignCoprs(model, tensors);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return { model, meta, config };
}

