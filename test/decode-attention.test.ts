/**
 * The decode-step attention (src/models/policy/decode-attention.ts) against softmax(q·kᵀ + bias)·v
 * computed with matmuls on `cpu` (relative error ≤ 1e-4), on wasm and cpu, with its routing.
 * (test/policy.test.ts checks KV-cache decoding, which uses it on wasm, against a full forward pass.)
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { decodeAttention, useDecodeAttention } from '../src/models/policy/decode-attention';
import { Rng } from '../src/util/rng';
import { assertClose } from './helpers/compare';

before(async () => {
  for (const b of ['cpu', 'wasm'] as const) {
    const a = await prepareBackend(b);
    assert.ok(a.ok, `${b} must start: ${a.detail}`);
  }
});

function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(-scale, scale)), shape);
}

function inputs(B: number, H: number, S: number, dh: number, biasB: number) {
  const q = rand([B, H, 1, dh], 1, 2) as tf.Tensor4D;
  const k = rand([B, H, S, dh], 2) as tf.Tensor4D;
  const v = rand([B, H, S, dh], 3) as tf.Tensor4D;
  // padding-style bias: the first position of every other row masked
  const bias = tf.tensor4d(Array.from({ length: biasB * S }, (_, i) => (i % S === 0 && Math.floor(i / S) % 2 === 1 ? -1e9 : 0)), [biasB, 1, 1, S]);
  return { q, k, v, bias };
}

/** The matmul form: [B,T,H·dh]. */
function reference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D): tf.Tensor {
  const [B, H, T, dh] = q.shape;
  const p = tf.softmax(tf.matMul(q, k, false, true).add(bias)); // B x H x T x S
  return tf.matMul(p, v).transpose([0, 2, 1, 3]).reshape([B, T, H * dh]); // B x T x H·dh
}

for (const [B, H, S, dh, biasB] of [[3, 2, 7, 4, 3], [2, 4, 300, 32, 2], [2, 2, 9, 8, 1]] as const) {
  test(`decode attention equals the matmul form: B ${B} H ${H} S ${S} dh ${dh} (bias batch ${biasB})`, async () => {
    await tf.setBackend('cpu');
    const want = tf.tidy(() => { const x = inputs(B, H, S, dh, biasB); return reference(x.q, x.k, x.v, x.bias).dataSync() as Float32Array; });
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => { const x = inputs(B, H, S, dh, biasB); return decodeAttention(x.q, x.k, x.v, x.bias).dataSync() as Float32Array; });
      assert.equal(tf.memory().numTensors, before, `${backend}: no tensors leak`);
      assertClose(got, want, 1e-4, `${backend} attention output`);
    }
  });
}

test('decode attention: used on wasm for one position only; more positions are refused', async () => {
  await tf.setBackend('wasm');
  assert.equal(useDecodeAttention(1), true);
  assert.equal(useDecodeAttention(2), false);
  tf.tidy(() => assert.throws(() => decodeAttention(tf.zeros([1, 2, 3, 4]) as tf.Tensor4D, tf.zeros([1, 2, 5, 4]) as tf.Tensor4D, tf.zeros([1, 2, 5, 4]) as tf.Tensor4D, tf.zeros([1, 1, 3, 5]) as tf.Tensor4D), /one query position.*\[1,2,3,4\]/));
  await tf.setBackend('cpu');
  assert.equal(useDecodeAttention(1), false);
});
