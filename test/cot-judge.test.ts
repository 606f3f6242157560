/** The programmatic CoT-consistency judge on hand-written chains of thought. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { judgeCoT, findMentions } from '../src/analysis/cot-judge';
import { loadSplit } from '../src/data/shapeworld/index';
import { assertNear } from './helpers/compare';

test('mentions: size, color, shape and the position phrase after them', () => {
  const m = findMentions('a small green triangle at the top and a large red circle in the bottom left, then the star.');
  assert.deepEqual(m.map((x) => [x.size, x.color, x.shape, x.position]), [
    ['small', 'green', 'triangle', 'top'], ['large', 'red', 'circle', 'bottom left'], [undefined, undefined, 'star', undefined]]);
  assert.equal(findMentions('a big blue square')[0].size, 'large', 'size synonyms map to the size name');
});

test('judge: hand-written chains on refshapes/val/000001 ("the small shape in the top half")', async () => {
  // Scene: yellow cross (medium, top right), small green triangle (top) = target, yellow circle (medium, top),
  // large green circle (left), purple circle (medium, center), small yellow star (center).
  const [, s] = await loadSplit('refshapes', 'val', { limit: 2 });
  assert.equal(s.query, 'the small shape in the top half');
  const perfect = judgeCoT(s.cot!.text, s);
  assert.deepEqual([perfect.logical, perfect.visual, perfect.localization], [1, 1, 1]);
  assertNear(perfect.relevance, 1, 1e-12, 'query key words: small, top');
  assertNear(perfect.total, 1, 1e-12);

  // Wrong target (the star, described correctly at its own place): logical 0, visual 1, localization 0 (the target is at the top).
  const wrong = judgeCoT('The small shapes are the small green triangle and the small yellow star. So the target is the small yellow star in the center.', s);
  assert.deepEqual([wrong.logical, wrong.visual, wrong.localization], [0, 1, 0]);
  assertNear(wrong.relevance, 0.5, 1e-12, 'uses "small" but not "top"');
  assertNear(wrong.total, 0.3 * 0 + 0.2 * 0.5 + 0.3 * 1 + 0.2 * 0, 1e-12);

  // Hallucinated object, ambiguous conclusion ("the triangle" fits only the green one here → 1), no position.
  const halluc = judgeCoT('I see a large blue hexagon. So the target is the triangle.', s);
  assert.equal(halluc.visual, 0, 'the blue hexagon does not exist');
  assert.equal(halluc.logical, 1, '"the triangle" fits exactly the target');
  assert.equal(halluc.localization, 0, 'no position stated');
  assertNear(halluc.relevance, 0, 1e-12, 'neither "small" nor "top" is used');

  // Ambiguous: "the yellow shape"-style conclusion that fits the target and another object → 0.5.
  const amb = judgeCoT('So the target is the small triangle at the top.', s);
  assert.equal(amb.logical, 1);
  const amb2 = judgeCoT('So the target is the circle.', s);
  assert.equal(amb2.logical, 0, 'circles are not the target');
  assert.equal(judgeCoT('no objects at all', s).total, 0.2 * 0);
});

test('ground-truth chains of thought score high across refshapes and reasonshapes val', async () => {
  for (const [dataset, min] of [['refshapes', 0.95], ['reasonshapes', 0.9]] as const) {
    const samples = await loadSplit(dataset, 'val', { limit: 60 });
    const mean = samples.reduce((a, s) => a + judgeCoT(s.cot!.text, s).total, 0) / samples.length;
    assert.ok(mean >= min, `${dataset}: mean judge score of ground-truth CoTs ${mean.toFixed(3)} < ${min}`);
  }
});
