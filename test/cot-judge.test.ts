/** The programmatic CoT-consistency judge on hand-written chains of thought. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { judgeCoT, findMentions, queryConcepts, thinkText } from '../src/analysis/cot-judge';
import { loadSplit, shapeWorldMeta } from '../src/data/shapeworld/index';
import { objectName, objectRefWithPosition } from '../src/data/shapeworld/phrases';
import { conclusionHitsTarget, parseConclusion } from '../src/models/policy/format';
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

  // A conclusion with size, shape and position fits only the target; "the circle" fits only non-targets.
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

test('judge: the position narrows an ambiguous conclusion; wrong positions fail visual consistency (refshapes/val/000127)', async () => {
  // Scene: small green diamond (center), medium green hexagon (right), small red diamond (bottom right),
  // small green diamond (bottom right) = target. Query: "the green diamond in the lower half".
  const s = (await loadSplit('refshapes', 'val', { limit: 128 })).find((x) => x.id === 'refshapes/val/000127')!;
  assert.equal(judgeCoT('So the target is the small green diamond in the bottom right.', s).logical, 1, 'narrowed to the target');
  assert.equal(judgeCoT('So the target is the small green diamond.', s).logical, 0.5, 'fits the target and the other green diamond');
  assert.equal(judgeCoT('So the target is the small green diamond in the center.', s).logical, 0, 'narrowed to the other one');
  assert.equal(judgeCoT('So the target is the small green diamond in the center.', s).localization, 0);
  // "in the bottom half" is an image half, not a position
  assert.equal(findMentions('the green diamond in the bottom half')[0].position, undefined);
  assert.equal(findMentions('the shape on the left side is a red circle')[0].position, undefined);
  // visual consistency: a real object at a wrong place, a count claim
  const v = judgeCoT('The picture shows 4 shapes: a small green diamond in the center and a medium-sized green hexagon in the top left.', s);
  assert.deepEqual(v.visualChecks, { checked: 3, held: 2 }, 'the hexagon is on the right, not in the top left; 4 shapes is right');
  assert.equal(judgeCoT('The picture shows 5 shapes: a small green diamond in the center.', s).visual, 0.5, 'wrong count');
  assert.equal(judgeCoT('The picture shows three shapes.', s).visual, 0, 'a count in words is read');
  // a repeated description is one check
  assert.deepEqual(judgeCoT('a small red diamond, the small red diamond and the small red diamond', s).visualChecks, { checked: 1, held: 1 });
});

test('judge: task relevance from the query program — paraphrases count, negations need a cue (reasonshapes val)', async () => {
  const val = await loadSplit('reasonshapes', 'val', { limit: 10 });
  const get = (id: string) => val.find((x) => x.id === id)!;
  // 000002 "the shape that is not orange": concept color:orange:not. Scene: small orange diamond (top left),
  // small orange cross (right), small red hexagon (bottom) = target.
  const notOrange = get('reasonshapes/val/000002');
  assert.deepEqual(queryConcepts(shapeWorldMeta(notOrange).program).map((c) => c.key), ['color:orange:not']);
  const wrong = judgeCoT('Keeping only the orange ones leaves the small orange diamond. So the target is the small orange diamond in the top left.', notOrange);
  assert.equal(wrong.relevance, 0, 'names orange but never negates it');
  assert.deepEqual([wrong.logical, wrong.visual, wrong.localization], [0, 1, 0]);
  assertNear(wrong.total, 0.3, 1e-12);
  const right = judgeCoT('<think>Leaving out the orange ones leaves the small red hexagon. So the target is the small red hexagon at the bottom.</think> the small orange diamond <REF_POS>', notOrange);
  assert.deepEqual([right.logical, right.relevance, right.visual, right.localization], [1, 1, 1, 1], 'only the think text is judged');
  // 000001 pizza + grapes + "under": the relation may be worded "below" or "under", the facts by their explanation
  const pizza = get('reasonshapes/val/000001');
  assert.deepEqual(queryConcepts(shapeWorldMeta(pizza).program).map((c) => c.key), ['fact:pizza', 'fact:grapes', 'relation:below']);
  const keys = (t: string) => judgeCoT(t, pizza).concepts.filter((c) => c.named).map((c) => c.key);
  assert.deepEqual(keys('A slice of pizza is shaped like a triangle. Ripe grapes are purple. The shape below it is the blue hexagon.'), ['fact:pizza', 'fact:grapes', 'relation:below']);
  assert.deepEqual(keys('Something under the purple triangle.'), ['relation:below']);
  assertNear(judgeCoT('Something under the purple triangle.', pizza).relevance, 1 / 3, 1e-12);
  assert.equal(thinkText('<think>abc</think> x <REF_POS>'), 'abc');
  assert.equal(thinkText('<think>cut off'), 'cut off');
  assert.equal(thinkText('no tags'), 'no tags');
});

test('judge: the shipped model\'s kind of output (lower case, hallucinated kinds) is scored, every score in [0, 1]', async () => {
  const [s] = await loadSplit('refshapes', 'val', { limit: 1 });
  const j = judgeCoT('<think>the query asks for the x. the picture shows 2 shapes: a large purple cross in the top left. so the target is the large purple cross in the top left.</think> <REF_POS>', s);
  for (const k of ['logical', 'relevance', 'visual', 'localization', 'total'] as const) assert.ok(j[k] >= 0 && j[k] <= 1, k);
  assert.equal(j.conclusion?.shape, 'cross');
  assert.equal(judgeCoT('', s).total, 0);
});

test('judge: logical correctness = 1 exactly when the policy evaluator counts the conclusion as a hit', async () => {
  // two independent implementations of "does the chain conclude the target" (src/models/policy/format.ts)
  const samples = [...(await loadSplit('refshapes', 'val', { limit: 40 })), ...(await loadSplit('reasonshapes', 'val', { limit: 20 }))];
  let cases = 0;
  for (const s of samples) {
    const { scene, targetIds } = shapeWorldMeta(s);
    for (const o of scene.objects) {
      for (const chain of [`So the target is ${objectRefWithPosition(scene, o.id)}.`, `So the target is the ${objectName(o)}.`]) {
        const hit = conclusionHitsTarget(parseConclusion(chain), scene, targetIds);
        assert.equal(judgeCoT(chain, s).logical === 1, hit, `${s.id}: "${chain}"`);
        cases++;
      }
    }
  }
  assert.ok(cases > 400);
});
