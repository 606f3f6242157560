/**
 * Fuzzing the format parsers in the reward registry: random and adversarial strings (nested or
 * unclosed tags, very long text, unicode, many special tokens) never throw, always give a number in
 * [0, 1], and stay under a time bound per string.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Rng } from '../src/util/rng';
import { getReward, rewardNames, RewardContext } from '../src/rewards/registry';

const PIECES = ['<think>', '</think>', '<REF_POS>', '[SEG]', '[LOC]', '<answer>', '</answer>', '<', '>', '/', ' ', '\n', '\t', 'the', 'red', 'circle', '{"bbox": [1, 2, 3, 4]}', '😀', 'é', '\u0000', '\u202e', '<think', 'think>', '<REF_POS', 'REF_POS>', '<<think>>'];

function randomString(rng: Rng): string {
  const n = rng.int(0, 40);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.bool(0.7) ? rng.pick(PIECES) : String.fromCharCode(rng.int(0, 0xffff));
  return s;
}

const ADVERSARIAL = [
  '', ' ', '<think>', '</think>', '<REF_POS>', '<think></think><REF_POS>',
  '<think>'.repeat(1000) + 'x' + '</think>'.repeat(1000) + '<REF_POS>',
  `<think>${'a'.repeat(200_000)}</think> <REF_POS>`,
  `<think>a</think> ${'<REF_POS>'.repeat(5000)}`,
  `<think>${'<'.repeat(50_000)}</think> <REF_POS>`,
  '<think>😀😀😀</think>\u00a0<REF_POS>\u2028',
  '<think>a</think><REF_POS>'.repeat(100),
  '<think>a</think' + '>'.repeat(10) + '<REF_POS>',
];

test('format rewards: never throw, always in [0, 1], fast, on 5000 random and adversarial strings', () => {
  const rng = new Rng(2024);
  const strings = [...ADVERSARIAL, ...Array.from({ length: 5000 }, () => randomString(rng))];
  const ctx: RewardContext = { prompts: strings.map(() => ''), completions: strings, completionIds: strings.map(() => []), step: 0 };
  for (const name of rewardNames().filter((n) => n.startsWith('format') || n === 'coprs')) {
    const t0 = performance.now();
    const values = getReward(name)(ctx);
    const msPerString = (performance.now() - t0) / strings.length;
    assert.equal(values.length, strings.length);
    values.forEach((v, i) => assert.ok(v !== null && v >= 0 && v <= 1 && Number.isFinite(v), `${name} gave ${v} for string ${i}`));
    assert.ok(msPerString < 5, `${name}: ${msPerString.toFixed(3)} ms per string`);
  }
  // the long-but-valid adversarial cases
  assert.equal(getReward('format-paper')({ ...ctx, completions: [ADVERSARIAL[7]] })[0], 0.9, 'think > 2048 chars');
  assert.equal(getReward('format-paper')({ ...ctx, completions: [ADVERSARIAL[10]] })[0], 1.0, 'unicode whitespace around the token');
});
