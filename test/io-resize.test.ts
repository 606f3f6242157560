/** Bilinear resizing: PyTorch/PIL semantics, checked against reference values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { antialiasWeights, resizeBilinear, resizeBilinearAntialias } from '../src/io/resize';

tf.setBackend('cpu');

const ROW = [0, 1, 4, 9, 16, 25, 36, 49, 64, 81];

function close(a: number[], b: number[], tol: number): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `index ${i}: ${v} vs ${b[i]}`));
}

/** Resizes the 1 x 10 row ROW to width `w` with the antialiased path. */
function aaRow(w: number): number[] {
  return tf.tidy(() => (resizeBilinearAntialias(tf.tensor2d([ROW]), 1, w).arraySync() as number[][])[0]);
}

test('antialiased shrink matches PIL bilinear (float mode) reference values', () => {
  // Values from PIL: Image.fromarray(ROW as float32 'F').resize((w, 1), Image.BILINEAR).
  close(aaRow(4), [1.7272727489471436, 11.5600004196167, 34.2400016784668, 64.7272720336914], 1e-4);
  close(aaRow(3), [3.525423765182495, 22.07575798034668, 57.6779670715332], 1e-4);
  close(aaRow(7), [0.3461538553237915, 2.9629628658294678, 9.77419376373291, 20.5, 35.6129035949707, 54.62963104248047, 75.11538696289062], 1e-4);
});

test('enlarging: antialiased path equals plain bilinear and matches PIL', () => {
  const pil25 = [0.0, 0.1, 0.5, 0.9, 1.9, 3.1, 4.5, 6.5, 8.5, 11.1, 13.9, 16.9, 20.5, 24.1, 28.3, 32.7, 37.3, 42.5, 47.7, 53.5, 59.5, 65.7, 72.5, 79.3, 81.0];
  close(aaRow(25), pil25, 1e-4);
  // The matrix form with scale < 1 is also bilinear: compare weights to tf's resizeBilinear directly.
  const w = antialiasWeights(10, 25);
  const viaMatrix = Array.from({ length: 25 }, (_, i) => ROW.reduce((s, v, j) => s + v * w[i * 10 + j], 0));
  const viaTf = tf.tidy(() => (resizeBilinear(tf.tensor2d([ROW]), 1, 25).arraySync() as number[][])[0]);
  close(viaMatrix, viaTf, 1e-4);
  close(viaTf, pil25, 1e-4);
});

test('antialias weights: rows sum to 1, identity at equal size', () => {
  for (const [a, b] of [[10, 3], [7, 7], [5, 12], [1024, 45]]) {
    const w = antialiasWeights(a, b);
    for (let i = 0; i < b; i++) {
      let s = 0;
      for (let j = 0; j < a; j++) s += w[i * a + j];
      assert.ok(Math.abs(s - 1) < 1e-5);
    }
  }
  const id = antialiasWeights(4, 4);
  assert.deepEqual([...id], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
});

test('resizeBilinear: half-pixel centres, borders clamped (PyTorch align_corners=False)', () => {
  // [[0, 1]] -> width 4: source x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> 0, 0.25, 0.75, 1.
  const r = tf.tidy(() => resizeBilinear(tf.tensor2d([[0, 1]]), 1, 4).arraySync());
  close((r as number[][])[0], [0, 0.25, 0.75, 1], 1e-6);
  // 3-D and 4-D inputs keep channels.
  const s3 = tf.tidy(() => resizeBilinear(tf.zeros([4, 6, 3]) as tf.Tensor3D, 8, 12).shape);
  assert.deepEqual(s3, [8, 12, 3]);
  const s4 = tf.tidy(() => resizeBilinearAntialias(tf.zeros([9, 6, 3]) as tf.Tensor3D, 3, 2).shape);
  assert.deepEqual(s4, [3, 2, 3]);
});

test('resize does not leak', () => {
  const x = tf.randomUniform([12, 9, 3]) as tf.Tensor3D;
  const run = (): void => {
    resizeBilinearAntialias(x, 5, 4).dispose();
    resizeBilinear(x, 20, 30).dispose();
    resizeBilinear(x, 12, 9).dispose();
  };
  run();
  const before = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
