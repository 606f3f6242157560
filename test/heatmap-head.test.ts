/** The positional-prior head (Algorithm 1): shapes, per-head scores by hand, the −1.8 bias, gradients, no leaks. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Params } from '../src/nn/params';
import { HeatmapHead } from '../src/models/coprs/heatmap-head';
import { assertNear } from './helpers/compare';

test('heatmap head: [B, d] and [B, 16, 16, C] → prior logits [B, 64, 64, 1], starting near sigmoid(−1.8)', () => {
  const p = Params.create(5);
  const head = new HeatmapHead(p, { queryDim: 24, embedDim: 16, heads: 4, headDim: 8, upscale: 4, initBias: -1.8 });
  tf.tidy(() => {
    const out = head.apply(tf.zeros([2, 24]) as tf.Tensor2D, tf.randomNormal([2, 16, 16, 16]) as tf.Tensor4D);
    assert.deepEqual(out.shape, [2, 64, 64, 1]);
    // e_conc = 0 → Q = 0 → scores 0 → fuse1 gives its bias (0) → SiLU(0) = 0 → fuse2 gives −1.8 everywhere
    assertNear(out.min().dataSync()[0], -1.8, 1e-6);
    assertNear(out.max().dataSync()[0], -1.8, 1e-6);
  });
  // parameters: Q (24·32) + K (16·32) + fuse1 (9·4·4 + 4) + fuse2 (9·4 + 1)
  assert.equal(p.count(), 24 * 32 + 16 * 32 + (9 * 16 + 4) + (9 * 4 + 1));
  p.dispose();
});

test('per-head scores are q_i · K_i / sqrt(d_h), without softmax', () => {
  const p = Params.create(1);
  const head = new HeatmapHead(p, { queryDim: 2, embedDim: 2, heads: 2, headDim: 2, upscale: 4, initBias: -1.8 });
  tf.tidy(() => {
    head.queryProj.w.assign(tf.tensor2d([[1, 0, 0, 1], [0, 1, 1, 0]])); // Q = [e0, e1, e1, e0]
    head.keyProj.w.assign(tf.tensor4d([1, 0, 1, 0, 0, 1, 0, 1], [1, 1, 2, 4])); // K = [E0, E1, E0, E1]
    const e = tf.tensor2d([[2, 3]]) as tf.Tensor2D;
    const E = tf.tensor4d([[[[5, 7]]]]) as tf.Tensor4D; // 1×1 grid
    const s = head.scores(e, E).dataSync();
    // head 0: q = (2, 3), k = (5, 7): (10 + 21) / sqrt(2); head 1: q = (3, 2), k = (5, 7): (15 + 14) / sqrt(2)
    assertNear(s[0], 31 / Math.SQRT2, 1e-5);
    assertNear(s[1], 29 / Math.SQRT2, 1e-5);
  });
  p.dispose();
});

test('heatmap head: gradients reach e_conc and every parameter; no tensor leaks', () => {
  const p = Params.create(2);
  const head = new HeatmapHead(p, { queryDim: 8, embedDim: 4, heads: 4, headDim: 4, upscale: 4, initBias: -1.8 });
  const e = tf.randomNormal([2, 8]) as tf.Tensor2D;
  const E = tf.randomNormal([2, 4, 4, 4]) as tf.Tensor4D;
  const step = () => tf.tidy(() => {
    const vars = p.entries().map(([, v]) => v);
    const { grads } = tf.variableGrads(() => head.apply(e, E).sigmoid().mean() as tf.Scalar, vars);
    const ge = tf.grad((x: tf.Tensor) => head.apply(x as tf.Tensor2D, E).mean())(e);
    return [Object.values(grads).every((g) => g.abs().sum().dataSync()[0] > 0), ge.abs().sum().dataSync()[0] > 0];
  });
  assert.deepEqual(step(), [true, true]);
  const n = tf.memory().numTensors;
  step();
  assert.equal(tf.memory().numTensors, n);
  tf.dispose([e, E]);
  p.dispose();
});
