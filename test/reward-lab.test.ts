/**
 * Reward lab (src/analysis/perturb.ts, reward-sweep.ts): mask perturbations with hand-computed
 * results on tiny masks, exact noise counts for a seed, clear errors for bad parameters; the
 * reward-vs-IoU sweep on a hand-made case (the mask reward's reference values 1.0 and ≈ 0.3667), a
 * user-registered reward in the sweep, and the sweep on real ShapeWorld-RS samples without leaks.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import type { BinaryMask, Sample } from '../src/data/sample';
import { trainStream } from '../src/data/shapeworld/index';
import { dilateMask, erodeMask, flipNoise, noiseFlips, perturbMask, shiftMask, type PerturbSpec } from '../src/analysis/perturb';
import { rewardContextFor, rewardSweep, summarizeSweep, sweepFigure, DEFAULT_SWEEP_LEVELS } from '../src/analysis/reward-sweep';
import { registerReward, rewardNames, type RewardFn } from '../src/rewards/registry';
import { maskScores } from '../src/rewards/mask';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

/** A mask from rows of '#' (1) and '.' (0). */
function m(...rows: string[]): BinaryMask {
  const width = rows[0].length;
  return { width, height: rows.length, data: Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0))) };
}
const rowsOf = (mask: BinaryMask): string[] =>
  Array.from({ length: mask.height }, (_, y) => Array.from(mask.data.subarray(y * mask.width, (y + 1) * mask.width)).map((v) => (v ? '#' : '.')).join(''));
const count = (mask: BinaryMask) => mask.data.reduce((a, b) => a + b, 0);

test('shift: a 2×2 square in 4×4 shifted by one pixel has IoU 1/3; pixels moved out are lost', () => {
  const sq = m('....', '.##.', '.##.', '....');
  const r = shiftMask(sq, 1, 0);
  assert.deepEqual(rowsOf(r.mask), ['....', '..##', '..##', '....']);
  assert.equal(r.iou, 1 / 3);
  assert.deepEqual(rowsOf(sq), ['....', '.##.', '.##.', '....'], 'the input is not changed');
  const down = shiftMask(sq, 0, 1);
  assert.deepEqual(rowsOf(down.mask), ['....', '....', '.##.', '.##.']);
  assert.equal(down.iou, 1 / 3);
  const out = shiftMask(sq, -2, -2);
  assert.deepEqual(rowsOf(out.mask), ['#...', '....', '....', '....']);
  assert.equal(out.iou, 0); // (0,0) is not in the square: intersection 0, union 5
  assert.equal(shiftMask(sq, 0, 0).iou, 1);
});

test('dilate: one pixel grows to the 4-neighbour cross (disk 1), 13 pixels (disk 2), a 3×3 square (square 1)', () => {
  const dot = m('.....', '.....', '..#..', '.....', '.....');
  const d1 = dilateMask(dot, 1);
  assert.deepEqual(rowsOf(d1.mask), ['.....', '..#..', '.###.', '..#..', '.....']);
  assert.equal(d1.iou, 1 / 5);
  const d2 = dilateMask(dot, 2);
  assert.deepEqual(rowsOf(d2.mask), ['..#..', '.###.', '#####', '.###.', '..#..']);
  assert.equal(count(d2.mask), 13);
  const s1 = dilateMask(dot, 1, 'square');
  assert.deepEqual(rowsOf(s1.mask), ['.....', '.###.', '.###.', '.###.', '.....']);
  assert.equal(s1.iou, 1 / 9);
  // growth is cut at the image border
  const corner = dilateMask(m('#..', '...', '...'), 1, 'square');
  assert.deepEqual(rowsOf(corner.mask), ['##.', '##.', '...']);
  assert.equal(dilateMask(dot, 0).iou, 1);
});

test('erode: a 5×5 square loses its ring (k 1), keeps its centre (k 2); the outside of the image counts as background', () => {
  const sq = m('.......', '.#####.', '.#####.', '.#####.', '.#####.', '.#####.', '.......');
  const e1 = erodeMask(sq, 1);
  assert.deepEqual(rowsOf(e1.mask), ['.......', '.......', '..###..', '..###..', '..###..', '.......', '.......']);
  assert.equal(e1.iou, 9 / 25);
  assert.deepEqual(rowsOf(erodeMask(sq, 1, 'square').mask), rowsOf(e1.mask));
  const e2 = erodeMask(sq, 2);
  assert.equal(count(e2.mask), 1);
  assert.equal(e2.mask.data[3 * 7 + 3], 1);
  assert.equal(erodeMask(sq, 3).iou, 0, 'eroded away: IoU 0');
  // a full mask shrinks from the image border (scipy's border_value = 0)
  assert.deepEqual(rowsOf(erodeMask(m('###', '###', '###'), 1).mask), ['...', '.#.', '...']);
  // disk 1 erodes the corners of a plus-shaped neighbourhood only: a cross survives at its centre
  assert.deepEqual(rowsOf(erodeMask(m('.....', '..#..', '.###.', '..#..', '.....'), 1).mask), ['.....', '.....', '..#..', '.....', '.....']);
  // closing a square with a square element gives the square back
  const closed = erodeMask(dilateMask(sq, 1, 'square').mask, 1, 'square');
  assert.deepEqual(rowsOf(closed.mask), rowsOf(sq));
});

test('noise: exactly round(p·W·H) pixels flip, the same for a seed, nested across levels', () => {
  const base = m('..........', '..####....', '..####....', '..####....', '..........', '..........', '..........', '..........', '..........', '..........');
  const diff = (a: BinaryMask, b: BinaryMask) => a.data.reduce((n, v, i) => n + (v !== b.data[i] ? 1 : 0), 0);
  const a = flipNoise(base, 0.07, 11);
  assert.equal(noiseFlips(base, 0.07), 7);
  assert.equal(diff(a.mask, base), 7);
  assert.deepEqual(flipNoise(base, 0.07, 11).mask.data, a.mask.data, 'same seed, same pixels');
  assert.notDeepEqual(flipNoise(base, 0.07, 12).mask.data, a.mask.data, 'another seed, other pixels');
  const lo = flipNoise(base, 0.03, 11);
  assert.equal(diff(lo.mask, base), 3);
  for (let i = 0; i < base.data.length; i++) if (lo.mask.data[i] !== base.data[i]) assert.notEqual(a.mask.data[i], base.data[i], 'the 3 flips of p 0.03 are among the 7 of p 0.07');
  assert.equal(flipNoise(base, 0, 1).iou, 1);
  assert.equal(diff(flipNoise(base, 1, 1).mask, base), 100, 'p 1 flips every pixel');
  // IoU: 12 foreground pixels; flips inside remove, flips outside add
  const inter = a.mask.data.reduce((n, v, i) => n + (v && base.data[i] ? 1 : 0), 0);
  const union = a.mask.data.reduce((n, v, i) => n + (v || base.data[i] ? 1 : 0), 0);
  assert.equal(a.iou, inter / union);
});

test('perturbations: invalid parameters and masks give errors that say what is allowed', () => {
  const sq = m('....', '.##.', '.##.', '....');
  assert.throws(() => shiftMask(sq, 0.5, 0), /dx and dy must be integers/);
  assert.throws(() => shiftMask(sq, 4, 0), /moves every pixel out of the 4x4 mask; use \|dx\| < 4/);
  assert.throws(() => shiftMask(sq, 0, -4), /\|dy\| < 4/);
  assert.throws(() => dilateMask(sq, -1), /k must be an integer number of pixels ≥ 0, got -1/);
  assert.throws(() => erodeMask(sq, 1.5), /k must be an integer/);
  assert.throws(() => dilateMask(sq, 5), /k = 5 is larger than the mask \(4x4\); use k ≤ 4/);
  assert.throws(() => dilateMask(sq, 1, 'hexagon' as 'disk'), /element must be "disk" or "square"/);
  assert.throws(() => flipNoise(sq, 1.5, 0), /p \(the fraction of pixels to flip\) must be in \[0, 1\], got 1.5/);
  assert.throws(() => flipNoise(sq, Number.NaN, 0), /must be in \[0, 1\]/);
  assert.throws(() => flipNoise(sq, 0.1, 0.5), /seed must be an integer/);
  assert.throws(() => shiftMask({ width: 4, height: 4, data: new Uint8Array(15) }, 1, 0), /expected a Uint8Array of 16 values/);
  assert.throws(() => dilateMask({ width: 2, height: 1, data: Uint8Array.from([0, 2]) }, 1), /values must be 0 or 1/);
  assert.throws(() => perturbMask(sq, { kind: 'blur', k: 1 } as unknown as PerturbSpec), /unknown perturbation "blur"; expected one of shift, dilate, erode, noise/);
});

/** A hand-made sample: a 64×64 square at (32, 32) in a 128×128 image (aligned to the 2×2 cells of the 64×64 reward grid). */
function squareSample(id = 'hand/0'): Sample {
  const W = 128;
  const data = new Uint8Array(W * W);
  for (let y = 32; y < 96; y++) for (let x = 32; x < 96; x++) data[y * W + x] = 1;
  return {
    id, dataset: 'refshapes', split: 'hand', image: { width: W, height: W, data: new Uint8Array(W * W * 3) }, mask: { width: W, height: W, data },
    query: 'the square', cot: { asks: 'the square', candidates: [], target: { objectId: 0, description: 'square', position: 'center' }, text: 'The query asks for the square. It is in the center.' },
  };
}

const hardIoUReward: RewardFn = (ctx) => ctx.masks!.map((pair) => {
  if (!pair) return null;
  let i = 0;
  let u = 0;
  pair.pred.forEach((p, k) => {
    const a = p >= 0.5;
    const b = pair.gt[k] >= 0.5;
    if (a && b) i++;
    if (a || b) u++;
  });
  return u === 0 ? 1 : i / u;
});

test('sweep on a hand-made case: the mask reward is 1.0 unperturbed and ≈ 0.3667 for a shift by half the side; a registered reward shows up', () => {
  if (!rewardNames().includes('lab-test/hard-iou')) registerReward('lab-test/hard-iou', hardIoUReward);
  const rows = rewardSweep({ samples: [squareSample()], rewards: ['mask', 'format-paper', 'lab-test/hard-iou'], levels: { shift: [0, 32], dilate: [0, 2], erode: [4], noise: [] } });
  assert.equal(rows.length, 5 * 3);
  const at = (kind: string, level: number, reward: string) => rows.find((r) => r.perturbation === kind && r.level === level && r.reward === reward)!;
  assert.equal(at('shift', 0, 'mask').iou, 1);
  assert.ok(Math.abs(at('shift', 0, 'mask').value! - 1) < 1e-9, `unperturbed mask reward ${at('shift', 0, 'mask').value}`);
  assert.equal(at('shift', 32, 'mask').iou, 1 / 3);
  assert.ok(Math.abs(at('shift', 32, 'mask').value! - (0.5 / 3 + 0.2 / 2 + 0.3 / 3)) < 1e-6, `half-side shift ${at('shift', 32, 'mask').value}`);
  assert.equal(at('shift', 32, 'format-paper').value, 1, 'the ground-truth chain of thought is a well-formed response');
  // the user reward is in the rows, and at the 64×64 reward grid it agrees with the 128×128 IoU for this aligned square
  assert.equal(at('shift', 32, 'lab-test/hard-iou').value, 1 / 3);
  assert.equal(at('dilate', 2, 'lab-test/hard-iou').iou, (64 * 64) / (68 * 68 - 4 * 3)); // disk 2 rounds each corner: 3 pixels short per corner
  assert.equal(at('erode', 4, 'lab-test/hard-iou').value, (28 * 28) / (32 * 32)); // 56×56 at 128 → 28×28 of 32×32 at 64
  const summary = summarizeSweep(rows);
  assert.equal(summary.length, 15);
  const fig = sweepFigure(summary);
  assert.equal(fig.data.filter((d) => d.name === 'lab-test/hard-iou').length, 4, 'one line per family');
  assert.throws(() => rewardSweep({ samples: [squareSample()], rewards: ['no-such-reward'] }), /unknown reward "no-such-reward"; registered rewards: .*mask/);
});

test('RewardContext as stage 3 builds it: soft targets at 64×64, the valid region, pred = gt unperturbed; binary predictions are 0/1', () => {
  const s = squareSample();
  const shifted = shiftMask(s.mask, 1, 0).mask; // cuts each 2×2 cell of the right edge in half
  const soft = rewardContextFor([s], [shifted]);
  assert.equal(soft.masks![0]!.pred.length, 64 * 64);
  assert.equal(soft.masks![0]!.valid!.reduce((a, b) => a + b, 0), 64 * 64, 'a square image has no padding');
  assert.ok(soft.masks![0]!.pred.some((v) => v > 0 && v < 1), 'resized: the cut cells are fractional');
  const bin = rewardContextFor([s], [shifted], { prediction: 'binary' });
  assert.ok(bin.masks![0]!.pred.every((v) => v === 0 || v === 1));
  const same = rewardContextFor([s], [s.mask]);
  assert.deepEqual(Array.from(same.masks![0]!.pred), Array.from(same.masks![0]!.gt));
  assert.equal(same.completions[0], '<think>The query asks for the square. It is in the center.</think> <REF_POS>');
  assert.deepEqual(same.completionIds, [[]], 'no tokenizer: empty ids');
  assert.throws(() => rewardContextFor([s], [s.mask], { prediction: 'blurred' as 'binary' }), /prediction must be "resized" or "binary"/);
});

test('sweep on real ShapeWorld-RS samples: every row, the soft target\'s own reward unperturbed, IoU falls with the level, no tensors left', () => {
  const samples = trainStream('refshapes', { seed: 4242 }).take(3);
  const n0 = tf.memory().numTensors;
  const rows = rewardSweep({ samples, rewards: ['mask', 'coprs'], seed: 5 });
  assert.equal(tf.memory().numTensors, n0);
  const levels = Object.values(DEFAULT_SWEEP_LEVELS).reduce((a, l) => a + l.length, 0);
  assert.equal(rows.length, samples.length * levels * 2);
  // Unperturbed, pred = the soft target itself; its mask reward is that of maskScores(gt, gt): 1 only
  // for a target without fractional pixels (soft IoU of a soft map with itself is Σg² / (2Σg − Σg²)).
  const selfReward = new Map(samples.map((s) => {
    const gt = rewardContextFor([s], [s.mask]).masks![0]!.gt;
    return [s.id, maskScores(gt, gt).reward];
  }));
  for (const r of rows.filter((r) => r.level === 0)) {
    assert.equal(r.iou, 1);
    const want = r.reward === 'mask' ? selfReward.get(r.sample)! : 0.7 * selfReward.get(r.sample)! + 0.3;
    assert.ok(Math.abs(r.value! - want) < 1e-9, `${r.sample} ${r.perturbation} 0 ${r.reward}: ${r.value} vs ${want}`);
    assert.ok(r.value! > 0.85 && r.value! <= 1, `${r.value}`);
  }
  const summary = summarizeSweep(rows).filter((r) => r.reward === 'mask');
  for (const kind of ['shift', 'dilate', 'erode', 'noise'] as const) {
    const ious = summary.filter((r) => r.perturbation === kind).map((r) => r.iou);
    for (let i = 1; i < ious.length; i++) assert.ok(ious[i] <= ious[i - 1] + 1e-12, `${kind}: mean IoU ${ious.join(', ')} does not fall with the level`);
    assert.ok(ious[ious.length - 1] < 0.9, `${kind}: the largest level moves the IoU (${ious[ious.length - 1]})`);
  }
  assert.deepEqual(rewardSweep({ samples, rewards: ['mask'], seed: 5 }).filter((r) => r.reward === 'mask'), rows.filter((r) => r.reward === 'mask'), 'deterministic for a seed');
});
