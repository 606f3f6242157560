/**
 * Reliability, item 5, extending test/reward-fuzz.test.ts (which fuzzes the format rewards): EVERY
 * reward in the registry — mask and coprs included, with random, empty, full, soft and non-finite
 * predicted masks or none — and every parser a completion goes through (checkFormat under both rules,
 * the conclusion parser and its target check, the CoT judge, the tokenizer and the <REF_POS> finder)
 * on random and adversarial strings: nothing throws; rewards are null or a finite number in [0, 1];
 * judge scores lie in [0, 1]; all under a time bound per string.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Rng } from '../src/util/rng';
import { getReward, rewardNames, type MaskPair, type RewardContext } from '../src/rewards/registry';
import { checkFormat } from '../src/rewards/format';
import { conclusionHitsTarget, parseConclusion } from '../src/models/policy/format';
import { judgeCoT } from '../src/analysis/cot-judge';
import { Tokenizer, REF_POS, SPECIAL_TOKENS } from '../src/models/policy/tokenizer';
import { lastRefPosIndex } from '../src/models/policy/logprobs';
import { trainStream } from '../src/data/shapeworld/splits';
import { shapeWorldMeta } from '../src/data/shapeworld/make-sample';

const PIECES = [...SPECIAL_TOKENS, '<', '>', '/', ' ', '\n', 'so the target is the ', 'small', 'large', 'red', 'blue', 'circle', 'star', 'in the', 'top left', 'at the', '.', 'target is',
  '😀', 'é', '\u0000', '\u202e', '\ud800', '<think', 'think>', '<REF_POS', 'REF_POS>', '<<think>>', '{"bbox": [1, 2, 3, 4]}', 'constructor', '__proto__', '$&', '\\'];

function randomString(rng: Rng): string {
  const n = rng.int(0, 60);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.bool(0.75) ? rng.pick(PIECES) : String.fromCharCode(rng.int(0, 0xffff));
  return s;
}

const ADVERSARIAL = [
  '', ' ', '<think>', '</think>', '<REF_POS>', '<think></think><REF_POS>', '<think>a</think>',
  '<think>'.repeat(1000) + 'x' + '</think>'.repeat(1000) + '<REF_POS>',
  `<think>${'a '.repeat(100_000)}</think> <REF_POS>`,
  `<think>a</think> ${'<REF_POS>'.repeat(5000)}`,
  `${'so the target is the '.repeat(5000)}large red circle.`,
  `<think>so the target is the small red circle in the ${'top '.repeat(10_000)}</think> <REF_POS>`,
  `<think>${'<'.repeat(50_000)}</think> <REF_POS>`,
  '<think>😀😀😀</think>\u00a0<REF_POS>\u2028',
  '<think>a</think><REF_POS>'.repeat(100),
  '\ud800\udc00\ud800<think>\udfff</think> <REF_POS>',
  '<answer>{"bbox": [NaN, Infinity]}</answer>',
];

/** A predicted/ground-truth pair of one of several awkward kinds (or none). */
function randomMask(rng: Rng, n: number): MaskPair | null {
  const kind = rng.int(0, 6);
  if (kind === 0) return null;
  const gt = new Float32Array(n);
  const pred = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    gt[i] = kind === 1 ? 0 : kind === 2 ? 1 : rng.bool(0.3) ? 1 : 0;
    pred[i] = kind === 3 ? 0 : kind === 4 ? [NaN, Infinity, -Infinity, 2, -1][i % 5] : rng.next();
  }
  const valid = kind === 5 ? new Uint8Array(n) : kind === 6 ? Uint8Array.from({ length: n }, (_, i) => (i % 2)) : undefined; // kind 5: an empty valid region
  return { pred, gt, valid };
}

test('every registered reward: null or a finite number in [0, 1], never a throw, on random/adversarial completions and awkward masks', () => {
  const rng = new Rng(77);
  const strings = [...ADVERSARIAL, ...Array.from({ length: 3000 }, () => randomString(rng))];
  const samples = trainStream('refshapes', { seed: 11 }).take(8);
  const masks = strings.map(() => randomMask(rng, 64));
  const ctx: RewardContext = { prompts: strings.map(() => 'q'), completions: strings, completionIds: strings.map(() => []), masks, samples: strings.map((_, i) => samples[i % samples.length]), step: 3 };
  assert.ok(rewardNames().length >= 4);
  for (const name of rewardNames()) {
    const t0 = performance.now();
    const values = getReward(name)(ctx);
    const ms = (performance.now() - t0) / strings.length;
    assert.equal(values.length, strings.length, name);
    values.forEach((v, i) => assert.ok(v === null || (Number.isFinite(v) && v >= 0 && v <= 1), `${name} gave ${v} for completion ${i}`));
    assert.ok(ms < 5, `${name}: ${ms.toFixed(3)} ms per completion`);
  }
  assert.equal(getReward('mask')({ ...ctx, completions: ['x'], masks: [null] })[0], null, 'no mask: null, not 0 or NaN');
});

test('parsers: checkFormat (paper, code), parseConclusion + conclusionHitsTarget, the CoT judge, the tokenizer and the <REF_POS> finder never throw and stay in range', () => {
  const rng = new Rng(78);
  const strings = [...ADVERSARIAL, ...Array.from({ length: 2000 }, () => randomString(rng))];
  const tok = Tokenizer.default();
  const samples = trainStream('refshapes', { seed: 12 }).take(4);
  const t0 = performance.now();
  strings.forEach((s, i) => {
    for (const rules of ['paper', 'code'] as const) {
      const f = checkFormat(s, rules);
      assert.ok(Number.isFinite(f.reward) && f.reward >= 0 && f.reward <= 1, `checkFormat(${rules}) gave ${f.reward} for string ${i}`);
    }
    const c = parseConclusion(s);
    assert.ok(c === null || (typeof c.shape === 'string' && typeof c.color === 'string'));
    const sample = samples[i % samples.length];
    const meta = shapeWorldMeta(sample);
    assert.equal(typeof conclusionHitsTarget(c, meta.scene, meta.targetIds), 'boolean');
    const j = judgeCoT(s, sample);
    for (const k of ['logical', 'relevance', 'visual', 'localization', 'total'] as const) assert.ok(Number.isFinite(j[k]) && j[k] >= 0 && j[k] <= 1 + 1e-9, `judge ${k} ${j[k]} for string ${i}`);
    const ids = tok.encode(s);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.size), `token ids in the vocabulary for string ${i}`);
    const at = lastRefPosIndex(ids);
    assert.ok(at === -1 ? !ids.includes(REF_POS) : ids[at] === REF_POS && ids.lastIndexOf(REF_POS) === at);
  });
  const ms = (performance.now() - t0) / strings.length;
  assert.ok(ms < 20, `${ms.toFixed(3)} ms per string through every parser`);
});
