/**
 * Checkpoints: a folder with `checkpoint.json` (kind, size, resolved config, step, best metric, RNG
 * states, tensor table, sha256 of the weights) and `weights.bin` (every tensor's float32/int32
 * values, concatenated). Written into a temporary sibling folder and renamed into place, so a reader
 * never sees a half-written checkpoint and a crash leaves the previous one intact. Loading checks the
 * kind and size asked for, the file sizes and the sha256, and says what is wrong.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import type { RngState } from '../util/rng';
import type { Params } from '../nn/params';

export const CHECKPOINT_FORMAT = 'coprs-ckpt/1';

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Byte offset in weights.bin. */
  offset: number;
  /** Number of values. */
  length: number;
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  /** What the checkpoint holds: 'sam', 'policy', 'coprs', ... */
  kind: string;
  /** Size variant within the kind (mini-SAM 'S' | 'M' | 'L', policy preset, ...). */
  size: string;
  /** The resolved config the run used. */
  config: unknown;
  /** Optimizer steps taken. */
  step: number;
  best: { metric: string; value: number; step: number } | null;
  /** Named RNG states (data stream, prompts, dropout, rollouts, ...). */
  rng: Record<string, RngState>;
  tensors: TensorEntry[];
  weightsBytes: number;
  weightsSha256: string;
  /** Anything else a stage wants back on resume (stream state, counters, ...). */
  extra: Record<string, unknown>;
  created: string;
}

export interface SaveInput {
  kind: string;
  size: string;
  config: unknown;
  step: number;
  best?: CheckpointMeta['best'];
  rng?: Record<string, RngState>;
  /** Tensors by name: model parameters and optimizer state alike. */
  tensors: [string, tf.Tensor][];
  extra?: Record<string, unknown>;
}

/** Write a checkpoint folder atomically (temporary sibling + rename). */
export async function saveCheckpoint(dir: string, input: SaveInput): Promise<CheckpointMeta> {
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of input.tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`checkpoint: tensor "${name}" has dtype ${t.dtype}; only float32 and int32 are stored`);
    const data = await t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    entries.push({ name, shape: t.shape, dtype: t.dtype, offset, length: t.size });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const weights = Buffer.concat(chunks);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    kind: input.kind,
    size: input.size,
    config: input.config,
    step: input.step,
    best: input.best ?? null,
    rng: input.rng ?? {},
    tensors: entries,
    weightsBytes: weights.byteLength,
    weightsSha256: createHash('sha256').update(weights).digest('hex'),
    extra: input.extra ?? {},
    created: new Date().toISOString(),
  };
  const target = path.resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    writeSynced(path.join(tmp, 'weights.bin'), weights);
    writeSynced(path.join(tmp, 'checkpoint.json'), Buffer.from(`${JSON.stringify(meta, null, 1)}\n`));
    const old = `${target}.old-${process.pid}-${Date.now()}`;
    const had = fs.existsSync(target);
    if (had) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    if (had) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return meta;
}

function writeSynced(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoadExpect {
  /** Required kind; a different one is an error naming both. */
  kind?: string;
  /** Required size variant. */
  size?: string;
}

/** Read and check a checkpoint's metadata (no tensors). */
export function readCheckpointMeta(dir: string, expect: LoadExpect = {}): CheckpointMeta {
  const file = path.join(dir, 'checkpoint.json');
  if (!fs.existsSync(file)) throw new Error(`no checkpoint at ${dir} (missing checkpoint.json)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`checkpoint ${file} is not valid JSON (${(e as Error).message}); it may have been cut off`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint ${dir}: format "${meta.format}", expected "${CHECKPOINT_FORMAT}"`);
  if (expect.kind && meta.kind !== expect.kind) throw new Error(`checkpoint ${dir} is a "${meta.kind}" checkpoint; this command needs a "${expect.kind}" checkpoint`);
  if (expect.size && meta.size !== expect.size) throw new Error(`checkpoint ${dir} holds size "${meta.size}"; expected size "${expect.size}"`);
  return meta;
}

/** Load a checkpoint: metadata and tensors by name (the caller disposes the tensors). */
export function loadCheckpoint(dir: string, expect: LoadExpect = {}): { meta: CheckpointMeta; tensors: Map<string, tf.Tensor> } {
  const meta = readCheckpointMeta(dir, expect);
  const file = path.join(dir, 'weights.bin');
  if (!fs.existsSync(file)) throw new Error(`checkpoint ${dir}: weights.bin is missing`);
  const bytes = fs.readFileSync(file);
  if (bytes.byteLength !== meta.weightsBytes) {
    throw new Error(`checkpoint ${dir}: weights.bin has ${bytes.byteLength} bytes, expected ${meta.weightsBytes} (truncated or cut off mid-write)`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== meta.weightsSha256) throw new Error(`checkpoint ${dir}: weights.bin sha256 ${sha.slice(0, 12)}… differs from the recorded ${meta.weightsSha256.slice(0, 12)}… (corrupt)`);
  const tensors = new Map<string, tf.Tensor>();
  for (const e of meta.tensors) {
    const buf = bytes.buffer.slice(bytes.byteOffset + e.offset, bytes.byteOffset + e.offset + e.length * 4);
    const values = e.dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
    tensors.set(e.name, tf.tensor(values, e.shape, e.dtype));
  }
  return { meta, tensors };
}

/**
 * Assign loaded tensors into a model's parameters by name (under `prefix`, if given). Every
 * parameter must be present with the same shape; extra tensors (e.g. optimizer state) are ignored.
 */
export function assignParams(params: Params, tensors: Map<string, tf.Tensor>, opts: { prefix?: string; from?: string } = {}): void {
  const prefix = opts.prefix ?? '';
  const missing: string[] = [];
  for (const [name, v] of params.entries(prefix)) {
    const key = opts.from != null ? `${opts.from}${name.slice(prefix.length)}` : name;
    const t = tensors.get(key);
    if (!t) {
      missing.push(key);
      continue;
    }
    if (t.shape.join(',') !== v.shape.join(',')) {
      throw new Error(`checkpoint tensor "${key}" has shape [${t.shape}], the model's "${name}" has [${v.shape}] (a checkpoint of another size?)`);
    }
    v.assign(t);
  }
  if (missing.length > 0) throw new Error(`checkpoint lacks ${missing.length} parameters of the model, e.g. ${missing.slice(0, 3).join(', ')} (a checkpoint of another kind or size?)`);
}
