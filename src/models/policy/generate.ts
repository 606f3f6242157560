/**
 * Autoregressive generation, batched over prompts × G rollouts (row p·G + g is rollout g of prompt
 * p), with a key/value cache.
 *
 * With the cache: the P distinct prompts are prefilled once (their vision tokens computed once per
 * image), the cache and the first logits are repeated G times, and each step feeds one token per
 * row. Rows that have stopped are dropped from the cache once at most half the rows are still
 * running, so long tails do not pay for finished rollouts. Without the cache (`useCache: false`,
 * for the benchmark and the equivalence test) every step recomputes the full sequence.
 *
 * A row stops at a stop token (default `<eos>`; kept as its last id) or at `maxTokens`. Greedy at
 * temperature 0; otherwise temperature + top-p sampling, one `Rng` draw per sampled token in row
 * order, so the same seed gives the same rollouts (with or without the cache).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng';
import { packRows, type SeqBatch } from './batch';
import type { PolicyModel } from './model';
import { pickToken, validateSampling, type SamplingOptions } from './sampling';
import { EOS, PAD } from './tokenizer';
import { disposeCache, type KVCache } from './transformer';

export interface GenerateOptions {
  /** Most tokens generated per row (the stop token included). */
  maxTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus sampling mass (default 1). */
  topP?: number;
  /** Rollouts per prompt (default 1). */
  G?: number;
  /** Seed or generator of the sampling draws (default seed 0). */
  rng?: number | Rng;
  /** Token ids that end a row (default [<eos>]). */
  stopIds?: number[];
  /** Use the key/value cache (default true). */
  useCache?: boolean;
  /** Keep each step's logits (tests): stepLogits[t] holds B × V values of the rows in row order. */
  collectLogits?: boolean;
}

export interface GenerateResult {
  /** Generated ids per row (row p·G + g), the stop token included when one was produced. */
  ids: number[][];
  /** Decoded text per row (control tokens dropped). */
  text: string[];
  /** Number of generated ids per row. */
  lengths: number[];
  /** True where the row ended with a stop token (false: cut at maxTokens). */
  finished: boolean[];
  /** Index of each row's prompt. */
  promptIndex: number[];
  /** Sum of `lengths`. */
  tokens: number;
  /** Per step, the logits of every row (only with `collectLogits`; rows already stopped hold NaN). */
  stepLogits?: Float32Array[];
}

/**
 * Generate responses to `prompts` (ids from `encodePrompt`) given each prompt's image embedding
 * `embedding` [P, g, g, C] (from the frozen encoder) or its vision tokens [P, N, d].
 */
export function generate(model: PolicyModel, prompts: readonly (readonly number[])[], embedding: tf.Tensor4D | tf.Tensor3D, opts: GenerateOptions): GenerateResult {
  const G = opts.G ?? 1;
  const sampling: SamplingOptions = { temperature: opts.temperature ?? 0, topP: opts.topP ?? 1 };
  validateSampling(sampling);
  if (!Number.isInteger(G) || G < 1) throw new Error(`generate: G (rollouts per prompt) must be an integer ≥ 1, got ${G}`);
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) throw new Error(`generate: maxTokens must be an integer ≥ 1, got ${opts.maxTokens}`);
  const P = prompts.length;
  if (P === 0) throw new Error('generate: no prompts');
  if (embedding.shape[0] !== P) throw new Error(`generate: ${P} prompts but ${embedding.shape[0]} images; pass one image embedding per prompt (rollouts share it)`);
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + opts.maxTokens > model.config.maxSeqLen) {
    throw new Error(`generate: prompt (${longest} tokens) + maxTokens (${opts.maxTokens}) exceeds maxSeqLen ${model.config.maxSeqLen}; lower maxTokens`);
  }
  const rng = opts.rng instanceof Rng ? opts.rng : new Rng(opts.rng ?? 0);
  const stop = new Set(opts.stopIds ?? [EOS]);
  const V = model.tokenizer.size;
  const R = P * G;
  const promptIndex = Array.from({ length: R }, (_, r) => Math.floor(r / G));
  const ids: number[][] = Array.from({ length: R }, () => []);
  const finished = new Array<boolean>(R).fill(false);
  const stepLogits: Float32Array[] | undefined = opts.collectLogits ? [] : undefined;

  const vis = embedding.rank === 4 ? model.visionTokens(embedding as tf.Tensor4D) : (embedding as tf.Tensor3D);
  const run = opts.useCache === false ? runNoCache : runCached;
  try {
    run(model, prompts, vis, G, opts.maxTokens, (logits, rows) => {
      // logits: rows.length x V, rows: the global row index of each
      if (stepLogits) {
        const all = new Float32Array(R * V).fill(NaN);
        rows.forEach((r, i) => all.set(logits.subarray(i * V, (i + 1) * V), r * V));
        stepLogits.push(all);
      }
      const next: number[] = [];
      rows.forEach((r, i) => {
        if (finished[r]) {
          next.push(PAD);
          return;
        }
        const tok = pickToken(logits, i * V, V, sampling, rng);
        ids[r].push(tok);
        if (stop.has(tok)) finished[r] = true;
        next.push(tok);
      });
      return { next, done: rows.map((r) => finished[r] || ids[r].length >= opts.maxTokens) };
    });
  } finally {
    if (vis !== embedding) vis.dispose();
  }
  const lengths = ids.map((x) => x.length);
  return {
    ids,
    text: ids.map((x) => model.tokenizer.decode(x.filter((t) => !stop.has(t)))),
    lengths,
    finished,
    promptIndex,
    tokens: lengths.reduce((a, b) => a + b, 0),
    stepLogits,
  };
}

/** Called once per step with the logits of the running rows; returns each row's next input and whether it is done. */
type StepFn = (logits: Float32Array, rows: number[]) => { next: number[]; done: boolean[] };

function lastColumnLogits(model: PolicyModel, hidden: tf.Tensor3D): Float32Array {
  return tf.tidy(() => {
    const [B, L] = hidden.shape;
    const last = hidden.slice([0, L - 1, 0], [B, 1, -1]).reshape([B, -1]);
    return model.logits(last).dataSync() as Float32Array;
  });
}

function runCached(model: PolicyModel, prompts: readonly (readonly number[])[], vis: tf.Tensor3D, G: number, maxTokens: number, step: StepFn): void {
  const P = prompts.length;
  const batch = packRows(prompts, model.imageTokens, 'end');
  const pre = model.forward(batch, vis, { returnCache: true });
  const first = lastColumnLogits(model, pre.hidden);
  pre.hidden.dispose();
  // repeat every prompt's cache, logits and key validity G times
  const rep = Array.from({ length: P * G }, (_, r) => Math.floor(r / G));
  let cache: KVCache = gatherCache(pre.cache, rep);
  disposeCache(pre.cache);
  let S = batch.L;
  let keyValid = new Uint8Array(P * G * S);
  rep.forEach((p, r) => keyValid.set(batch.valid.subarray(p * S, (p + 1) * S), r * S));
  const promptLen = rep.map((p) => batch.lengths[p]);
  let rows = rep.map((_, r) => r); // global row of each cache row
  let logits = new Float32Array(P * G * model.tokenizer.size);
  rep.forEach((p, r) => logits.set(first.subarray(p * model.tokenizer.size, (p + 1) * model.tokenizer.size), r * model.tokenizer.size));
  try {
    for (let t = 0; t < maxTokens; t++) {
      const { next, done } = step(logits, rows);
      if (done.every((d) => d) || t === maxTokens - 1) break;
      // drop finished rows once at most half are still running
      const alive = done.map((d, i) => (d ? -1 : i)).filter((i) => i >= 0);
      let feed = next;
      if (alive.length <= rows.length / 2) {
        const kept = gatherCache(cache, alive);
        disposeCache(cache);
        cache = kept;
        const kv = new Uint8Array(alive.length * S);
        alive.forEach((i, j) => kv.set(keyValid.subarray(i * S, (i + 1) * S), j * S));
        keyValid = kv;
        feed = alive.map((i) => next[i]);
        rows = alive.map((i) => rows[i]);
      }
      const B = rows.length;
      const kv = new Uint8Array(B * (S + 1));
      for (let b = 0; b < B; b++) {
        kv.set(keyValid.subarray(b * S, (b + 1) * S), b * (S + 1));
        kv[b * (S + 1) + S] = 1;
      }
      const stepBatch: SeqBatch = {
        B, L: 1, ids: Int32Array.from(feed), valid: new Uint8Array(B).fill(1),
        positions: Int32Array.from(rows, (r) => promptLen[r] + t), imageTokens: 0, bodyStart: new Array(B).fill(0), lengths: new Array(B).fill(1),
      };
      const out = model.forward(stepBatch, null, { cache, returnCache: true, keyValid: kv });
      disposeCache(cache);
      cache = out.cache;
      logits = lastColumnLogits(model, out.hidden);
      out.hidden.dispose();
      keyValid = kv;
      S += 1;
    }
  } finally {
    disposeCache(cache);
  }
}

function gatherCache(cache: KVCache, rows: number[]): KVCache {
  return tf.tidy(() => {
    const idx = tf.tensor1d(rows, 'int32');
    return cache.map((c) => ({ k: tf.gather(c.k, idx), v: tf.gather(c.v, idx) })) as unknown as tf.TensorContainer;
  }) as unknown as KVCache;
}

function runNoCache(model: PolicyModel, prompts: readonly (readonly number[])[], vis: tf.Tensor3D, G: number, maxTokens: number, step: StepFn): void {
  const R = prompts.length * G;
  const rep = Array.from({ length: R }, (_, r) => Math.floor(r / G));
  const visRep = tf.tidy(() => tf.gather(vis, tf.tensor1d(rep, 'int32')) as tf.Tensor3D);
  const gen: number[][] = Array.from({ length: R }, () => []);
  const rows = rep.map((_, r) => r);
  try {
    for (let t = 0; t < maxTokens; t++) {
      const batch = packRows(rep.map((p, r) => [...prompts[p], ...gen[r]]), model.imageTokens, 'end');
      const { hidden } = model.forward(batch, visRep);
      const logits = lastColumnLogits(model, hidden);
      hidden.dispose();
      const { next, done } = step(logits, rows);
      if (done.every((d) => d)) break;
      next.forEach((tok, r) => gen[r].push(tok));
    }
  } finally {
    visRep.dispose();
  }
}
