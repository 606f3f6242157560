/**
 * The CoPRS model (src/models/coprs): one call from images + queries to responses, prior and mask
 * logits; e_conc from the LAST <REF_POS> and zero where there is none (no gradient through such a
 * row); the −50 fill outside the valid region entering the prompt encoder as the mask prompt; the
 * frozen image encoder; checkpoints of kind 'coprs' and clear errors for checkpoints of other kinds.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import type { RGBImage } from '../src/data/sample';
import { conceptEmbedding } from '../src/models/coprs/e-conc';
import { disposeImageBatch, repeatRows, softTargets } from '../src/models/coprs/images';
import { buildCoprsFromParts, loadCoprs, saveCoprs } from '../src/models/coprs/checkpoint';
import { frozenCopy, sameWeights } from '../src/models/coprs/reference';
import { disposeLogProbs } from '../src/models/policy/logprobs';
import { EOS, REF_POS, THINK, THINK_END } from '../src/models/policy/tokenizer';
import { assertNear } from './helpers/compare';
import { tinyCoprs, tmpDir, writeParts } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

const samples = trainStream('refshapes', { seed: 11 }).take(2);

test('one call: images + queries → G responses each, prior logits [N,64,64,1] and mask logits [N,64,64]; no tensors left', () => {
  const m = tinyCoprs();
  const before = tf.memory().numTensors;
  const r = m.run(samples.map((s) => s.image), samples.map((s) => s.query), { G: 2, temperature: 1, maxTokens: 6, rng: 5 });
  assert.equal(r.generation.ids.length, 4);
  assert.deepEqual(r.prior.shape, [4, 64, 64, 1]);
  assert.deepEqual(r.masks.shape, [4, 64, 64]);
  assert.equal(r.refPosFound.length, 4);
  assert.ok(tf.tidy(() => tf.isFinite(r.masks).all().dataSync()[0]) === 1);
  tf.dispose([r.prior, r.masks]);
  assert.equal(tf.memory().numTensors, before);
  // the image encoder is frozen and belongs to no trainable part
  assert.ok(m.sam.params.entries('imageEncoder').every(([, v]) => !v.trainable));
  const counts = m.parameterCounts();
  assert.equal(counts.total, counts.policy + counts.heatmapHead + counts.promptEncoder + counts.maskDecoder + counts.imageEncoder + m.sam.params.count('promptEncoder.peLayer'));
  m.dispose();
});

test('e_conc: the hidden state at the LAST <REF_POS>; zeros where a response has none, and no gradient reaches the policy through that row', () => {
  const h = tf.tensor2d([[1, 2], [3, 4]]);
  assert.deepEqual(Array.from(conceptEmbedding(h, [true, false]).dataSync()), [1, 2, 0, 0]);
  assert.throws(() => conceptEmbedding(h, [true]), /2 hidden states but 1 refPosFound/);
  h.dispose();

  const m = tinyCoprs();
  const batch = m.encode(samples.slice(0, 1).map((s) => s.image));
  const prompts = m.prompts([samples[0].query]);
  const withRef = [THINK, 20, THINK_END, REF_POS, 21, REF_POS, EOS]; // two <REF_POS>: the last counts
  const without = [THINK, 20, THINK_END, 21, EOS];
  tf.tidy(() => {
    const lp = m.score(prompts, [withRef, without], batch, 2);
    assert.deepEqual(lp.refPosFound, [true, false]);
    assert.deepEqual(lp.refPosIndex, [5, -1]);
    const seg = m.segment(lp.refPosHidden, lp.refPosFound, batch, 2);
    const e = seg.eConc.arraySync();
    assert.ok(e[0].some((v) => v !== 0));
    assert.ok(e[1].every((v) => v === 0), 'no <REF_POS>: e_conc is the zero vector');
    // zero query → every score 0 → a flat prior at the initial bias −1.8
    const row1 = seg.prior.slice([1, 0, 0, 0], [1, 64, 64, 1]);
    assertNear(row1.min().dataSync()[0], -1.8, 1e-5);
    assertNear(row1.max().dataSync()[0], -1.8, 1e-5);
  });
  // gradient of row 1's prior w.r.t. the policy: zero; of row 0's: not zero
  const policyVars = m.partParams('policy').map(([, v]) => v);
  const gradSum = (row: number): number => tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const lp = m.score(prompts, [withRef, without], batch, 2);
      const seg = m.segment(lp.refPosHidden, lp.refPosFound, batch, 2);
      return seg.prior.slice([row, 0, 0, 0], [1, 64, 64, 1]).sum() as tf.Scalar;
    }, policyVars);
    return Object.values(grads).reduce<number>((a, g) => a + (g ? g.abs().sum().dataSync()[0] : 0), 0);
  });
  assert.ok(gradSum(0) > 0);
  assert.equal(gradSum(1), 0);
  disposeImageBatch(batch);
  m.dispose();
});

test('the prior enters the prompt encoder as the mask prompt, filled with −50 outside the valid region', () => {
  const m = tinyCoprs();
  const wide: RGBImage = { width: 128, height: 64, data: new Uint8Array(128 * 64 * 3).fill(120) }; // padded below: valid rows 0..31 of 64
  const seen: Float32Array[] = [];
  const orig = m.sam.promptEncoder.embedMasks.bind(m.sam.promptEncoder);
  m.sam.promptEncoder.embedMasks = (x: tf.Tensor) => {
    seen.push(x.dataSync() as Float32Array);
    return orig(x);
  };
  const r = m.run([wide], ['the red circle'], { maxTokens: 3 });
  const prior = r.prior.dataSync();
  tf.dispose([r.prior, r.masks]);
  assert.equal(seen.length, 1);
  const input = seen[0];
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const i = y * 64 + x;
      if (y < 32) assert.equal(input[i], prior[i], `inside (${x}, ${y}): the prior itself`);
      else assert.equal(input[i], -50, `outside (${x}, ${y}): −50`);
    }
  }
  m.dispose();
});

test('soft targets: the ground truth resized to 64×64, in [0, 1]; repeatRows is prompt-major', () => {
  const mask = { width: 128, height: 128, data: new Uint8Array(128 * 128) };
  for (let y = 0; y < 64; y++) for (let x = 0; x < 65; x++) mask.data[y * 128 + x] = 1; // 65 columns: column 32 of the target is half covered
  const t = softTargets([mask], 128, 64);
  const v = t.arraySync()[0];
  assert.equal(v[0][0], 1);
  assertNear(v[0][32], 0.5, 1e-6);
  assert.equal(v[40][0], 0);
  t.dispose();
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const rep = repeatRows(x, 3);
  assert.deepEqual(rep.arraySync(), [[1, 2], [1, 2], [1, 2], [3, 4], [3, 4], [3, 4]]);
  tf.dispose([x, rep]);
});

test('the policy\'s image input from the one shared encoding equals PolicyModel.embedImages (the encoder runs once per image)', () => {
  const m = tinyCoprs();
  const images = samples.map((s) => s.image);
  const batch = m.encode(images);
  const ref = m.policy.embedImages(m.imageEncoder(), images);
  assert.deepEqual(batch.policyInput.shape, ref.shape);
  assert.deepEqual(Array.from(batch.policyInput.dataSync()), Array.from(ref.dataSync()));
  ref.dispose();
  disposeImageBatch(batch);
  m.dispose();
});

test('the reference policy is a frozen copy of the initial weights', () => {
  const m = tinyCoprs();
  const ref = frozenCopy(m.policy);
  assert.ok(sameWeights(ref, m.policy));
  assert.ok(ref.params.entries().every(([, v]) => !v.trainable));
  const [, w] = m.policy.params.entries()[0];
  tf.tidy(() => w.assign(w.add(1)));
  assert.ok(!sameWeights(ref, m.policy));
  ref.dispose();
  m.dispose();
});

test('checkpoints: stage 3 starts from a mini-SAM and a policy trained on it; kind coprs round-trips; other kinds are clear errors', async () => {
  const root = tmpDir();
  const parts = await writeParts(root);
  assert.throws(() => buildCoprsFromParts(parts.policy, parts.policy), /--sam .*is a "policy" checkpoint; this command needs a "sam" checkpoint/);
  assert.throws(() => buildCoprsFromParts(parts.sam, parts.sam), /--policy .*is a "sam" checkpoint; this command needs a "policy" checkpoint/);
  const other = await writeParts(path.join(root, 'other'), 9);
  assert.throws(() => buildCoprsFromParts(other.sam, parts.policy), /was trained on the mini-SAM .*the same frozen encoder/);
  const { model, sources } = buildCoprsFromParts(parts.sam, parts.policy);
  assert.equal(sources.policy?.dir, parts.policy);
  const dir = path.join(root, 'coprs');
  await saveCoprs(dir, model, sources, { size: 'tiny', step: 3 });
  const loaded = loadCoprs(dir);
  assert.equal(loaded.meta.kind, 'coprs');
  const a = model.run([samples[0].image], [samples[0].query], { maxTokens: 4 });
  const b = loaded.model.run([samples[0].image], [samples[0].query], { maxTokens: 4 });
  assert.deepEqual(a.generation.ids, b.generation.ids);
  assert.deepEqual(Array.from(a.masks.dataSync()), Array.from(b.masks.dataSync()));
  tf.dispose([a.prior, a.masks, b.prior, b.masks]);
  assert.throws(() => loadCoprs(parts.sam), /is a "sam" checkpoint; this command needs a "coprs" checkpoint/);
  model.dispose();
  loaded.model.dispose();
});

test('logProbs of the rollouts and the segment pass leak nothing', () => {
  const m = tinyCoprs();
  const batch = m.encode(samples.map((s) => s.image));
  const prompts = m.prompts(samples.map((s) => s.query));
  const run = () => {
    const lp = m.score(prompts, [[THINK, 20, REF_POS], [REF_POS], [21], [THINK, EOS]], batch, 2);
    const seg = m.segment(lp.refPosHidden, lp.refPosFound, batch, 2);
    disposeLogProbs(lp);
    tf.dispose([seg.eConc, seg.prior, seg.masks]);
  };
  run();
  const n = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, n);
  disposeImageBatch(batch);
  m.dispose();
});
