/**
 * Stage-2 data: batches of (prompt, response) ids from the two training streams — refshapes/train
 * and reasonshapes/train (training scenes only; never the frozen val/test scenes). The response is
 * the ground-truth chain of thought as `<think>${cot.text}</think> <REF_POS><eos>`.
 *
 * Batches are drawn `bucketBatches` at a time: the bucket's samples are sorted by length and cut into
 * batches (little padding: attention cost grows with the square of the padded length), and the
 * batches are visited in a seeded random order. The state is the streams' state at the start of
 * the current bucket plus the position in it, so a resumed run regenerates the bucket and continues
 * with exactly the batch it would have taken.
 */
import type { Sample } from '../../data/sample';
import { trainStream, type ShapeWorldStream, type StreamState } from '../../data/shapeworld/index';
import { Rng, deriveSeed } from '../../util/rng';
import { encodePrompt, encodeResponse } from '../../models/policy/prompt';
import type { Tokenizer } from '../../models/policy/tokenizer';
import { tokenLabels } from './perception';

export interface SftBatch {
  samples: Sample[];
  prompts: number[][];
  responses: number[][];
  /** Response tokens (what the loss averages over). */
  responseTokens: number;
  /** Prompt + response tokens. */
  tokens: number;
  /** Per sample, its vision tokens' [colour, shape, size] classes (perception.ts); null where a sample has no scene graph. */
  tokenLabels: (Int32Array | null)[];
}

export interface SftDataState {
  ref: StreamState;
  reason: StreamState;
  bucket: number;
  pos: number;
}

export interface SftDataOptions {
  seed: number;
  dataSeed: number;
  batchSize: number;
  reasonFraction: number;
  bucketBatches: number;
  imageTokens: number;
}

/** One sample as (prompt, response) ids. */
export function encodeSample(tok: Tokenizer, s: Sample, imageTokens: number): { prompt: number[]; response: number[] } {
  if (!s.cot) throw new Error(`sft: sample ${s.id} has no chain of thought; stage 2 needs ShapeWorld-RS samples`);
  return { prompt: encodePrompt(tok, s.query, imageTokens), response: encodeResponse(tok, s.cot.text) };
}

/** Batch of encoded samples. */
export function makeBatch(tok: Tokenizer, samples: Sample[], imageTokens: number): SftBatch {
  const enc = samples.map((s) => encodeSample(tok, s, imageTokens));
  const responseTokens = enc.reduce((n, e) => n + e.response.length, 0);
  const grid = Math.round(Math.sqrt(imageTokens));
  return {
    samples,
    prompts: enc.map((e) => e.prompt),
    responses: enc.map((e) => e.response),
    responseTokens,
    tokens: responseTokens + enc.reduce((n, e) => n + e.prompt.length, 0),
    tokenLabels: samples.map((s) => tokenLabels(s, grid)),
  };
}

export class SftData {
  readonly ref: ShapeWorldStream;
  readonly reason: ShapeWorldStream;
  private bucket = 0;
  private pos = 0;
  private start: { ref: StreamState; reason: StreamState };
  private queue: SftBatch[] = [];

  constructor(readonly tok: Tokenizer, readonly opts: SftDataOptions) {
    this.ref = trainStream('refshapes', { seed: opts.dataSeed });
    this.reason = trainStream('reasonshapes', { seed: opts.dataSeed });
    this.start = { ref: this.ref.getState(), reason: this.reason.getState() };
  }

  /** The next batch. */
  next(): SftBatch {
    if (this.pos >= this.queue.length || this.queue.length === 0) {
      if (this.queue.length > 0) {
        this.bucket += 1;
        this.pos = 0;
      }
      this.start = { ref: this.ref.getState(), reason: this.reason.getState() };
      this.queue = this.fillBucket();
    }
    return this.queue[this.pos++];
  }

  private fillBucket(): SftBatch[] {
    const { batchSize, bucketBatches, reasonFraction, imageTokens } = this.opts;
    const n = batchSize * bucketBatches;
    const nReason = Math.round(n * reasonFraction);
    const samples = [...this.ref.take(n - nReason), ...this.reason.take(nReason)];
    const enc = samples.map((s) => ({ s, ...encodeSample(this.tok, s, imageTokens) }));
    enc.sort((a, b) => a.prompt.length + a.response.length - (b.prompt.length + b.response.length) || (a.s.id < b.s.id ? -1 : 1));
    const batches: SftBatch[] = [];
    for (let i = 0; i < bucketBatches; i++) batches.push(makeBatch(this.tok, enc.slice(i * batchSize, (i + 1) * batchSize).map((e) => e.s), imageTokens));
    return new Rng(deriveSeed(this.opts.seed, 'sft-bucket', this.bucket)).shuffle(batches);
  }

  getState(): SftDataState {
    return { ref: this.start.ref, reason: this.start.reason, bucket: this.bucket, pos: this.queue.length === 0 ? 0 : this.pos };
  }

  /** Restore a state from `getState()` (regenerates the current bucket). */
  setState(s: SftDataState): void {
    if (!s || !s.ref || !s.reason || !Number.isInteger(s.bucket) || !Number.isInteger(s.pos)) throw new Error(`sft data: bad state ${JSON.stringify(s)}`);
    this.ref.setState(s.ref);
    this.reason.setState(s.reason);
    this.bucket = s.bucket;
    this.start = { ref: s.ref, reason: s.reason };
    this.queue = this.fillBucket();
    this.pos = s.pos;
  }
}
