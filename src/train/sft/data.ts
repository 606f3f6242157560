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
import type { RGBImage, Sample } from '../../data/sample';
import { trainStream, type ShapeWorldStream, type StreamState } from '../../data/shapeworld/index';
import { Rng, deriveSeed } from '../../util/rng';
import { encodePrompt, encodeResponse } from '../../models/policy/prompt';
import type { Tokenizer } from '../../models/policy/tokenizer';
import { shapeWorldMeta } from '../../data/shapeworld/make-sample';
import { drillTokens } from './lookup-drill';
import { tokenLabels } from './perception';

export interface SftBatch {
  samples: Sample[];
  prompts: number[][];
  responses: number[][];
  /** Response tokens the loss counts (what it averages over): all of them, less the unweighted ones of `lossMask`. */
  responseTokens: number;
  /** Per row, 1 where a response token counts in the loss and 0 where it is context; null = every token counts. */
  lossMask: (number[] | null)[];
  /** Prompt + response tokens. */
  tokens: number;
  /** Per row, the image it is trained with (its own sample's, or another row's under `listingContext`). */
  images: RGBImage[];
  /** Per row, its image's vision-token [colour, shape, size] classes (perception.ts); null where a sample has no scene graph. */
  tokenLabels: (Int32Array | null)[];
  /** Rows trained with the listing as context (listing-context.ts). */
  listedRows: number;
  /** Rows trained on lookup drills after the listing (lookup-drill.ts). */
  drilledRows: number;
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
  /** Share of rows trained with their listing as context and another row's image (listing-context.ts); 0 = off. */
  listingFraction?: number;
  /** Share of rows trained on lookup drills (lookup-drill.ts) and the drill's filter steps; off when absent or 0. */
  lookupDrill?: { fraction: number; sentences: number };
}

/** Rows of a batch that become lookup drills, with the drill's steps and its random source. */
export interface DrillRows {
  rows: readonly number[];
  sentences: number;
  rng: Rng;
}

/** One sample as (prompt, response) ids. */
export function encodeSample(tok: Tokenizer, s: Sample, imageTokens: number): { prompt: number[]; response: number[] } {
  if (!s.cot) throw new Error(`sft: sample ${s.id} has no chain of thought; stage 2 needs ShapeWorld-RS samples`);
  return { prompt: encodePrompt(tok, s.query, imageTokens), response: encodeResponse(tok, s.cot.text) };
}

/**
 * Batch of encoded samples. With `listed` (row indices, listing-context.ts), those rows get their
 * chain's listing sentence moved into the prompt and the next row's image (and its labels). Rows in
 * `drilled` are set up the same way but their response is a lookup drill (lookup-drill.ts): filter
 * steps over the listed objects, no end token, the loss on each step's result only (`lossMask`).
 */
export function makeBatch(tok: Tokenizer, samples: Sample[], imageTokens: number, listed: readonly number[] = [], drilled: DrillRows | null = null): SftBatch {
  const enc = samples.map((s) => encodeSample(tok, s, imageTokens));
  const grid = Math.round(Math.sqrt(imageTokens));
  const images = samples.map((s) => s.image);
  const labels = samples.map((s) => tokenLabels(s, grid));
  let listedRows = 0;
  let drilledRows = 0;
  const lossMask: (number[] | null)[] = samples.map(() => null);
  const drillRows = drilled?.rows ?? [];
  const both = drillRows.find((i) => listed.includes(i));
  if (both !== undefined) throw new Error(`makeBatch: row ${both} cannot be both a listing-context row and a drill row`);
  if (samples.length > 1) {
    const dot = tok.encode('.')[0];
    const rows = [...listed.map((i) => ({ i, drill: false })), ...drillRows.map((i) => ({ i, drill: true }))];
    for (const { i, drill } of rows) {
      const split = splitAtListing(enc[i].response, dot);
      if (split == null) continue;
      const prompt = [...enc[i].prompt, ...split.listing];
      if (drill) {
        const d = drillTokens(tok, shapeWorldMeta(samples[i]), drilled!.rng, drilled!.sentences);
        enc[i] = { prompt, response: d.ids }; // no end token: a drill is not a whole chain
        lossMask[i] = d.mask;
        drilledRows++;
      } else {
        enc[i] = { prompt, response: split.rest };
        listedRows++;
      }
      const j = (i + 1) % samples.length; // another scene: the listing, not the image, must carry the reasoning
      images[i] = samples[j].image;
      labels[i] = tokenLabels(samples[j], grid);
    }
  }
  const responseTokens = enc.reduce((n, e, i) => n + (lossMask[i] ? lossMask[i]!.reduce((a, x) => a + x, 0) : e.response.length), 0);
  return {
    samples,
    prompts: enc.map((e) => e.prompt),
    responses: enc.map((e) => e.response),
    responseTokens,
    tokens: enc.reduce((n, e) => n + e.prompt.length + e.response.length, 0),
    lossMask,
    images,
    tokenLabels: labels,
    listedRows,
    drilledRows,
  };
}

/**
 * Listing context (`sft.listingFraction`, a departure of the kit's stage 2; README "Listing
 * context"). A ground-truth chain first lists the objects ("The picture shows N shapes: …."), then
 * filters and compares them. Trained on whole chains, the from-scratch policy wrote its filter
 * steps from the image, not from its own listing: given the ground-truth listing, the shipped
 * policy still concluded right on only 27 of 100 refshapes val queries, keeping objects the listing
 * does not have (`tools/listing-oracle.ts`). For a listing-context row, the response up to the end
 * of the listing sentence moves into the prompt (no loss on it) and the row is paired with another
 * scene's image, so the steps after the listing can only be read from the listed text.
 * Returns null when the response has no second sentence.
 */
export function splitAtListing(response: readonly number[], dot: number): { listing: number[]; rest: number[] } | null {
  let dots = 0;
  const end = response.findIndex((id) => id === dot && ++dots === 2);
  if (end < 0 || end === response.length - 1) return null;
  return { listing: response.slice(0, end + 1), rest: response.slice(end + 1) };
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
    const frac = this.opts.listingFraction ?? 0;
    const pick = new Rng(deriveSeed(this.opts.seed, 'sft-listing', this.bucket));
    for (let i = 0; i < bucketBatches; i++) {
      const rows = enc.slice(i * batchSize, (i + 1) * batchSize).map((e) => e.s);
      const drill = this.opts.lookupDrill?.fraction ?? 0;
      // one draw per row: [0, frac) listing context, [frac, frac + drill) lookup drill (no draws when both are off)
      const u = frac > 0 || drill > 0 ? rows.map(() => pick.next()) : [];
      const listed = u.map((x, r) => (x < frac ? r : -1)).filter((r) => r >= 0);
      const drilled = u.map((x, r) => (x >= frac && x < frac + drill ? r : -1)).filter((r) => r >= 0);
      const drillRows = drilled.length > 0 ? { rows: drilled, sentences: this.opts.lookupDrill!.sentences, rng: new Rng(deriveSeed(this.opts.seed, 'sft-drill', this.bucket, i)) } : null;
      batches.push(makeBatch(this.tok, rows, imageTokens, listed, drillRows));
    }
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
