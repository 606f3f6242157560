/** Focal, dice, BCE, IoU losses (src/train/sam/losses.ts) against values computed by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits, diceLoss, hardIoU, iouMseLoss, sigmoidFocalLoss } from '../src/train/sam/losses';

tf.setBackend('cpu');

const close = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const sig = (x: number): number => 1 / (1 + Math.exp(-x));

test('focal loss by hand: logits [0, 2] vs targets [1, 0], alpha 0.25, gamma 2', () => {
  // x = 0, t = 1: ce = ln 2, p_t = 0.5, (1 - p_t)^2 = 0.25, alpha_t = 0.25 -> 0.25 * 0.25 * ln 2
  const a = 0.25 * 0.25 * Math.LN2;
  // x = 2, t = 0: ce = ln(1 + e^2), p = sigmoid(2), p_t = 1 - p, (1 - p_t)^2 = p^2, alpha_t = 0.75
  const b = 0.75 * sig(2) ** 2 * Math.log(1 + Math.exp(2));
  const got = tf.tidy(() => sigmoidFocalLoss(tf.tensor2d([[0, 2]]), tf.tensor2d([[1, 0]])).arraySync());
  assert.equal(got.length, 1);
  close(got[0], (a + b) / 2);
  close(a, 0.0433217, 1e-6);
  close(b, 1.2376, 1e-4);
});

test('focal loss: gamma 0 and alpha -1 is plain BCE; per-mask values; soft targets', () => {
  const x = tf.tensor2d([[0.5, -1, 3], [2, 0, -2]]);
  const t = tf.tensor2d([[1, 0, 0.5], [0.2, 1, 0]]);
  const focal = tf.tidy(() => sigmoidFocalLoss(x, t, { gamma: 0, alpha: -1 }).arraySync());
  const bce = tf.tidy(() => bceWithLogits(x, t).arraySync());
  const byHand = [[0.5, 1], [-1, 0], [3, 0.5], [2, 0.2], [0, 1], [-2, 0]].map(([xi, ti]) => Math.max(xi, 0) - xi * ti + Math.log1p(Math.exp(-Math.abs(xi))));
  close(bce[0], (byHand[0] + byHand[1] + byHand[2]) / 3);
  close(bce[1], (byHand[3] + byHand[4] + byHand[5]) / 3);
  close(focal[0], bce[0]);
  close(focal[1], bce[1]);
  tf.dispose([x, t]);
});

test('dice loss by hand: 1 - (2 sum(p t) + 1) / (sum p + sum t + 1)', () => {
  const p = [sig(0), sig(2), sig(-1)];
  const t = [1, 0, 1];
  const want = 1 - (2 * (p[0] * 1 + p[2] * 1) + 1) / (p[0] + p[1] + p[2] + 2 + 1);
  const got = tf.tidy(() => diceLoss(tf.tensor2d([[0, 2, -1]]), tf.tensor2d([t])).arraySync());
  close(got[0], want);
  // A perfect, confident prediction has dice loss ~0; an empty target and empty prediction too (smooth 1).
  close(tf.tidy(() => diceLoss(tf.tensor2d([[50, -50]]), tf.tensor2d([[1, 0]])).arraySync())[0], 0, 1e-6);
  close(tf.tidy(() => diceLoss(tf.tensor2d([[-50, -50]]), tf.tensor2d([[0, 0]])).arraySync())[0], 0, 1e-6);
});

test('valid region: ignored pixels count in neither loss (CoPRS ignorePadding)', () => {
  const x = tf.tensor3d([[[0, 2], [-50, 7]]]); // 1 x 2 x 2
  const t = tf.tensor3d([[[1, 0], [1, 0]]]);
  const valid = tf.tensor3d([[[1, 1], [0, 0]]]); // only the first row counts
  const focalValid = tf.tidy(() => sigmoidFocalLoss(x, t, { valid }).arraySync()[0]);
  const focalRow = tf.tidy(() => sigmoidFocalLoss(tf.tensor2d([[0, 2]]), tf.tensor2d([[1, 0]])).arraySync()[0]);
  close(focalValid, focalRow);
  const diceValid = tf.tidy(() => diceLoss(x, t, { valid }).arraySync()[0]);
  const diceRow = tf.tidy(() => diceLoss(tf.tensor2d([[0, 2]]), tf.tensor2d([[1, 0]])).arraySync()[0]);
  close(diceValid, diceRow);
  tf.dispose([x, t, valid]);
});

test('hard IoU and the IoU-head MSE by hand; shape errors name both shapes', () => {
  // pred (logit >= 0): [1, 1, 0, 0]; gt (>= 0.5): [1, 0, 1, 0] -> 1 / 3. Empty vs empty -> 1.
  const iou = tf.tidy(() => hardIoU(tf.tensor2d([[0, 3, -1, -2], [-1, -1, -1, -1]]), tf.tensor2d([[1, 0.4, 0.6, 0], [0, 0, 0, 0]])).arraySync());
  close(iou[0], 1 / 3);
  close(iou[1], 1);
  const mse = tf.tidy(() => iouMseLoss(tf.tensor2d([[0.5, 1]]), tf.tensor2d([[1, 0]])).arraySync());
  close(mse[0], (0.25 + 1) / 2);
  assert.throws(() => sigmoidFocalLoss(tf.zeros([2, 3]), tf.zeros([2, 4])), /logits \[2, 3\] and targets \[2, 4\] must have the same shape/);
});

test('focal and dice have gradients (finite, pointing the right way)', () => {
  const x = tf.tensor2d([[0, 0]]);
  const t = tf.tensor2d([[1, 0]]);
  const g = tf.grad((v: tf.Tensor) => sigmoidFocalLoss(v, t).sum().add(diceLoss(v, t).sum()))(x);
  const [g0, g1] = (g.arraySync() as number[][])[0];
  assert.ok(g0 < 0, 'raising the logit of a foreground pixel lowers the loss');
  assert.ok(g1 > 0, 'raising the logit of a background pixel raises the loss');
  tf.dispose([x, t, g]);
});
