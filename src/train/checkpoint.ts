/**
 * Checkpoints: a folder with `checkpoint.json` (kind, size, resolved config, step, best metric, RNG
 * states, tensor table, sha256 of the weights) and `weights.bin` (every tensor's float32/int32
 * values, concatenated). Written into a temporary sibling folder and renamed into place, so a reader
 * never sees a half-written checkpoint and a crash leaves the previous one intact. Loading checks the
 * kind and size asked for, the file sizes and the sha256, and says what is wrong.
 *
 * Replacing an existing folder takes two renames (DIR → DIR.old-*, DIR.tmp-* → DIR: Linux cannot
 * rename a folder over a non-empty one). A process killed between them leaves no DIR but a complete
 * DIR.tmp-* (and DIR.old-*); `recoverCheckpoint` (called by every reader when DIR/checkpoint.json is
 * missing) renames the newest complete, sha256-verified sibling back into place. The next successful
 * save removes the stale siblings a kill left behind.
 *
 * Test hook (documented in docs/promises.md): COPRS_TEST_CHECKPOINT_PAUSE=<phase>@<step> makes the
 * writer print `[checkpoint] test pause: <phase> step <n> <dir>` to stderr and sleep 60 s at that
 * phase of the save of that step, so a test can SIGKILL the process there. Phases: `weights`
 * (weights.bin written in the temporary folder, checkpoint.json not yet) and `swap` (the previous
 * folder moved aside, the new one not yet renamed into place). Unset, it costs one env lookup.
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
    testPause('weights', input.step, target);
    writeSynced(path.join(tmp, 'checkpoint.json'), Buffer.from(`${JSON.stringify(meta, null, 1)}\n`));
    const old = `${target}.old-${process.pid}-${Date.now()}`;
    const had = fs.existsSync(target);
    if (had) fs.renameSync(target, old);
    if (had) testPause('swap', input.step, target);
    fs.renameSync(tmp, target);
    if (had) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  removeStaleSiblings(target);
  return meta;
}

/** The COPRS_TEST_CHECKPOINT_PAUSE hook (see the module comment). */
function testPause(phase: 'weights' | 'swap', step: number, dir: string): void {
  const spec = process.env.COPRS_TEST_CHECKPOINT_PAUSE;
  if (!spec || spec !== `${phase}@${step}`) return;
  process.stderr.write(`[checkpoint] test pause: ${phase} step ${step} ${dir}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}

/** Siblings DIR.tmp-* / DIR.old-* that an interrupted save left behind. */
function leftoverSiblings(target: string): string[] {
  const parent = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(`${base}.tmp-`) || n.startsWith(`${base}.old-`)).map((n) => path.join(parent, n));
}

function removeStaleSiblings(target: string): void {
  for (const s of leftoverSiblings(target)) fs.rmSync(s, { recursive: true, force: true });
}

/** The step of a complete checkpoint folder (JSON parses, weights.bin has the recorded size and sha256), else null. */
function completeStep(dir: string, weightsFile = path.join(dir, 'weights.bin')): number | null {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta;
    if (meta.format !== CHECKPOINT_FORMAT) return null;
    const bytes = fs.readFileSync(weightsFile);
    if (bytes.byteLength !== meta.weightsBytes) return null;
    if (createHash('sha256').update(bytes).digest('hex') !== meta.weightsSha256) return null;
    return meta.step;
  } catch {
    return null;
  }
}

/**
 * Finish a save that a kill interrupted. When DIR/checkpoint.json is missing: the newest complete
 * sibling DIR.tmp-* / DIR.old-* (sha256 verified) is renamed to DIR; or, for a model checkpoint
 * installed into a run folder (`installCheckpointFiles`), the complete DIR/.model-* folder's files are
 * moved into DIR. Returns what was recovered (null: nothing to do, or nothing complete to recover).
 */
export function recoverCheckpoint(dir: string): string | null {
  const target = path.resolve(dir);
  if (fs.existsSync(path.join(target, 'checkpoint.json'))) return null;
  let best: { dir: string; step: number; rank: number } | null = null;
  for (const s of leftoverSiblings(target)) {
    const step = completeStep(s);
    const rank = path.basename(s).startsWith(`${path.basename(target)}.tmp-`) ? 1 : 0; // a complete .tmp is newer than the .old it replaces
    if (step != null && (!best || step > best.step || (step === best.step && rank > best.rank))) best = { dir: s, step, rank };
  }
  if (best) {
    try {
      if (fs.existsSync(target)) fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(best.dir, target);
    } catch (e) {
      if (!fs.existsSync(path.join(target, 'checkpoint.json'))) throw e; // another reader recovered it first otherwise
    }
    return best.dir;
  }
  if (fs.existsSync(target)) {
    // the folder whose weights.bin was already moved into DIR (the interrupted install) wins; else the newest complete one
    let pick: { sub: string; own: boolean; step: number } | null = null;
    for (const n of fs.readdirSync(target).filter((x) => x.startsWith('.model-'))) {
      const sub = path.join(target, n);
      const own = fs.existsSync(path.join(sub, 'weights.bin'));
      const step = completeStep(sub, own ? path.join(sub, 'weights.bin') : path.join(target, 'weights.bin'));
      if (step == null) continue;
      if (!own) {
        pick = { sub, own, step };
        break;
      }
      if (!pick || step > pick.step) pick = { sub, own, step };
    }
    if (pick) {
      if (pick.own) fs.renameSync(path.join(pick.sub, 'weights.bin'), path.join(target, 'weights.bin'));
      fs.renameSync(path.join(pick.sub, 'checkpoint.json'), path.join(target, 'checkpoint.json'));
      fs.rmSync(pick.sub, { recursive: true, force: true });
      return pick.sub;
    }
  }
  return null;
}

/**
 * Move a checkpoint's two files from `tmp` (a folder inside `dir`, named `.model-*`) into the run
 * folder `dir`, leaving its other files alone. checkpoint.json is removed first and installed last,
 * so a kill in between leaves DIR without checkpoint.json and the complete files in `tmp`, which
 * `recoverCheckpoint` finishes installing — never new weights under an old checkpoint.json.
 */
export function installCheckpointFiles(tmp: string, dir: string): void {
  if (!path.basename(tmp).startsWith('.model-') || path.dirname(path.resolve(tmp)) !== path.resolve(dir)) throw new Error(`installCheckpointFiles: ${tmp} must be a .model-* folder inside ${dir}`);
  fs.rmSync(path.join(dir, 'checkpoint.json'), { force: true });
  fs.renameSync(path.join(tmp, 'weights.bin'), path.join(dir, 'weights.bin'));
  fs.renameSync(path.join(tmp, 'checkpoint.json'), path.join(dir, 'checkpoint.json'));
  for (const n of fs.readdirSync(dir).filter((x) => x.startsWith('.model-'))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
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
  if (!fs.existsSync(file)) recoverCheckpoint(dir);
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
