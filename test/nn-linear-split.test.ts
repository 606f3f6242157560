/**
 * `Linear.applySplit` equals `tf.split(Linear.apply(x))` in values and gradients, on both of its
 * routes (few rows: split the output; many rows: one product per weight block), with and without bias.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { Linear, SPLIT_PRODUCT_ROWS } from '../src/nn/layers';
import { Params } from '../src/nn/params';
import { assertClose } from './helpers/compare';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok);
  await tf.setBackend('wasm');
});

for (const rows of [3, SPLIT_PRODUCT_ROWS + 5]) {
  for (const bias of [false, true]) {
    test(`applySplit = split(apply): ${rows} rows, bias ${bias}`, () => {
      const p = Params.create(1);
      const lin = new Linear(p, 8, 12, { bias });
      if (lin.b) lin.b.assign(tf.range(0, 12).div(10));
      const x = tf.randomUniform([rows, 2, 8], -1, 1, 'float32', 3);
      const before = tf.memory().numTensors;
      const loss = (f: () => tf.Tensor[]) => () => f().reduce((s, t, i) => s.add(t.square().mul(i + 1).sum()), tf.scalar(0)) as tf.Scalar;
      const a = tf.variableGrads(loss(() => lin.applySplit(x, 3)), p.entries().map(([, v]) => v));
      const b = tf.variableGrads(loss(() => tf.split(lin.apply(x), 3, -1)), p.entries().map(([, v]) => v));
      assertClose(a.value.dataSync(), b.value.dataSync(), 1e-5, 'loss');
      for (const n of Object.keys(b.grads)) assertClose(a.grads[n].dataSync(), b.grads[n].dataSync(), 1e-4, n);
      const parts = lin.applySplit(x, 3);
      assert.deepEqual(parts.map((t) => t.shape), [[rows, 2, 4], [rows, 2, 4], [rows, 2, 4]]);
      tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), ...parts]);
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => lin.applySplit(x, 5), /outDim 12 does not split into 5/);
      x.dispose();
      p.dispose();
    });
  }
}
