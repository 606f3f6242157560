/**
 * Policy checkpoints (kind 'policy', size = preset) through the kit's checkpoint format. The saved
 * config holds everything needed to rebuild the model: the resolved `PolicyConfig`, the vocabulary,
 * and which frozen image encoder the policy reads (the mini-SAM checkpoint folder and the sha256 of
 * its weights, or a development stub), plus the training config when a trainer wrote it.
 *
 * A run folder (`coprs train sft --out DIR`) is itself a policy checkpoint (DIR/checkpoint.json +
 * DIR/weights.bin: the weights of the best held-out step) next to DIR/log.jsonl, DIR/README.md and
 * DIR/latest/ (the resume state: weights, AdamW moments, step, stream states). `saveCheckpoint`
 * replaces a whole folder, so `writeModelCheckpoint` writes into a temporary folder and moves the
 * two files into DIR (weights first: a reader in between sees a sha256 mismatch, never wrong
 * weights silently).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { assignParams, installCheckpointFiles, loadCheckpoint, readCheckpointMeta, saveCheckpoint, type CheckpointMeta, type SaveInput } from '../../train/checkpoint';
import { REPO_ROOT } from '../../data/shapeworld/index';
import { loadSamCheckpoint } from '../sam/eval';
import { resolvePolicyConfig, type PolicyConfig } from './config';
import { PolicyModel } from './model';
import { Tokenizer, type TokenizerJSON } from './tokenizer';
import { StubImageEncoder, samImageEncoder, type ImageEncoderLike } from './vision';

/** Where the policy's image embedding comes from. */
export interface EncoderSource {
  embedDim: number;
  gridSize: number;
  /** 'sam' (a mini-SAM checkpoint folder) or 'stub' (StubImageEncoder, development only). */
  kind: 'sam' | 'stub';
  /** sam: the folder (relative to the repository root when inside it). */
  dir?: string;
  /** sam: sha256 of its weights.bin, checked on load. */
  sha256?: string;
  /** stub: its seed. */
  seed?: number;
}

/** What a policy checkpoint's `config` holds. */
export interface PolicyCheckpointConfig {
  model: PolicyConfig;
  encoder: EncoderSource;
  tokenizer: TokenizerJSON;
  /** The resolved training config (stage 2), when a trainer wrote the checkpoint. */
  train?: unknown;
}

/** A loaded policy with its frozen encoder. */
export interface PolicyBundle {
  model: PolicyModel;
  /** null when the encoder could not be (or was asked not to be) loaded. */
  encoder: ImageEncoderLike | null;
  meta: CheckpointMeta | null;
  source: EncoderSource;
  /** Dispose the model and an encoder this bundle loaded. */
  dispose(): void;
}

/** A mini-SAM folder as an encoder source (records its sha256). */
export function samSource(dir: string, embedDim: number, gridSize: number): EncoderSource {
  const meta = readCheckpointMeta(dir, { kind: 'sam' });
  const abs = path.resolve(dir);
  const rel = path.relative(REPO_ROOT, abs);
  return { kind: 'sam', embedDim, gridSize, dir: rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel, sha256: meta.weightsSha256 };
}

/** Build the encoder of a source: load the mini-SAM (sha256 checked) or make the stub. */
export function loadEncoder(source: EncoderSource): { encoder: ImageEncoderLike; dispose: () => void } {
  if (source.kind === 'stub') {
    const stub = new StubImageEncoder(source.embedDim, source.gridSize, 128, source.seed ?? 1);
    return { encoder: stub, dispose: () => stub.dispose() };
  }
  if (source.kind !== 'sam' || !source.dir) throw new Error(`policy: unknown encoder source ${JSON.stringify(source)}`);
  const dir = path.isAbsolute(source.dir) ? source.dir : path.join(REPO_ROOT, source.dir);
  if (!fs.existsSync(path.join(dir, 'checkpoint.json'))) throw new Error(`policy: its mini-SAM checkpoint ${dir} is missing; pass the encoder explicitly or restore the folder`);
  const meta = readCheckpointMeta(dir, { kind: 'sam' });
  if (source.sha256 && meta.weightsSha256 !== source.sha256) {
    throw new Error(`policy: the mini-SAM at ${dir} has weights sha256 ${meta.weightsSha256.slice(0, 12)}…, the policy was trained on ${source.sha256.slice(0, 12)}… (a retrained encoder changes every image token)`);
  }
  const sam = loadSamCheckpoint(dir);
  const enc = samImageEncoder(sam);
  if (enc.embedDim !== source.embedDim || enc.gridSize !== source.gridSize) {
    sam.dispose();
    throw new Error(`policy: the mini-SAM at ${dir} gives ${enc.gridSize}×${enc.gridSize}×${enc.embedDim} embeddings, the policy expects ${source.gridSize}×${source.gridSize}×${source.embedDim}`);
  }
  return { encoder: enc, dispose: () => sam.dispose() };
}

/** The `config` object of a policy checkpoint. */
export function policyCheckpointConfig(model: PolicyModel, source: EncoderSource, train?: unknown): PolicyCheckpointConfig {
  return { model: model.config, encoder: source, tokenizer: model.tokenizer.toJSON(), ...(train !== undefined ? { train } : {}) };
}

/** Save a policy checkpoint folder (replaces `dir`); `extraTensors` (e.g. optimizer state) are stored too. */
export async function savePolicy(dir: string, model: PolicyModel, source: EncoderSource, opts: Omit<SaveInput, 'kind' | 'size' | 'config' | 'tensors'> & { train?: unknown; extraTensors?: [string, tf.Tensor][] }): Promise<CheckpointMeta> {
  return saveCheckpoint(dir, {
    kind: 'policy',
    size: model.config.preset,
    config: policyCheckpointConfig(model, source, opts.train),
    step: opts.step,
    best: opts.best,
    rng: opts.rng,
    extra: opts.extra,
    tensors: [...model.params.entries(), ...(opts.extraTensors ?? [])],
  });
}

/** Write the model's checkpoint files into an existing run folder without touching its other files. */
export async function writeModelCheckpoint(dir: string, model: PolicyModel, source: EncoderSource, opts: Omit<SaveInput, 'kind' | 'size' | 'config' | 'tensors'> & { train?: unknown }): Promise<CheckpointMeta> {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.model-${process.pid}-${Date.now()}`);
  try {
    const meta = await savePolicy(tmp, model, source, opts);
    installCheckpointFiles(tmp, dir); // checkpoint.json removed first and installed last (a kill leaves no mismatched pair)
    return meta;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface LoadPolicyOptions {
  /** Required preset (size). */
  size?: string;
  /** Use this encoder instead of the recorded one; 'none' loads no encoder. */
  encoder?: ImageEncoderLike | 'none';
}

/** Read a policy checkpoint's config (no tensors), checked. */
export function readPolicyConfig(dir: string, size?: string): { meta: CheckpointMeta; config: PolicyCheckpointConfig } {
  const meta = readCheckpointMeta(dir, { kind: 'policy', size });
  const cfg = meta.config as PolicyCheckpointConfig | null;
  if (!cfg || typeof cfg !== 'object' || !cfg.model || !cfg.tokenizer || !cfg.encoder) {
    throw new Error(`checkpoint ${dir}: config.model, config.tokenizer and config.encoder are required in a policy checkpoint; it was not written by the kit's policy code`);
  }
  return { meta, config: cfg };
}

/** Load a policy checkpoint folder: rebuild the model from its config, assign the weights, load its encoder. */
export function loadPolicy(dir: string, opts: LoadPolicyOptions = {}): PolicyBundle {
  const { meta, config } = readPolicyConfig(dir, opts.size);
  const model = new PolicyModel(resolvePolicyConfig(meta.size, config.model), Tokenizer.fromJSON(config.tokenizer), config.encoder);
  const { tensors } = loadCheckpoint(dir, { kind: 'policy', size: opts.size });
  try {
    assignParams(model.params, tensors);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose([...tensors.values()]);
  }
  let encoder: ImageEncoderLike | null = null;
  let disposeEncoder = () => {};
  if (opts.encoder === 'none') {
    encoder = null;
  } else if (opts.encoder) {
    encoder = opts.encoder;
  } else {
    try {
      const e = loadEncoder(config.encoder);
      encoder = e.encoder;
      disposeEncoder = e.dispose;
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  if (encoder && (encoder.embedDim !== config.encoder.embedDim || encoder.gridSize !== config.encoder.gridSize)) {
    model.dispose();
    disposeEncoder();
    throw new Error(`policy ${dir}: the encoder gives ${encoder.gridSize}×${encoder.gridSize}×${encoder.embedDim} embeddings, the checkpoint expects ${config.encoder.gridSize}×${config.encoder.gridSize}×${config.encoder.embedDim}`);
  }
  return {
    model,
    encoder,
    meta,
    source: config.encoder,
    dispose: () => {
      model.dispose();
      disposeEncoder();
    },
  };
}
