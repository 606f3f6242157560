/** Metrics: IoU counts, gIoU / cIoU, SegMetrics, tensor versions, logit threshold, heatmap IoU. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  MASK_LOGIT_THRESHOLD, SegMetrics, binarizeLogits, binarizeLogitsArray, cIoU, gIoU, heatmapIoU, iouCounts, iouCountsFromTensors,
  iouCountsTensor, iouFromCounts, iouTensor, logitsIoUCounts, maskIoU,
} from '../src/metrics';
import { computePreprocessInfo } from '../src/io/preprocess';
import { BinaryMask } from '../src/data/sample';

tf.setBackend('cpu');

/** Mask from rows of '0'/'1' characters. */
function m(...rows: string[]): BinaryMask {
  const height = rows.length;
  const width = rows[0].length;
  return { width, height, data: Uint8Array.from(rows.join(''), (c) => (c === '1' ? 1 : 0)) };
}

const PRED = m('1100', '1100', '0000', '0000');
const GT = m('0110', '0110', '0000', '0000');

test('4x4 by hand: intersection 2, union 6, IoU 1/3', () => {
  // Overlap at (x=1, y=0) and (x=1, y=1); union covers columns 0..2 of rows 0..1.
  assert.deepEqual(iouCounts(PRED, GT), { intersection: 2, union: 6 });
  assert.equal(maskIoU(PRED, GT), 1 / 3);
  assert.equal(maskIoU(GT, GT), 1);
  assert.equal(maskIoU(m('0000', '0000'), m('0110', '0000')), 0);
});

test('both masks empty -> IoU 1; a non-zero value counts as foreground', () => {
  const empty = m('000', '000');
  assert.deepEqual(iouCounts(empty, empty), { intersection: 0, union: 0 });
  assert.equal(maskIoU(empty, empty), 1);
  const twoFiftyFive = { width: 2, height: 1, data: new Uint8Array([255, 0]) };
  assert.equal(maskIoU(twoFiftyFive, m('10')), 1);
});

test('masks of different sizes throw, naming both sizes', () => {
  assert.throws(() => maskIoU(m('11', '11'), m('111', '111', '111')), /prediction is 2x2, ground truth is 3x3/);
  assert.throws(() => iouCounts(m('11'), m('11'), m('1')), /ignore mask is 1x1, ground truth is 2x1/);
});

test('ignore pixels leave both counts', () => {
  // Ignoring column 0 removes one union pixel per row: intersection 2, union 4.
  const ignore = m('1000', '1000', '0000', '0000');
  assert.deepEqual(iouCounts(PRED, GT, ignore), { intersection: 2, union: 4 });
});

test('gIoU vs cIoU on two images (computed by hand)', () => {
  // Image A (4x4, small object): gt 1 pixel, prediction 2 pixels including it -> I = 1, U = 2, IoU 0.5.
  const aPred = m('1100', '0000', '0000', '0000');
  const aGt = m('1000', '0000', '0000', '0000');
  // Image B (10x10, large object): gt all 100 pixels, prediction 90 of them -> I = 90, U = 100, IoU 0.9.
  const bGt = { width: 10, height: 10, data: new Uint8Array(100).fill(1) };
  const bPred = { width: 10, height: 10, data: new Uint8Array(100).fill(1).fill(0, 90) };
  // gIoU = (0.5 + 0.9) / 2 = 0.7; cIoU = (1 + 90) / (2 + 100) = 91 / 102 ≈ 0.892 (large objects dominate).
  const counts = [iouCounts(aPred, aGt), iouCounts(bPred, bGt)];
  assert.deepEqual(counts, [{ intersection: 1, union: 2 }, { intersection: 90, union: 100 }]);
  assert.ok(Math.abs(gIoU(counts) - 0.7) < 1e-12);
  assert.equal(cIoU(counts), 91 / 102);
  const acc = new SegMetrics();
  acc.add(aPred, aGt);
  acc.add(bPred, bGt);
  const s = acc.summary();
  assert.equal(s.count, 2);
  assert.ok(Math.abs(s.gIoU - 0.7) < 1e-12);
  assert.equal(s.cIoU, 91 / 102);
  assert.deepEqual([s.intersection, s.union], [91, 102]);
  assert.deepEqual(acc.perImage(), [0.5, 0.9]);
});

test('aggregates: empty images and empty lists', () => {
  assert.equal(iouFromCounts({ intersection: 0, union: 0 }), 1);
  // An empty/empty image scores 1 in gIoU and adds nothing to cIoU.
  const counts = [{ intersection: 0, union: 0 }, { intersection: 1, union: 4 }];
  assert.equal(gIoU(counts), (1 + 0.25) / 2);
  assert.equal(cIoU(counts), 0.25);
  // All empty: cIoU defined as 1.
  assert.equal(cIoU([{ intersection: 0, union: 0 }, { intersection: 0, union: 0 }]), 1);
  assert.ok(Number.isNaN(gIoU([])) && Number.isNaN(cIoU([])));
  const acc = new SegMetrics();
  const s = acc.summary();
  assert.equal(s.count, 0);
  assert.ok(Number.isNaN(s.gIoU) && Number.isNaN(s.cIoU));
  assert.throws(() => acc.addCounts({ intersection: 3, union: 2 }), /intersection <= union/);
  acc.addCounts({ intersection: 1, union: 2 });
  acc.reset();
  assert.equal(acc.summary().count, 0);
});

test('logit threshold is >= 0 (sigmoid >= 0.5), same for arrays and tensors', () => {
  assert.equal(MASK_LOGIT_THRESHOLD, 0);
  const logits = [-1, 0, 1e-9, -1e-9, 3];
  assert.deepEqual([...binarizeLogitsArray(logits)], [0, 1, 1, 0, 1]);
  const t = tf.tensor1d(logits);
  const b = binarizeLogits(t);
  assert.deepEqual([...b.dataSync()], [0, 1, 1, 0, 1]);
  tf.dispose([t, b]);
});

test('tensor IoU matches the array version, per image, with the empty rule', async () => {
  const empty = m('0000', '0000', '0000', '0000');
  const pairs: [BinaryMask, BinaryMask][] = [[PRED, GT], [empty, empty], [GT, GT]];
  const toT = (ms: BinaryMask[]): tf.Tensor3D => tf.tensor3d(ms.flatMap((x) => [...x.data]), [ms.length, 4, 4]);
  const p = toT(pairs.map((x) => x[0]));
  const g = toT(pairs.map((x) => x[1]));
  const iou = iouTensor(p, g);
  assert.deepEqual(iou.shape, [3]);
  const v = iou.dataSync();
  assert.ok(Math.abs(v[0] - 1 / 3) < 1e-6);
  assert.equal(v[1], 1);
  assert.equal(v[2], 1);
  const { intersection, union } = iouCountsTensor(p, g);
  assert.deepEqual([...intersection.dataSync()], [2, 0, 4]);
  assert.deepEqual([...union.dataSync()], [6, 0, 4]);
  assert.deepEqual(await iouCountsFromTensors(p, g), pairs.map(([a, b]) => iouCounts(a, b)));
  // Single [H, W] pair -> scalar.
  const single = iouTensor(p.slice([0, 0, 0], [1, 4, 4]).squeeze([0]), g.slice([0, 0, 0], [1, 4, 4]).squeeze([0]));
  assert.equal(single.rank, 0);
  // Soft values are binarised at 0.5.
  const soft = tf.tensor2d([[0.6, 0.4]]);
  const hard = tf.tensor2d([[1, 0]]);
  const sv = iouTensor(soft, hard);
  assert.equal(sv.dataSync()[0], 1);
  assert.throws(() => iouTensor(p, g.slice([0, 0, 0], [2, 4, 4])), /\[3, 4, 4\].*\[2, 4, 4\]/);
  const acc = new SegMetrics();
  await acc.addTensors(p, g);
  assert.equal(acc.summary().count, 3);
  assert.equal(acc.summary().cIoU, 6 / 10);
  tf.dispose([p, g, iou, intersection, union, single, soft, hard, sv]);
});

test('heatmap IoU: prior logits -> remove padding, original size, >= 0, IoU', async () => {
  // 8 x 4 image (H x W) at S = 8: valid region 8 x 4, padding columns 4..7.
  const info = computePreprocessInfo(8, 4, 8);
  assert.deepEqual([info.validH, info.validW], [8, 4]);
  // Prior at S: +5 on columns 0..1, -5 elsewhere; +5 in the padding too, which must be dropped.
  const rows = Array.from({ length: 8 }, () => [5, 5, -5, -5, 5, 5, 5, 5]);
  const prior = tf.tensor2d(rows);
  const gt = m(...Array.from({ length: 8 }, () => '1110'));
  // Prediction: columns 0..1 (16 pixels); GT columns 0..2 (24 pixels): IoU 16 / 24.
  assert.deepEqual(await logitsIoUCounts(prior, info, gt), { intersection: 16, union: 24 });
  assert.equal(await heatmapIoU(prior, info, gt), 2 / 3);
  await assert.rejects(heatmapIoU(prior, info, m('11', '11')), /ground truth is 2x2 but the preprocess info says 4x8/);
  prior.dispose();
});

test('tensor metrics do not leak', async () => {
  const p = tf.randomUniform([2, 8, 8]);
  const g = tf.randomUniform([2, 8, 8]);
  const prior = tf.randomNormal([4, 4]) as tf.Tensor2D;
  const info = computePreprocessInfo(8, 6, 8);
  const gt = { width: 6, height: 8, data: new Uint8Array(48).fill(1) };
  const run = async (): Promise<void> => {
    iouTensor(p, g).dispose();
    const c = iouCountsTensor(p, g);
    tf.dispose([c.intersection, c.union]);
    await iouCountsFromTensors(p, g);
    await heatmapIoU(prior, info, gt);
    binarizeLogits(prior).dispose();
  };
  await run();
  const before = tf.memory().numTensors;
  await run();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([p, g, prior]);
});
