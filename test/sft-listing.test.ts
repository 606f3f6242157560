/**
 * Stage 2's listing context (`sft.listingFraction`, src/train/sft/data.ts): the split at the end of
 * the listing sentence, the batch rows it changes (listing into the prompt, another row's image and
 * labels), determinism, and a training step with it that leaks no tensors.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { Tokenizer } from '../src/models/policy/tokenizer';
import { StubImageEncoder } from '../src/models/policy/vision';
import type { EncoderSource } from '../src/models/policy/checkpoint';
import { resolveSftConfig } from '../src/train/sft/config';
import { SftData, encodeSample, makeBatch, splitAtListing } from '../src/train/sft/data';
import { tokenLabels } from '../src/train/sft/perception';
import { SftTrainer } from '../src/train/sft/trainer';

const tok = Tokenizer.default();
const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };
let encoder: StubImageEncoder;

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(64, 16, 128, 1);
});

test('splitAtListing: cut after the second sentence (the listing); null without one or with nothing after it', () => {
  const dot = 9;
  assert.deepEqual(splitAtListing([5, 1, 9, 2, 3, 9, 4, 9, 7], dot), { listing: [5, 1, 9, 2, 3, 9], rest: [4, 9, 7] });
  assert.equal(splitAtListing([5, 1, 9, 2, 3], dot), null);
  assert.equal(splitAtListing([1, 9, 2, 9], dot), null);
});

test('makeBatch with listed rows: the listing moves into the prompt, the row takes the next row\'s image and labels; other rows unchanged', () => {
  const samples = trainStream('refshapes', { seed: 4 }).take(3);
  const plain = makeBatch(tok, samples, 16);
  const b = makeBatch(tok, samples, 16, [1]);
  assert.equal(b.listedRows, 1);
  const e = encodeSample(tok, samples[1], 16);
  const cut = b.prompts[1].length - e.prompt.length;
  assert.ok(cut > 5);
  assert.deepEqual(b.prompts[1], [...e.prompt, ...e.response.slice(0, cut)]);
  assert.deepEqual(b.responses[1], e.response.slice(cut));
  assert.equal(tok.decode(b.prompts[1].slice(e.prompt.length)).trim().split(/\s+/).slice(-1)[0].endsWith('.'), true);
  assert.match(tok.decode(b.prompts[1].slice(e.prompt.length)), /the picture shows/);
  assert.doesNotMatch(tok.decode(b.responses[1]), /the picture shows/);
  assert.equal(b.images[1], samples[2].image);
  assert.deepEqual(b.tokenLabels[1], tokenLabels(samples[2], 4));
  for (const i of [0, 2]) {
    assert.deepEqual(b.prompts[i], plain.prompts[i]);
    assert.deepEqual(b.responses[i], plain.responses[i]);
    assert.equal(b.images[i], samples[i].image);
  }
  assert.equal(b.tokens, plain.tokens, 'tokens only move from response to prompt');
  assert.equal(b.responseTokens, plain.responseTokens - cut);
});

test('SftData with listingFraction: about that share of rows, the same rows for the same seed; a step with it leaks nothing', async () => {
  const opts = { seed: 3, dataSeed: 5, batchSize: 8, reasonFraction: 0.5, bucketBatches: 2, imageTokens: 16, listingFraction: 0.5 };
  const a = new SftData(tok, opts);
  const b = new SftData(tok, opts);
  let listed = 0;
  let rows = 0;
  for (let k = 0; k < 6; k++) {
    const x = a.next();
    const y = b.next();
    assert.deepEqual(x.prompts, y.prompts);
    listed += x.listedRows;
    rows += x.samples.length;
  }
  assert.ok(listed / rows > 0.25 && listed / rows < 0.75, `${listed} of ${rows}`);
  assert.equal(new SftData(tok, { ...opts, listingFraction: 0 }).next().listedRows, 0);
  assert.throws(() => resolveSftConfig('tiny', { listingFraction: 1 }), /listingFraction/);
  const t = new SftTrainer(resolveSftConfig('tiny', { listingFraction: 0.5, workers: 1 }), encoder, source);
  await t.trainStep();
  const n = tf.memory().numTensors;
  const r = await t.trainStep();
  assert.ok(Number.isFinite(r.loss));
  assert.equal(tf.memory().numTensors, n);
  t.dispose();
});
