/** Rewards: the DESIGN §1 reference values, the five canonical format cases, the official-code rules, the registry. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { maskScores } from '../src/rewards/mask';
import { checkFormat, formatReward } from '../src/rewards/format';
import { combineRewards, getReward, registerReward, rewardNames, RewardContext } from '../src/rewards/registry';
import { assertNear } from './helpers/compare';

/** A 256×256 map with a 128×128 square at (x0, y0). */
function square(x0: number, y0: number): Float32Array {
  const m = new Float32Array(256 * 256);
  for (let y = y0; y < y0 + 128; y++) for (let x = x0; x < x0 + 128; x++) if (x >= 0 && x < 256 && y >= 0 && y < 256) m[y * 256 + x] = 1;
  return m;
}

test('mask reward reference values: identical 1.0, shifted by half the side ≈ 0.3667, disjoint 0.0', () => {
  const a = square(0, 0);
  assertNear(maskScores(a, a).reward, 1.0, 1e-9, 'identical');
  // intersection 64·128 = 8192, union 24576: IoU 1/3, dice 1/2 → 0.5/3 + 0.2/2 + 0.3/3 = 0.36667
  const shifted = maskScores(square(64, 0), a);
  assertNear(shifted.softIoU, 1 / 3, 1e-6);
  assertNear(shifted.softDice, 0.5, 1e-6);
  assertNear(shifted.hardIoU, 1 / 3, 1e-6);
  assertNear(shifted.reward, 0.5 / 3 + 0.1 + 0.1, 1e-6, 'shifted');
  assertNear(maskScores(square(128, 128), a).reward, 0, 1e-9, 'disjoint');
});

test('mask reward: soft predictions, both empty = 1, the valid region, length mismatch', () => {
  // p = 0.5 everywhere on a 2-pixel map, g = [1, 0]: Σpg = 0.5, Σp = 1, Σg = 1
  // softIoU = 0.5 / 1.5, softDice = 1 / 2, hard: p ≥ 0.5 → both pixels on, IoU 1/2
  const s = maskScores([0.5, 0.5], [1, 0]);
  assertNear(s.softIoU, 1 / 3, 1e-6);
  assertNear(s.softDice, 0.5, 1e-6);
  assertNear(s.hardIoU, 0.5, 1e-6);
  assertNear(maskScores([0, 0], [0, 0]).reward, 1, 1e-9, 'both empty');
  // Counting only pixel 0: p 0.5, g 1 → softIoU 0.5, dice 2/3, hard 1
  const v = maskScores([0.5, 0.9], [1, 0], [1, 0]);
  assertNear(v.reward, 0.5 * 0.5 + 0.2 * (2 / 3) + 0.3 * 1, 1e-6);
  assert.throws(() => maskScores([1], [1, 0]), /prediction has 1 values, ground truth 2/);
});

test('format reward: the five canonical cases of the paper', () => {
  const think = 'the red circle is on the left';
  assert.equal(formatReward('no tags at all'), 0, 'invalid');
  assert.equal(formatReward(`<think>${think}</think> <REF_POS>`), 1.0, 'valid and clean');
  assert.equal(formatReward(`<think>${'x'.repeat(2049)}</think> <REF_POS>`), 0.9, 'long think');
  assert.equal(formatReward(`Sure! <think>${think}</think> <REF_POS>`), 0.9, 'text before <think>');
  assert.equal(formatReward(`<think>${think}</think> <REF_POS> done.`), 0.9, 'text after the special token');
  // several faults still give 0.9
  assert.equal(formatReward(`hi <think>${think}</think> <REF_POS> bye`), 0.9);
  assert.equal(formatReward(`<think>${'x'.repeat(2048)}</think><REF_POS>\n  `), 1.0, '2048 characters and trailing whitespace are fine');
});

test('format reward: invalid structures score 0', () => {
  assert.equal(formatReward('<think>a</think>'), 0, 'no <REF_POS>');
  assert.equal(formatReward('<think>a</think> <REF_POS> <REF_POS>'), 0, 'two <REF_POS>');
  assert.equal(formatReward('<REF_POS> <think>a</think>'), 0, '<REF_POS> before </think>');
  assert.equal(formatReward('<think>  </think> <REF_POS>'), 0, 'empty think');
  assert.equal(formatReward('<think>a<think>b</think></think> <REF_POS>'), 0, 'nested');
  assert.equal(formatReward('</think>a<think> <REF_POS>'), 0, 'closed before opened');
  assert.equal(formatReward('<think>a <REF_POS></think>'), 0, 'token inside think');
  assert.match(checkFormat('<think>a</think>').faults[0], /exactly one <REF_POS>, found 0/);
});

test('format reward: official-code rules penalize >10 words between </think> and <REF_POS>, not text after it', () => {
  const eleven = 'one two three four five six seven eight nine ten eleven';
  assert.equal(formatReward(`<think>a</think> ${eleven} <REF_POS>`, 'code'), 0.9);
  assert.equal(formatReward(`<think>a</think> ${eleven} <REF_POS>`, 'paper'), 1.0);
  assert.equal(formatReward('<think>a</think> one two three <REF_POS>', 'code'), 1.0);
  assert.equal(formatReward('<think>a</think> <REF_POS> trailing words', 'code'), 1.0);
  assert.equal(formatReward('<think>a</think> <REF_POS> trailing words', 'paper'), 0.9);
  assert.equal(formatReward('pre <think>a</think> <REF_POS>', 'code'), 0.9);
});

function ctx(completions: string[], masks?: RewardContext['masks']): RewardContext {
  return { prompts: completions.map(() => 'p'), completions, completionIds: completions.map(() => []), masks, step: 0 };
}

test('registry: built-ins, coprs = 0.7 mask + 0.3 format, null rewards, unknown names rejected', () => {
  for (const n of ['mask', 'format-paper', 'format-code', 'coprs']) assert.ok(rewardNames().includes(n));
  const good = '<think>a</think> <REF_POS>';
  const m = { pred: new Float32Array([1, 0]), gt: new Float32Array([1, 0]) };
  const c = ctx([good, 'bad'], [m, null]);
  assert.deepEqual(getReward('mask')(c), [1, null]);
  const coprs = getReward('coprs')(c);
  assertNear(coprs[0] as number, 1.0, 1e-9);
  assertNear(coprs[1] as number, 0, 1e-9, 'no mask and invalid format');
  const combined = combineRewards({ mask: 0.7, 'format-paper': 0.3 }, c);
  assertNear(combined.total[0], 1.0, 1e-9);
  assert.equal(combined.total[1], 0, 'a null reward contributes nothing');
  assert.deepEqual(combined.perReward.mask, [1, null]);
  assert.throws(() => combineRewards({ 'format-papr': 1 }, c), /unknown reward "format-papr"; registered rewards: .*format-paper/);
  assert.throws(() => getReward('nope'), /unknown reward "nope"/);
  assert.throws(() => registerReward('mask', () => []), /already registered/);
  registerReward('length-penalty', (x) => x.completions.map((s) => (s.length > 10 ? -0.1 : null)), { replace: true });
  assert.deepEqual(combineRewards({ 'length-penalty': 2 }, c).total, [-0.2, 0]);
  registerReward('broken', (x) => x.completions.map(() => NaN), { replace: true });
  assert.throws(() => combineRewards({ broken: 1 }, c), /reward "broken" returned NaN/);
});
