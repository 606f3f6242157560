/**
 * FLOP counting from profiled kernels (src/bench/kernel-flops.ts): hand-computed counts for each
 * kernel kind, and the count of a real profiled matmul + conv forward/backward.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { kernelFlops, profileFlops } from '../src/bench/kernel-flops';

before(async () => {
  const a = await prepareBackend('cpu');
  assert.ok(a.ok);
  await tf.setBackend('cpu');
});

test('kernel FLOPs by hand', () => {
  // [2, 3, 4] x [2, 4, 5]: 2 · (2·3·5) · 4 = 240
  assert.equal(kernelFlops({ name: 'BatchMatMul', inputShapes: [[2, 3, 4], [2, 4, 5]], outputShapes: [[2, 3, 5]] }), 240);
  // transposeA: a [2, 4, 3] gives M = 3, K = 4: same 240
  assert.equal(kernelFlops({ name: 'BatchMatMul', inputShapes: [[2, 4, 3], [2, 4, 5]], outputShapes: [[2, 3, 5]] }), 240);
  // conv 3x3, Cin 2, Cout 4, output [1, 5, 5, 4]: 2 · 100 · 9 · 2 = 3600
  assert.equal(kernelFlops({ name: 'Conv2D', inputShapes: [[1, 5, 5, 2], [3, 3, 2, 4]], outputShapes: [[1, 5, 5, 4]] }), 3600);
  assert.equal(kernelFlops({ name: 'Conv2DBackpropInput', inputShapes: [[1, 5, 5, 4], [3, 3, 2, 4]], outputShapes: [[1, 5, 5, 2]] }), 3600);
  assert.equal(kernelFlops({ name: 'Conv2DBackpropFilter', inputShapes: [[1, 5, 5, 2], [1, 5, 5, 4]], outputShapes: [[3, 3, 2, 4]] }), 3600);
  // depthwise 1 x 7 filter, output [1, 2, 1, 6]: 2 · 12 · 7 = 168
  assert.equal(kernelFlops({ name: 'DepthwiseConv2dNative', inputShapes: [[1, 2, 7, 3], [1, 7, 3, 2]], outputShapes: [[1, 2, 1, 6]] }), 168);
  assert.equal(kernelFlops({ name: 'Add', inputShapes: [[1000], [1000]], outputShapes: [[1000]] }), 0);
});

test('a profiled matmul and conv, forward and backward', async () => {
  const a = tf.ones([8, 16]);
  const b = tf.variable(tf.ones([16, 4]));
  const x = tf.ones([1, 6, 6, 3]);
  const f = tf.variable(tf.ones([3, 3, 3, 5]));
  const info = await tf.profile(() => {
    const g = tf.variableGrads(() => tf.matMul(a, b).sum().add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same').sum()) as tf.Scalar);
    tf.dispose([g.value, ...Object.values(g.grads)]);
  });
  // matmul: forward 2·8·4·16 = 1024, dB = aᵀ·dy: 2·16·4·8 = 1024 (dA not needed: a is not a variable)
  // conv: forward 2·(36·5)·9·3 = 9720, filter gradient the same; no input gradient
  assert.equal(profileFlops(info.kernels), 1024 + 1024 + 9720 + 9720);
  tf.dispose([a, b, x, f]);
});
