/**
 * Seg-Zero (src/paradigms/seg-zero): answer parsing (good and bad JSON, the decoded token round
 * trip), the five 0/1 rewards with hand-computed values and the threshold edges (10 px / 100 px at
 * 840 scaled to 128), malformed answers → 0, the rewards through the registry, ground-truth points
 * from the distance transform inside the mask, the prompt clamp, and tiny-preset steps (cold start,
 * GRPO) without leaks, the mini-SAM frozen.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, Sample } from '../src/data/sample';
import { trainStream } from '../src/data/shapeworld/index';
import { combineRewards, rewardNames } from '../src/rewards/registry';
import {
  SEG_ZERO_INSTRUCTION, SEG_ZERO_REWARDS, SegZeroParadigm, accuracyScores, answerFormatScore, answerJson, answerPrompt, boxIoU, groundTruthAnswer,
  groundTruthPoints, parseSegZeroAnswer, pointsDistance, scaledThresholds, segZeroResponseText, thinkFormatScore, type SegZeroAnswer,
} from '../src/paradigms/seg-zero/index';
import { assertNoLeak, changed, snapshot, tinyParadigm, useWasm } from './paradigm-fixtures';

before(useWasm);

const W = 128;
const answer = (bbox: number[], p1: number[], p2: number[]) => `<think>the red square.</think><answer>{"bbox": [${bbox.join(', ')}], "points_1": [${p1.join(', ')}], "points_2": [${p2.join(', ')}]}</answer>`;

function rectMask(x0: number, y0: number, x1: number, y1: number, w = W, h = W): BinaryMask {
  const data = new Uint8Array(w * h);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) data[y * w + x] = 1;
  return { width: w, height: h, data };
}

test('parsing: good JSON (spaces, key order, decoded token text) and bad JSON', () => {
  const good = parseSegZeroAnswer('<think>x</think><answer>{"points_2": [7, 8], "bbox": [1, 2, 30, 40], "points_1": [5.5, 6]}</answer>');
  assert.ok(good.ok);
  if (good.ok) assert.deepEqual(good.answer, { bbox: [1, 2, 30, 40], points: [[7, 8], [5.5, 6]] });
  for (const [text, why] of [
    ['<think>x</think><answer>no json</answer>', /no \{/],
    ['<answer>{bbox: [1, 2, 3, 4]}</answer>', /invalid JSON/],
    ['<answer>{"bbox": [1, 2, 3], "points_1": [1, 2], "points_2": [3, 4]}</answer>', /4 numbers/],
    ['<answer>{"bbox": [1, 2, 3, 4], "points_1": [1, 2]}</answer>', /two point keys/],
    ['<answer>{"bbox": [1, 2, 3, "4"], "points_1": [1, 2], "points_2": [3, 4]}</answer>', /4 numbers/],
    ['<answer>{"points_1": [1, 2], "points_2": [3, 4]}</answer>', /no "bbox"/],
    ['<answer>{"bbox": [1, 2, 3, 4], "points_1": [1], "points_2": [3, 4]}</answer>', /2 numbers/],
  ] as const) {
    const r = parseSegZeroAnswer(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.match(r.reason, why);
  }
  // The answer survives the policy's tokenizer (what the model writes is decoded text).
  const p = tinyParadigm('seg-zero') as SegZeroParadigm;
  const a: SegZeroAnswer = { bbox: [12, 3, 120, 99], points: [[60, 50], [7, 100]] };
  const text = segZeroResponseText('the query asks for the red circle.', a);
  const tok = p.policy.tokenizer;
  assert.deepEqual(tok.unknownWords(text), []);
  assert.deepEqual(tok.unknownWords(SEG_ZERO_INSTRUCTION), [], 'the instruction uses only known words');
  const decoded = tok.decode(tok.encode(text));
  const back = parseSegZeroAnswer(decoded);
  assert.ok(back.ok, decoded);
  if (back.ok) assert.deepEqual(back.answer, a);
  assert.equal(thinkFormatScore(decoded), 1);
  assert.equal(answerJson(a), '{"bbox": [12, 3, 120, 99], "points_1": [60, 50], "points_2": [7, 100]}');
  p.dispose();
});

test('thresholds: 10 px (box) and 100 px (points) at 840, scaled to the image\'s longest side', () => {
  const t = scaledThresholds(128, 128);
  assert.ok(Math.abs(t.bboxL1 - 10 * 128 / 840) < 1e-12 && Math.abs(t.bboxL1 - 1.5238) < 1e-4);
  assert.ok(Math.abs(t.pointsL1 - 100 * 128 / 840) < 1e-12 && Math.abs(t.pointsL1 - 15.238) < 1e-3);
  assert.deepEqual(scaledThresholds(840, 600), { bboxL1: 10, pointsL1: 100 });
});

test('format rewards: think format (exact <think>…</think> then <answer>…</answer>) and answer format', () => {
  assert.equal(thinkFormatScore('<think>a b</think> <answer>{}</answer>'), 1);
  assert.equal(thinkFormatScore('<think>a</think><answer>x</answer>'), 1);
  assert.equal(thinkFormatScore('so <think>a</think><answer>x</answer>'), 0, 'text before <think>');
  assert.equal(thinkFormatScore('<think>a</think><answer>x</answer> more'), 0, 'text after </answer>');
  assert.equal(thinkFormatScore('<think>a</think>'), 0, 'no answer');
  assert.equal(thinkFormatScore('<answer>x</answer>'), 0, 'no think');
  assert.equal(answerFormatScore(answer([1, 2, 3, 4], [1, 2], [3, 4])), 1);
  assert.equal(answerFormatScore('<think>a</think><answer>{"bbox": [1, 2, 3, 4], "points_1": [1, 2], "points_2": [3, 4]</answer>'), 0, 'unclosed JSON');
  assert.equal(answerFormatScore('<think>a</think><answer>{"bbox": [1, 2, 3, 4]}</answer>'), 0, 'missing points');
});

test('accuracy rewards by hand: bbox IoU > 0.5, bbox L1 < 1.52 px, points L1 < 15.24 px (inside the predicted box)', () => {
  const gt: SegZeroAnswer = { bbox: [40, 30, 59, 49], points: [[50, 40], [45, 35]] }; // a 20 × 20 box
  const s = (bbox: number[], p1 = [50, 40], p2 = [45, 35]) => accuracyScores(answer(bbox, p1, p2), gt, W, W);
  assert.deepEqual(s([40, 30, 59, 49]), { bboxIoU: 1, bboxL1: 1, pointsL1: 1 });
  assert.deepEqual(s([40, 30, 59, 49], [45, 35], [50, 40]), { bboxIoU: 1, bboxL1: 1, pointsL1: 1 }, 'points in either order');
  // bbox L1: mean |Δ| 1 < 1.524 → 1; 1.5 → 1; 2 → 0
  assert.equal(s([41, 31, 60, 50]).bboxL1, 1);
  assert.equal(s([41.5, 31.5, 60.5, 50.5]).bboxL1, 1);
  assert.equal(s([42, 32, 61, 51]).bboxL1, 0);
  // bbox IoU: shift 2 in x: inter 18·20 = 360, union 440 → 0.818 → 1; shift 10: 200 / 600 = 0.333 → 0
  assert.ok(Math.abs(boxIoU([42, 30, 61, 49], gt.bbox) - 360 / 440) < 1e-12);
  assert.equal(s([42, 30, 61, 49]).bboxIoU, 1);
  assert.ok(Math.abs(boxIoU([50, 30, 69, 49], gt.bbox) - 200 / 600) < 1e-12);
  assert.equal(s([50, 30, 69, 49]).bboxIoU, 0);
  // IoU exactly at the edge: 1/3 overlap of 3 equal boxes → IoU = 0.5 is NOT > 0.5
  assert.equal(boxIoU([0, 0, 9, 9], [0, 0, 9, 19]), 0.5);
  assert.equal(accuracyScores(answer([0, 0, 9, 9], [1, 1], [2, 2]), { bbox: [0, 0, 9, 19], points: [[1, 1], [2, 2]] }, W, W).bboxIoU, 0);
  // points: a big box; mean distance 15 < 15.238 → 1; 16 → 0; 65.9 truncates to 65 (distance 15) → 1
  const big: SegZeroAnswer = { bbox: [20, 20, 100, 100], points: [[50, 50], [60, 60]] };
  const sp = (p1: number[], p2: number[], box = [20, 20, 100, 100]) => accuracyScores(answer(box, p1, p2), big, W, W).pointsL1;
  assert.equal(pointsDistance([[65, 50], [75, 60]], big.points), 15);
  assert.equal(sp([65, 50], [75, 60]), 1);
  assert.equal(sp([66, 50], [76, 60]), 0);
  assert.equal(sp([65.9, 50], [75.9, 60]), 1, 'coordinates truncated to integers, as the code');
  assert.equal(sp([50, 50], [61, 60], [20, 20, 60, 60]), 0, 'a point outside the PREDICTED box → 0 however close');
  // malformed JSON → every accuracy reward 0
  assert.deepEqual(accuracyScores('<think>a</think><answer>{"bbox": [40, 30, 59, 49], "points_1": [50, 40]}</answer>', gt, W, W), { bboxIoU: 0, bboxL1: 0, pointsL1: 0 });
  assert.deepEqual(accuracyScores('<think>a</think><answer>{"bbox": [40 30 59 49]}</answer>', gt, W, W), { bboxIoU: 0, bboxL1: 0, pointsL1: 0 });
});

test('the five rewards through the registry: names, sum 5 for the exact GT answer, 0 for garbage, null without a sample', () => {
  for (const n of Object.keys(SEG_ZERO_REWARDS)) assert.ok(rewardNames().includes(n), n);
  const mask = rectMask(40, 30, 59, 49);
  const sample = { id: 's', mask, query: 'q' } as unknown as Sample;
  const gt = groundTruthAnswer(mask)!;
  assert.deepEqual(gt.bbox, [40, 30, 59, 49]);
  const good = segZeroResponseText('the square.', gt);
  const ctx = { prompts: ['q', 'q', 'q'], completions: [good, 'garbage', good], completionIds: [[], [], []], samples: [sample, sample, undefined as unknown as Sample], step: 0 };
  const r = combineRewards(SEG_ZERO_REWARDS, ctx);
  assert.deepEqual(r.total, [5, 0, 2]);
  assert.deepEqual(r.perReward['seg-zero/bbox-iou'], [1, 0, null]);
  assert.deepEqual(r.perReward['seg-zero/think-format'], [1, 0, 1]);
});

test('ground-truth points from the distance transform lie inside the mask (and are the two deepest circle centers)', () => {
  const shapes: BinaryMask[] = [rectMask(40, 30, 59, 49), rectMask(0, 0, 127, 127), rectMask(10, 10, 10, 10), rectMask(5, 60, 120, 62)];
  const L = rectMask(10, 10, 60, 30); // an L: horizontal bar + vertical bar
  for (let y = 30; y <= 100; y++) for (let x = 10; x <= 30; x++) L.data[y * W + x] = 1;
  shapes.push(L);
  for (const s of trainStream('refshapes', { seed: 9 }).take(6)) shapes.push(s.mask);
  for (const m of shapes) {
    const pts = groundTruthPoints(m)!;
    for (const [x, y] of pts) assert.equal(m.data[y * m.width + x], 1, `point (${x}, ${y}) inside the mask`);
  }
  const [p1, p2] = groundTruthPoints(L)!;
  // The L's arms are 21 px wide: the deepest pixels have depth 11; the second center lies outside the first circle.
  assert.ok(Math.hypot(p1[0] - p2[0], p1[1] - p2[1]) >= 11, `second circle center ${p2} outside the first circle around ${p1}`);
  const sq = groundTruthPoints(rectMask(40, 30, 59, 49))!;
  assert.ok(sq[0][0] >= 49 && sq[0][0] <= 50 && sq[0][1] >= 39 && sq[0][1] <= 40, `square: the deepest pixel is central, got ${sq[0]}`);
  assert.equal(groundTruthPoints({ width: 4, height: 4, data: new Uint8Array(16) }), null);
});

test('answer → mini-SAM prompt: corners ordered, coordinates clamped into the image, two positive points', () => {
  const p = answerPrompt({ bbox: [140, -3, 20, 50], points: [[-1, 5], [200, 300]] }, 128, 100);
  assert.deepEqual(p.box, [20, 0, 127, 50]);
  assert.deepEqual(p.points, [{ x: 0, y: 5, label: 1 }, { x: 127, y: 99, label: 1 }]);
});

test('tiny steps: a format cold-start step, then GRPO with the five rewards; the mini-SAM frozen; no leaks', () => {
  const p = tinyParadigm('seg-zero', { coldStart: { steps: 1 } }) as SegZeroParadigm;
  const sam = snapshot(p.sam.params.entries());
  const pol = snapshot(p.parts().policy);
  const c = p.trainStep();
  const cold = snapshot(p.parts().policy);
  assert.equal(c.record.cold_start, true);
  assert.ok(Number.isFinite(c.loss) && c.loss > 0);
  assert.ok(c.completions[0].completion!.toString().includes('<answer>{"bbox": ['));
  const g = p.trainStep();
  assert.equal(g.skipped, false);
  for (const k of ['reward', 'reward_std', 'frac_reward_zero_std', 'kl', 'clip_ratio', 'completions/mean_length', 'loss/grpo', ...Object.keys(SEG_ZERO_REWARDS).map((n) => `rewards/${n}/mean`)]) assert.ok(k in g.record, k);
  assert.equal(g.completions.length, 4);
  assert.ok('advantage' in g.completions[0] && 'rewards/seg-zero/bbox-iou' in g.completions[0]);
  assert.ok(changed(pol, snapshot(p.parts().policy)));
  assert.equal(changed(sam, snapshot(p.sam.params.entries())), false, 'the segmentation model is frozen');
  assert.equal(changed(cold, snapshot(p.ref!.params.entries())), false, 'the reference is the cold-started policy, frozen during GRPO');
  assert.deepEqual(Object.keys(p.parts()), ['policy']);
  assertNoLeak(() => p.trainStep(), 'a Seg-Zero GRPO step');
  p.dispose();
});

test('predict: an unparsable answer gives an empty mask at the original size; no leaks', async () => {
  const p = tinyParadigm('seg-zero') as SegZeroParadigm;
  const samples = trainStream('refshapes', { seed: 4 }).take(2);
  const preds = await p.predict(samples, { maxTokens: 3 });
  for (const [i, pr] of preds.entries()) {
    assert.equal(pr.maskLogits.length, samples[i].image.width * samples[i].image.height);
    if (pr.extra?.parsed === false) assert.ok(pr.mask.data.every((v) => v === 0));
  }
  const n = tf.memory().numTensors;
  await p.predict(samples, { maxTokens: 3 });
  assert.equal(tf.memory().numTensors, n);
  p.dispose();
});

test('answer masks: box + two points through the frozen mini-SAM equal Sam.predict with the same prompt; no answer → −50', async () => {
  const p = tinyParadigm('seg-zero') as SegZeroParadigm;
  const s = trainStream('refshapes', { seed: 6 }).take(1)[0];
  const gt = groundTruthAnswer(s.mask)!;
  const b = p.encode([s.image, s.image]);
  const m = p.answerMasks(b, [gt, null]);
  const r = p.sam.maskSize;
  assert.deepEqual(m.shape, [2, r, r]);
  const got = m.dataSync();
  const [ref] = await p.sam.predict(s.image, [answerPrompt(gt, s.image.width, s.image.height)]);
  let err = 0;
  for (let k = 0; k < r * r; k++) err = Math.max(err, Math.abs(got[k] - ref.lowResLogits[k]));
  assert.ok(err < 1e-4, `max |Δ| ${err}`);
  assert.ok(Array.from(got.subarray(r * r)).every((v) => v === -50));
  tf.dispose([m, b.E, b.policyInput, b.valid]);
  p.dispose();
});

test('after the format cold start the GRPO reference is the cold-started policy (kit\'s choice)', () => {
  const p = tinyParadigm('seg-zero', { steps: 3, coldStart: { steps: 1 } }) as unknown as { ref: { params: { entries(): [string, tf.Variable][] } }; policy: { params: { entries(): [string, tf.Variable][] } }; trainStep(): unknown; dispose(): void };
  try {
    const ref0 = snapshot(p.ref.params.entries());
    p.trainStep(); // cold start: the policy moves, the reference does not
    assert.ok(!changed(ref0, snapshot(p.ref.params.entries())), 'the cold start leaves the reference alone');
    const cold = snapshot(p.policy.params.entries());
    assert.ok(changed(ref0, cold), 'the cold start changed the policy');
    p.trainStep(); // first GRPO step: the reference is the policy as the cold start left it
    assert.ok(!changed(cold, snapshot(p.ref.params.entries())), 'reference = cold-started policy');
  } finally {
    p.dispose();
  }
});
