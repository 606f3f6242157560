/** Prompt values and batching (models/sam/prompts.ts) and training prompt sampling (train/sam/prompts.ts, batch.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask } from '../src/data/sample';
import { checkPromptInside, maskBox, promptTokens, transformPrompt } from '../src/models/sam/prompts';
import { groundTruthPrompt } from '../src/models/sam/eval';
import { noisyBox, sampleErrorPoint, samplePositivePoint } from '../src/train/sam/prompts';
import { softTarget } from '../src/train/sam/batch';
import { computePreprocessInfo } from '../src/io/preprocess';
import { Rng } from '../src/util/rng';

tf.setBackend('cpu');

/** A W x H mask with the rectangle [x0, x1] x [y0, y1] (inclusive) set. */
function rect(W: number, H: number, x0: number, y0: number, x1: number, y1: number): BinaryMask {
  const data = new Uint8Array(W * H);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) data[y * W + x] = 1;
  return { width: W, height: H, data };
}

test('positive points are uniform over the mask pixels and always inside', () => {
  const mask = rect(16, 16, 3, 4, 6, 5); // 4 x 2 = 8 pixels
  const rng = new Rng(1);
  const counts = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const p = samplePositivePoint(mask, rng)!;
    assert.equal(p.label, 1);
    assert.equal(mask.data[p.y * 16 + p.x], 1, `(${p.x}, ${p.y}) is outside the mask`);
    counts.set(`${p.x},${p.y}`, (counts.get(`${p.x},${p.y}`) ?? 0) + 1);
  }
  assert.equal(counts.size, 8);
  for (const c of counts.values()) assert.ok(c > 400 && c < 600, `count ${c} far from 500`);
  assert.equal(samplePositivePoint(rect(4, 4, 0, 0, -1, -1), rng), null);
});

test('noisy boxes stay near the tight box, inside the image, ordered; zero noise gives the tight box', () => {
  const mask = rect(32, 32, 10, 12, 19, 15); // 10 x 4
  assert.deepEqual(maskBox(mask), [10, 12, 19, 15]);
  assert.deepEqual(noisyBox(mask, new Rng(0), { noiseFrac: 0, maxNoise: 3 }), [10, 12, 19, 15]);
  const rng = new Rng(2);
  let moved = 0;
  for (let i = 0; i < 500; i++) {
    const [x0, y0, x1, y1] = noisyBox(mask, rng, { noiseFrac: 0.1, maxNoise: 3 })!;
    assert.ok(x0 <= x1 && y0 <= y1 && x0 >= 0 && y0 >= 0 && x1 <= 31 && y1 <= 31);
    for (const [v, w] of [[x0, 10], [y0, 12], [x1, 19], [y1, 15]]) assert.ok(Math.abs(v - w) <= 3 + 1e-9);
    if (x0 !== 10) moved++;
  }
  assert.ok(moved > 400, 'the box is jittered');
  // At the image border the box is clamped inside.
  const edge = rect(8, 8, 0, 0, 7, 7);
  for (let i = 0; i < 50; i++) {
    const b = noisyBox(edge, rng, { noiseFrac: 0.5, maxNoise: 3 })!;
    assert.ok(b.every((v) => v >= 0 && v <= 7));
  }
});

test('corrective points come from the error region: positive on a miss, negative on a spill, none without error', () => {
  const r = 4;
  const target = Float32Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // object at cells (0..1, 0..1)
  const rng = new Rng(3);
  // Prediction covers only cell (0, 0): misses at (1, 0), (0, 1), (1, 1) -> positive points there.
  const missed = Float32Array.from(target, (v, i) => (i === 0 ? 5 : -5));
  for (let i = 0; i < 50; i++) {
    const p = sampleErrorPoint(missed, target, r, 8, rng)!;
    assert.equal(p.label, 1);
    const cell = Math.floor(p.y / 2) * r + Math.floor(p.x / 2);
    assert.ok([1, 4, 5].includes(cell), `cell ${cell}`);
  }
  // Prediction spills onto cell (3, 3) -> negative point in pixels 6..7.
  const spill = Float32Array.from(target, (v, i) => (v >= 0.5 || i === 15 ? 5 : -5));
  const q = sampleErrorPoint(spill, target, r, 8, rng)!;
  assert.equal(q.label, 0);
  assert.ok(q.x >= 6 && q.y >= 6);
  assert.equal(sampleErrorPoint(Float32Array.from(target, (v) => (v >= 0.5 ? 1 : -1)), target, r, 8, rng), null);
  assert.throws(() => sampleErrorPoint(new Float32Array(3), target, r, 8, rng), /expected 4x4 logits and target/);
});

test('prompt tokens: SAM order (points, box corners or one pad), rows right-padded with -1', () => {
  const t = promptTokens([
    { points: [{ x: 1, y: 2, label: 1 }] },
    { box: [0, 1, 5, 6] },
    { points: [{ x: 3, y: 4, label: 0 }], box: [0, 0, 7, 7] },
    {},
  ]);
  assert.equal(t.tokens, 3);
  assert.deepEqual(t.labels, [[1, -1, -1], [2, 3, -1], [0, 2, 3], [-1, -1, -1]]);
  assert.deepEqual(t.coords!.shape, [4, 3, 2]);
  assert.deepEqual(Array.from(t.coords!.dataSync().slice(0, 12)), [1, 2, 0, 0, 0, 0, 0, 1, 5, 6, 0, 0]);
  t.coords!.dispose();
  const none = promptTokens([{}, {}]);
  assert.equal(none.tokens, 0);
  assert.equal(none.coords, null);
});

test('prompts outside the image are errors that name the coordinate and the size; coordinates scale with the resize', () => {
  assert.throws(() => checkPromptInside({ points: [{ x: 128, y: 5, label: 1 }] }, 128, 128), /point 0 \(x=128, y=5\) lies outside the 128x128 image; expected 0 <= x < 128/);
  assert.throws(() => checkPromptInside({ points: [{ x: -1, y: 5, label: 1 }] }, 128, 128), /outside/);
  assert.throws(() => checkPromptInside({ box: [10, 10, 130, 20] }, 128, 128), /box \[10, 10, 130, 20\] is not inside the 128x128 image/);
  assert.throws(() => checkPromptInside({ box: [20, 10, 10, 20] }, 128, 128), /x0 <= x1/);
  assert.throws(() => checkPromptInside({ points: [{ x: 1, y: 1, label: 2 as 1 }] }, 8, 8), /label 2; expected 1 \(foreground\) or 0 \(background\)/);
  const info = computePreprocessInfo(64, 256, 128); // scale 0.5: 32 x 128 inside the 128 canvas
  assert.deepEqual(transformPrompt({ points: [{ x: 200, y: 60, label: 1 }], box: [0, 0, 255, 63] }, info), { points: [{ x: 100, y: 30, label: 1 }], box: [0, 0, 127.5, 31.5] });
  assert.throws(() => transformPrompt({ points: [{ x: 10, y: 64, label: 1 }] }, info), /outside the 256x64 image/);
});

test('ground-truth prompts: the tight box, and the deepest interior point', () => {
  const mask = rect(20, 20, 2, 3, 12, 9); // 11 x 7, center (7, 6)
  assert.deepEqual(groundTruthPrompt(mask, 'box'), { box: [2, 3, 12, 9] });
  assert.deepEqual(groundTruthPrompt(mask, 'point'), { points: [{ x: 5, y: 6, label: 1 }] });
  assert.equal(groundTruthPrompt(rect(4, 4, 0, 0, -1, -1), 'box'), null);
});

test('soft targets: the antialiased 2x downsample of a mask ([1, 3, 3, 1] / 8 filter), in [0, 1]', () => {
  const full = softTarget(rect(8, 8, 0, 0, 7, 7), 4);
  assert.ok(full.every((v) => Math.abs(v - 1) < 1e-6));
  // Left half set: column weights [1, 3, 3, 1] / 8 per output column -> 1, 1, 0, 0 away from the edge,
  // and the cells next to the edge see 1/8 of the other side.
  const half = softTarget(rect(8, 8, 0, 0, 3, 7), 4);
  const row = Array.from(half.slice(4, 8));
  assert.ok(Math.abs(row[0] - 1) < 1e-6 && Math.abs(row[1] - 7 / 8) < 1e-6 && Math.abs(row[2] - 1 / 8) < 1e-6 && Math.abs(row[3]) < 1e-6, `${row}`);
});
