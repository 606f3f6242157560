/**
 * mini-SAM modules: shapes through every module for S / M / L, parameter counts, the mask path with
 * CoPRS's −50 fill, attention maps, the wasm attention loop against the batched reference (values
 * and gradients), prompt errors, and an inference leak test.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { SAM_SIZES, buildSam, buildSamFromConfig, parseSamSize, resolveSamConfig } from '../src/models/sam/build-sam';
import { scaledDotProductAttention } from '../src/models/sam/common';
import { Sam } from '../src/models/sam/sam';
import { Rng } from '../src/util/rng';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

function randomImage(seed: number, w = 128, h = 128): { width: number; height: number; data: Uint8Array } {
  const rng = new Rng(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => rng.int(0, 255)) };
}

const EXPECTED_C = { S: 64, M: 96, L: 128 } as const;

for (const size of ['S', 'M', 'L'] as const) {
  test(`mini-SAM ${size}: shapes through every module, parameter counts`, (t) => {
    const sam = buildSam(size, { seed: 1 });
    const C = EXPECTED_C[size];
    try {
      const counts = sam.parameterCounts();
      t.diagnostic(`mini-SAM ${size} parameters: ${JSON.stringify(counts)}`);
      assert.equal(counts.total, counts.imageEncoder + counts.promptEncoder + counts.maskDecoder);
      assert.ok(counts.total > 100_000);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.randomNormal([2, 128, 128, 3]) as tf.Tensor4D;
        const emb = sam.imageEncoder.apply(x);
        assert.deepEqual(emb.shape, [2, 16, 16, C]);
        const pe = sam.promptEncoder.getDensePe();
        assert.deepEqual(pe.shape, [1, 16, 16, C]);
        // Points (padded with one not-a-point token), boxes, masks.
        const pts = sam.promptEncoder.apply({ points: { coords: tf.tensor3d([[[10, 20]], [[64, 64]]]), labels: [[1], [0]] } });
        assert.deepEqual(pts.sparse.shape, [2, 2, C]);
        assert.deepEqual(pts.dense.shape, [2, 16, 16, C]);
        const boxes = sam.promptEncoder.apply({ boxes: tf.tensor2d([[1, 2, 30, 40], [0, 0, 127, 127]]), masks: tf.zeros([2, 64, 64, 1]) });
        assert.deepEqual(boxes.sparse.shape, [2, 2, C]);
        assert.deepEqual(boxes.dense.shape, [2, 16, 16, C]);
        const both = sam.promptEncoder.apply({ points: { coords: tf.tensor3d([[[10, 20]], [[64, 64]]]), labels: [[1], [1]] }, boxes: tf.tensor2d([[1, 2, 30, 40], [0, 0, 127, 127]]) });
        assert.deepEqual(both.sparse.shape, [2, 3, C]);
        const none = sam.promptEncoder.apply({});
        assert.deepEqual(none.sparse.shape, [1, 0, C]);
        assert.deepEqual(none.dense.shape, [1, 16, 16, C]);
        // Two-way transformer: tokens and keys keep their shapes; attention maps per layer + final.
        const tokens = tf.randomNormal([2, 7, C]) as tf.Tensor3D;
        const tr = sam.maskDecoder.transformer.apply(emb, pe, tokens, { returnAttention: true });
        assert.deepEqual(tr.queries.shape, [2, 7, C]);
        assert.deepEqual(tr.keys.shape, [2, 256, C]);
        assert.equal(tr.attention!.length, 3);
        for (const a of tr.attention!) assert.deepEqual(a.shape, [2, 4, 7, 256]);
        // Mask decoder: single mask (index 0) or the three disambiguation masks.
        const args = { imageEmbeddings: emb, imagePe: pe, sparsePromptEmbeddings: both.sparse, densePromptEmbeddings: both.dense };
        const single = sam.maskDecoder.apply({ ...args, multimaskOutput: false });
        assert.deepEqual(single.masks.shape, [2, 1, 64, 64]);
        assert.deepEqual(single.iouPred.shape, [2, 1]);
        const multi = sam.maskDecoder.apply({ ...args, multimaskOutput: true });
        assert.deepEqual(multi.masks.shape, [2, 3, 64, 64]);
        assert.deepEqual(multi.iouPred.shape, [2, 3]);
        const all = sam.maskDecoder.predictMasks({ ...args, multimaskOutput: false });
        assert.deepEqual(all.masks.shape, [2, 4, 64, 64]);
        // multimaskOutput = false is exactly mask token 0 of the full prediction.
        assert.ok(tf.max(tf.abs(all.masks.slice([0, 0, 0, 0], [2, 1, 64, 64]).sub(single.masks))).dataSync()[0] < 1e-5);
        // One image, several prompts (SAM's usual case): the embedding is broadcast.
        const one = sam.decode(emb.slice([0, 0, 0, 0], [1, 16, 16, C]) as tf.Tensor4D, [{ points: [{ x: 3, y: 4, label: 1 }] }, { box: [0, 0, 10, 10] }, {}]);
        assert.deepEqual(one.masks.shape, [3, 1, 64, 64]);
      });
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks out of the tidy');
    } finally {
      sam.dispose();
    }
  });
}

test('sizes: registry, config values, unknown size and unknown config keys are clear errors', () => {
  assert.deepEqual(Object.keys(SAM_SIZES), ['S', 'M', 'L']);
  assert.deepEqual([SAM_SIZES.S.embedDim, SAM_SIZES.M.embedDim, SAM_SIZES.L.embedDim], [64, 96, 128]);
  assert.equal(parseSamSize('m'), 'M');
  assert.throws(() => buildSam('XL'), /unknown mini-SAM size "XL": expected one of S, M, L/);
  assert.throws(() => resolveSamConfig('S', { encoder: { widht: 3 } }), /sam\.S\.encoder\.widht: unknown key/);
  const tiny = buildSamFromConfig(resolveSamConfig('S', { encoder: { depth: 1 } }));
  assert.equal(tiny.imageEncoder.blocks.length, 1);
  tiny.dispose();
});

test('new Sam(imageEncoder, promptEncoder, maskDecoder): submodules passed in, from one parameter set', () => {
  const built = buildSam('S', { seed: 5 });
  const again = new Sam(built.imageEncoder, built.promptEncoder, built.maskDecoder);
  assert.equal(again.parameterCounts().total, built.parameterCounts().total);
  const other = buildSam('S', { seed: 6 });
  assert.throws(() => new Sam(built.imageEncoder, other.promptEncoder, built.maskDecoder), /the prompt encoder's parameters are not in the model's parameter set/);
  built.dispose();
  other.dispose();
});

test('same seed, same weights; different seed, different weights', () => {
  const a = buildSam('S', { seed: 3 });
  const b = buildSam('S', { seed: 3 });
  const c = buildSam('S', { seed: 4 });
  const name = 'maskDecoder.transformer.layers.0.crossAttnTokenToImage.qProj.w';
  assert.deepEqual(Array.from(a.params.get(name).dataSync()), Array.from(b.params.get(name).dataSync()));
  assert.notDeepEqual(Array.from(a.params.get(name).dataSync()), Array.from(c.params.get(name).dataSync()));
  // The positional-encoding matrix is seeded and fixed (not trainable).
  const g = a.params.get('promptEncoder.peLayer.positionalEncodingGaussianMatrix');
  assert.equal(g.trainable, false);
  assert.deepEqual(g.shape, [2, 32]);
  for (const s of [a, b, c]) s.dispose();
});

let sam: Sam;

test('mask path: arbitrary float logits, CoPRS\'s −50 fill outside the valid region; wrong shapes are errors', () => {
  sam = buildSam('S', { seed: 2 });
  tf.tidy(() => {
    // A prior: a Gaussian blob of logits inside a 64 x 40 valid region, −50 outside.
    const v = new Float32Array(64 * 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) v[y * 64 + x] = x < 40 ? 6 * Math.exp(-((x - 20) ** 2 + (y - 30) ** 2) / 50) - 3 : -50;
    const prior = tf.tensor4d(v, [1, 64, 64, 1]);
    const dense = sam.promptEncoder.embedMasks(prior);
    assert.deepEqual(dense.shape, [1, 16, 16, 64]);
    assert.ok(tf.all(tf.isFinite(dense)).dataSync()[0] === 1);
    const emb = sam.imageEmbed(tf.zeros([1, 128, 128, 3]) as tf.Tensor4D);
    const out = sam.decode(emb, [{}], { masks: prior });
    assert.deepEqual(out.masks.shape, [1, 1, 64, 64]);
    assert.ok(tf.all(tf.isFinite(out.masks)).dataSync()[0] === 1);
    assert.throws(() => sam.promptEncoder.embedMasks(tf.zeros([1, 64, 64])), /PromptEncoder masks \(B x 64 x 64 x 1 logits\): expected shape \[\*, 64, 64, 1\], got \[1, 64, 64\]/);
    assert.throws(() => sam.promptEncoder.embedMasks(tf.zeros([1, 32, 32, 1])), /expected shape \[\*, 64, 64, 1\], got \[1, 32, 32, 1\]/);
    assert.throws(() => sam.decode(emb, [{}, {}], { masks: prior }), /2 prompts but 1 mask inputs/);
    assert.throws(() => sam.promptEncoder.apply({ points: { coords: tf.zeros([1, 1, 2]), labels: [[4]] } }), /label 4 is not one of/);
    assert.throws(() => sam.imageEmbed(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D), /ImageEncoder input \(B x 128 x 128 x 3, normalized and padded\): expected shape \[\*, 128, 128, 3\], got \[1, 64, 64, 3\]/);
  });
});

test('predict: masks at the original size; a prompt outside the image is an error naming it', async () => {
  const img = randomImage(7, 96, 64); // not square: resized to 128 x 85 and padded
  const preds = await sam.predict(img, [{ points: [{ x: 40, y: 30, label: 1 }] }, { box: [10, 10, 50, 40] }], { multimaskOutput: true });
  assert.equal(preds.length, 2);
  assert.equal(preds[0].masks.length, 3);
  assert.equal(preds[0].masks[0].width, 96);
  assert.equal(preds[0].masks[0].height, 64);
  assert.equal(preds[0].iouPredictions.length, 3);
  assert.equal(preds[0].lowResLogits.length, 3 * 64 * 64);
  await assert.rejects(sam.predict(img, [{ points: [{ x: 96, y: 10, label: 1 }] }]), /prompt 0: point 0 \(x=96, y=10\) lies outside the 96x64 image/);
  await assert.rejects(sam.predict(img, [{ box: [0, 0, 10, 70] }]), /box \[0, 0, 10, 70\] is not inside the 96x64 image/);
});

test('inference leaks no tensors (warm up, count, run again)', async () => {
  const img = randomImage(8);
  const prompts = [{ points: [{ x: 40, y: 30, label: 1 as const }] }, { box: [10, 10, 50, 40] as [number, number, number, number] }];
  await sam.predict(img, prompts);
  const n = tf.memory().numTensors;
  await sam.predict(img, prompts);
  assert.equal(tf.memory().numTensors, n);
  const run = (): void => {
    const { tensor } = sam.preprocess([img, img]);
    tf.tidy(() => {
      const emb = sam.imageEmbed(tensor);
      sam.decode(emb, [...prompts, ...prompts], { imageIndex: [0, 0, 1, 1], returnAttention: true }).masks.dataSync();
    });
    tensor.dispose();
  };
  run();
  const m = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, m);
});

test('the wasm attention loop equals batched attention, values and gradients', () => {
  const rng = new Rng(11);
  const rand = (shape: number[]): tf.Tensor => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
  tf.tidy(() => {
    const q = rand([2, 3, 64, 32]);
    const k = rand([2, 3, 48, 32]);
    const v = rand([2, 3, 48, 16]);
    const w = rand([2, 3, 64, 16]);
    const loop = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => scaledDotProductAttention(a, b, c).out.mul(w).sum() as tf.Scalar;
    const ref = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.matMul(tf.softmax(tf.matMul(a, b, false, true).div(Math.sqrt(32))), c).mul(w).sum() as tf.Scalar;
    const [yl, yr] = [scaledDotProductAttention(q, k, v).out, tf.matMul(tf.softmax(tf.matMul(q, k, false, true).div(Math.sqrt(32))), v)];
    assert.ok(tf.max(tf.abs(yl.sub(yr))).dataSync()[0] < 1e-5);
    const gl = tf.grads(loop)([q, k, v]);
    const gr = tf.grads(ref)([q, k, v]);
    gl.forEach((g, i) => assert.ok(tf.max(tf.abs(g.sub(gr[i]))).dataSync()[0] < 1e-4, `gradient ${i}`));
  });
});

test('dispose frees every variable', () => {
  const n = tf.memory().numTensors;
  const vars = sam.params.entries().length;
  sam.dispose();
  assert.equal(sam.params.entries().length, 0);
  assert.ok(tf.memory().numTensors <= n - vars);
});
