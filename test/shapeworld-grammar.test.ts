/**
 * ShapeWorld-RS query programs and grammars on hand-built scenes: every construct (attribute,
 * region, relation, superlative, counting, negation, knowledge, same-attribute) is checked against
 * what a person would pick, plus clarity rules, candidate generation and chains of thought.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/util/rng';
import {
  DEFAULT_CONFIG, buildChainOfThought, composeScene, evaluateProgram, programConstructs, reasonCandidates, reasonShapesQuery, refCandidates,
  refShapesQuery, type ObjectSpec, type Program, type SceneGraph,
} from '../src/data/shapeworld';
import { canonicalPick } from '../src/data/shapeworld/phrases';
import { toQuery } from '../src/data/shapeworld/query';

const scene = (specs: ObjectSpec[]): SceneGraph => composeScene(specs);

/** The single object a program selects (asserts the program is valid). */
function selects(p: Program, s: SceneGraph): number {
  const r = evaluateProgram(p, s);
  assert.ok(r.ok, r.error);
  return r.outputs[r.outputs.length - 1][0];
}

const f = (input: number, pred: Program[number] & { op: 'filter' } extends { pred: infer P } ? P : never, negate = false): Program[number] => ({ op: 'filter', input, pred, negate });

// 0 red circle (top left), 1 blue square (top right), 2 green triangle (bottom left), 3 yellow hexagon (bottom right), 4 small yellow star next to the hexagon
const basic = (): SceneGraph =>
  scene([
    { shape: 'circle', color: 'red', size: 'large', cx: 28, cy: 28 },
    { shape: 'square', color: 'blue', size: 'medium', cx: 96, cy: 28 },
    { shape: 'triangle', color: 'green', size: 'small', cx: 28, cy: 100 },
    { shape: 'hexagon', color: 'yellow', size: 'medium', cx: 90, cy: 100 },
    { shape: 'star', color: 'purple', size: 'small', cx: 112, cy: 84 },
  ]);

describe('shapeworld programs on hand-built scenes', () => {
  it('attribute: "the red circle", "the big blue square"', () => {
    const s = basic();
    assert.equal(selects([{ op: 'scene' }, f(0, { type: 'color', value: 'red' }), f(1, { type: 'shape', value: 'circle' })], s), 0);
    const two = scene([
      { shape: 'square', color: 'blue', size: 'small', cx: 30, cy: 30 },
      { shape: 'square', color: 'blue', size: 'large', cx: 90, cy: 90 },
      { shape: 'square', color: 'red', size: 'large', cx: 30, cy: 90 },
    ]);
    const p: Program = [{ op: 'scene' }, f(0, { type: 'size', value: 'large' }), f(1, { type: 'color', value: 'blue' }), f(2, { type: 'shape', value: 'square' })];
    assert.equal(selects(p, two), 1);
    assert.deepEqual(programConstructs(p), ['attribute']);
    // "the blue square" alone is ambiguous here
    const r = evaluateProgram([{ op: 'scene' }, f(0, { type: 'color', value: 'blue' }), f(1, { type: 'shape', value: 'square' })], two);
    assert.equal(r.ok, false);
    assert.match(r.error!, /selects 2 objects/);
  });

  it('region: "the circle on the left side" and the midline band', () => {
    const s = scene([
      { shape: 'circle', color: 'red', size: 'medium', cx: 25, cy: 40 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 100, cy: 40 },
      { shape: 'square', color: 'green', size: 'medium', cx: 30, cy: 100 },
    ]);
    assert.equal(selects([{ op: 'scene' }, f(0, { type: 'shape', value: 'circle' }), f(1, { type: 'region', value: 'left' })], s), 0);
    const mid = scene([
      { shape: 'circle', color: 'red', size: 'medium', cx: 66, cy: 40 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 100, cy: 90 },
    ]);
    const r = evaluateProgram([{ op: 'scene' }, f(0, { type: 'region', value: 'left' })], mid);
    assert.equal(r.ok, false);
    assert.match(r.error!, /midline/);
  });

  it('relation: "the green shape above the star", ambiguity rejects', () => {
    const s = scene([
      { shape: 'circle', color: 'green', size: 'medium', cx: 64, cy: 28 },
      { shape: 'square', color: 'green', size: 'medium', cx: 22, cy: 100 },
      { shape: 'triangle', color: 'red', size: 'medium', cx: 104, cy: 28 },
      { shape: 'star', color: 'yellow', size: 'medium', cx: 64, cy: 100 },
    ]);
    const p: Program = [
      { op: 'scene' }, f(0, { type: 'color', value: 'green' }), f(0, { type: 'shape', value: 'star' }), { op: 'unique', input: 2 },
      { op: 'relate', input: 3, relation: 'above' }, { op: 'intersect', inputs: [1, 4] },
    ];
    assert.equal(selects(p, s), 0);
    assert.deepEqual(evaluateProgram(p, s).outputs[4], [0, 2]);
    assert.deepEqual(programConstructs(p), ['attribute', 'relation']);
    // the square sits 3 px higher than the star: neither clearly above nor clearly level
    const amb = scene([
      { shape: 'circle', color: 'green', size: 'medium', cx: 64, cy: 28 },
      { shape: 'square', color: 'green', size: 'medium', cx: 22, cy: 97 },
      { shape: 'star', color: 'yellow', size: 'medium', cx: 64, cy: 100 },
    ]);
    const r = evaluateProgram(p, amb);
    assert.equal(r.ok, false);
    assert.match(r.error!, /ambiguous/);
  });

  it('relation: "the small star next to the yellow hexagon"', () => {
    const s = scene([
      { shape: 'hexagon', color: 'yellow', size: 'large', cx: 40, cy: 40 },
      { shape: 'star', color: 'red', size: 'small', cx: 66, cy: 40 },
      { shape: 'star', color: 'blue', size: 'small', cx: 100, cy: 100 },
      { shape: 'hexagon', color: 'green', size: 'small', cx: 100, cy: 30 },
    ]);
    const p: Program = [
      { op: 'scene' }, f(0, { type: 'size', value: 'small' }), f(1, { type: 'shape', value: 'star' }),
      f(0, { type: 'color', value: 'yellow' }), f(3, { type: 'shape', value: 'hexagon' }), { op: 'unique', input: 4 },
      { op: 'relate', input: 5, relation: 'nextTo' }, { op: 'intersect', inputs: [2, 6] },
    ];
    assert.equal(selects(p, s), 1);
  });

  it('superlative: leftmost / largest / highest, and ties are rejected', () => {
    const s = scene([
      { shape: 'circle', color: 'red', size: 'small', cx: 20, cy: 64 },
      { shape: 'circle', color: 'blue', size: 'large', cx: 64, cy: 30 },
      { shape: 'circle', color: 'green', size: 'medium', cx: 104, cy: 100 },
      { shape: 'square', color: 'green', size: 'large', cx: 30, cy: 104 },
    ]);
    const sup = (kind: 'leftmost' | 'largest' | 'topmost' | 'bottommost'): Program => [{ op: 'scene' }, f(0, { type: 'shape', value: 'circle' }), { op: 'superlative', input: 1, kind }];
    assert.equal(selects(sup('leftmost'), s), 0);
    assert.equal(selects(sup('largest'), s), 1);
    assert.equal(selects(sup('topmost'), s), 1);
    assert.equal(selects(sup('bottommost'), s), 2);
    assert.deepEqual(programConstructs(sup('largest')), ['attribute', 'superlative']);
    const tie = scene([
      { shape: 'circle', color: 'red', size: 'medium', cx: 30, cy: 30 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 33, cy: 100 },
    ]);
    assert.match(evaluateProgram(sup('leftmost'), tie).error!, /too close/);
    assert.match(evaluateProgram(sup('largest'), tie).error!, /similar areas/);
  });

  it('superlative: a second measure must agree (tall apex vs centroid)', () => {
    // the triangle's apex is highest, but the square's centroid is a little higher
    const s = scene([
      { shape: 'square', color: 'blue', size: 'small', cx: 30, cy: 32 },
      { shape: 'triangle', color: 'red', size: 'large', cx: 90, cy: 36 },
    ]);
    const r = evaluateProgram([{ op: 'scene' }, { op: 'superlative', input: 0, kind: 'topmost' }], s);
    assert.equal(r.ok, false);
  });

  it('counting: "the shape whose color appears exactly once", "the only shape of its kind"', () => {
    const s = scene([
      { shape: 'circle', color: 'red', size: 'medium', cx: 20, cy: 20 },
      { shape: 'circle', color: 'green', size: 'medium', cx: 64, cy: 20 },
      { shape: 'square', color: 'red', size: 'medium', cx: 108, cy: 20 },
      { shape: 'square', color: 'green', size: 'medium', cx: 20, cy: 100 },
      { shape: 'star', color: 'green', size: 'medium', cx: 64, cy: 100 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 108, cy: 100 },
    ]);
    const once: Program = [{ op: 'scene' }, { op: 'countFilter', input: 0, attr: 'color', count: 1 }];
    assert.equal(selects(once, s), 5);
    const kind: Program = [{ op: 'scene' }, { op: 'countFilter', input: 0, attr: 'shape', count: 1 }];
    assert.equal(selects(kind, s), 4);
    // "the square whose color appears exactly twice" -> the red square
    const twice: Program = [{ op: 'scene' }, f(0, { type: 'shape', value: 'square' }), { op: 'countFilter', input: 1, attr: 'color', count: 2 }];
    assert.equal(selects(twice, s), 2);
    assert.deepEqual(programConstructs(twice), ['attribute', 'counting']);
  });

  it('negation: "the shape that is neither red nor round"', () => {
    const s = scene([
      { shape: 'square', color: 'red', size: 'medium', cx: 25, cy: 30 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 100, cy: 30 },
      { shape: 'triangle', color: 'green', size: 'medium', cx: 64, cy: 100 },
    ]);
    const p: Program = [{ op: 'scene' }, f(0, { type: 'color', value: 'red' }, true), f(1, { type: 'fact', value: 'round' }, true)];
    assert.equal(selects(p, s), 2);
    assert.deepEqual(programConstructs(p), ['attribute', 'negation', 'knowledge']);
  });

  it('knowledge: could roll, night sky, honeycomb, block, pizza, kite, plus sign, grass, fire truck, warm colors', () => {
    const s = scene([
      { shape: 'circle', color: 'blue', size: 'medium', cx: 20, cy: 20 },
      { shape: 'star', color: 'purple', size: 'medium', cx: 64, cy: 20 },
      { shape: 'hexagon', color: 'blue', size: 'medium', cx: 108, cy: 20 },
      { shape: 'square', color: 'purple', size: 'medium', cx: 20, cy: 64 },
      { shape: 'triangle', color: 'blue', size: 'medium', cx: 64, cy: 64 },
      { shape: 'diamond', color: 'green', size: 'medium', cx: 108, cy: 64 },
      { shape: 'cross', color: 'red', size: 'medium', cx: 40, cy: 108 },
    ]);
    const know = (fact: string) => selects([{ op: 'scene' }, f(0, { type: 'fact', value: fact })], s);
    assert.equal(know('canRoll'), 0);
    assert.equal(know('nightSky'), 1);
    assert.equal(know('honeycomb'), 2);
    assert.equal(know('block'), 3);
    assert.equal(know('pizza'), 4);
    assert.equal(know('roof'), 4);
    assert.equal(know('kite'), 5);
    assert.equal(know('plus'), 6);
    assert.equal(know('grass'), 5);
    assert.equal(know('fireTruck'), 6);
    assert.equal(know('warm'), 6);
    assert.throws(() => know('flies'), /unknown fact "flies"/);
  });

  it('same attribute: "the other shape with the same color as the star"', () => {
    const s = scene([
      { shape: 'star', color: 'orange', size: 'medium', cx: 30, cy: 30 },
      { shape: 'circle', color: 'orange', size: 'medium', cx: 100, cy: 100 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 30, cy: 100 },
    ]);
    const p: Program = [{ op: 'scene' }, f(0, { type: 'fact', value: 'nightSky' }), { op: 'unique', input: 1 }, { op: 'same', input: 2, attr: 'color' }];
    assert.equal(selects(p, s), 1);
    assert.deepEqual(programConstructs(p), ['relation', 'knowledge']);
  });

  it('combined: "among the shapes on the right side, which one could roll and is the largest?"', () => {
    const s = scene([
      { shape: 'circle', color: 'red', size: 'large', cx: 24, cy: 30 },
      { shape: 'circle', color: 'blue', size: 'small', cx: 100, cy: 24 },
      { shape: 'circle', color: 'green', size: 'large', cx: 100, cy: 100 },
      { shape: 'square', color: 'yellow', size: 'large', cx: 30, cy: 100 },
    ]);
    const p: Program = [{ op: 'scene' }, f(0, { type: 'region', value: 'right' }), f(1, { type: 'fact', value: 'canRoll' }), { op: 'superlative', input: 2, kind: 'largest' }];
    assert.equal(selects(p, s), 2);
    assert.deepEqual(programConstructs(p), ['region', 'superlative', 'knowledge']);
  });

  it('malformed programs throw, invalid queries do not', () => {
    assert.throws(() => evaluateProgram([{ op: 'filter', input: 0, pred: { type: 'color', value: 'red' }, negate: false }], basic()), /earlier node/);
    assert.throws(() => evaluateProgram([], basic()), /empty program/);
    const r = evaluateProgram([{ op: 'scene' }, { op: 'unique', input: 0 }], basic());
    assert.equal(r.ok, false);
  });
});

describe('shapeworld grammars', () => {
  it('refshapes proposes the shortest disambiguating expressions', () => {
    const s = basic();
    const texts = refCandidates(s, 0, DEFAULT_CONFIG).map((c) => `${c.family}: ${c.realize(canonicalPick)}`);
    assert.ok(texts.includes('attribute: the circle'), texts.join(' | '));
    assert.ok(texts.includes('attribute: the red shape'), texts.join(' | '));
    assert.ok(!texts.includes('attribute: the red circle'), 'redundant conjuncts are not proposed');
    for (const c of refCandidates(s, 0, DEFAULT_CONFIG)) {
      const r = evaluateProgram(c.program, s);
      assert.ok(r.ok && r.outputs[r.outputs.length - 1][0] === 0);
    }
    // two identical circles: only position tells them apart
    const twins = scene([
      { shape: 'circle', color: 'red', size: 'medium', cx: 24, cy: 40 },
      { shape: 'circle', color: 'red', size: 'medium', cx: 104, cy: 40 },
      { shape: 'star', color: 'blue', size: 'medium', cx: 24, cy: 100 },
    ]);
    const t2 = refCandidates(twins, 0, DEFAULT_CONFIG).map((c) => c.realize(canonicalPick));
    assert.deepEqual(t2.sort(), ['the circle on the left', 'the circle on the left side', 'the red shape on the left', 'the red shape on the left side']);
    // the star is the clear anchor: "the circle above the star"
    const above = scene([
      { shape: 'circle', color: 'red', size: 'medium', cx: 30, cy: 30 },
      { shape: 'circle', color: 'red', size: 'medium', cx: 96, cy: 100 },
      { shape: 'star', color: 'blue', size: 'medium', cx: 30, cy: 100 },
    ]);
    const t3 = refCandidates(above, 0, DEFAULT_CONFIG).map((c) => c.realize(canonicalPick));
    assert.ok(t3.includes('the shape above the star'), t3.join(' | '));
  });

  it('reasonshapes proposes knowledge, negation, counting, superlative, relation and same queries', () => {
    const s = scene([
      { shape: 'circle', color: 'red', size: 'large', cx: 24, cy: 30 },
      { shape: 'circle', color: 'blue', size: 'small', cx: 100, cy: 24 },
      { shape: 'square', color: 'red', size: 'medium', cx: 100, cy: 100 },
      { shape: 'star', color: 'yellow', size: 'medium', cx: 30, cy: 100 },
      { shape: 'diamond', color: 'yellow', size: 'small', cx: 64, cy: 64 },
    ]);
    const c = reasonCandidates(s, DEFAULT_CONFIG);
    const texts = c.map((x) => `${x.family}: ${x.realize(canonicalPick)}`);
    for (const want of [
      'knowledge: the shape that could be stacked like a block',
      'knowledge: the shape that looks like something you might see in the night sky',
      'knowledge: the red shape that could roll',
      'negation: the shape that is neither red nor yellow',
      'negation: the largest shape that is not red',
      'counting: the only shape with its color',
      'counting: the circle whose color appears exactly twice in the picture',
      'superlative: the smallest shape that could roll',
      'relation: the circle to the left of the shape that could be stacked like a block',
      'same: the other shape of the same color as the shape that could be stacked like a block',
    ]) assert.ok(texts.includes(want), `missing "${want}" in\n${texts.join('\n')}`);
    const byText = new Map(c.map((x) => [x.realize(canonicalPick), x.targetId]));
    assert.equal(byText.get('the shape that is neither red nor yellow'), 1);
    assert.equal(byText.get('the largest shape that is not red'), 3);
    assert.equal(byText.get('the only shape with its color'), 1);
    assert.equal(byText.get('the smallest shape that could roll'), 1);
    assert.equal(byText.get('the other shape of the same color as the shape that could be stacked like a block'), 0);
    for (const x of c) {
      const r = evaluateProgram(x.program, s);
      assert.ok(r.ok && r.outputs[r.outputs.length - 1][0] === x.targetId, x.realize(canonicalPick));
      const long = x.realizeLong!(canonicalPick);
      assert.ok(long.split(/\s+/).length >= 15, long);
    }
  });

  it('queries are deterministic given the generator state', () => {
    const s = basic();
    assert.deepEqual(refShapesQuery(s, new Rng(9), DEFAULT_CONFIG), refShapesQuery(s, new Rng(9), DEFAULT_CONFIG));
    assert.deepEqual(reasonShapesQuery(s, new Rng(9), DEFAULT_CONFIG, 'long'), reasonShapesQuery(s, new Rng(9), DEFAULT_CONFIG, 'long'));
  });

  it('the chain of thought follows the program and names the target', () => {
    const s = scene([
      { shape: 'square', color: 'red', size: 'medium', cx: 25, cy: 30 },
      { shape: 'circle', color: 'blue', size: 'medium', cx: 100, cy: 30 },
      { shape: 'triangle', color: 'green', size: 'large', cx: 64, cy: 100 },
    ]);
    const cand = reasonCandidates(s, DEFAULT_CONFIG).find((x) => x.realize(canonicalPick) === 'the shape that is neither red nor round')!;
    assert.ok(cand);
    const q = toQuery(cand, canonicalPick);
    const cot = buildChainOfThought(s, q);
    assert.equal(cot.target.objectId, 2);
    assert.equal(cot.target.description, 'large green triangle');
    assert.equal(cot.target.position, 'bottom');
    assert.deepEqual(cot.candidates.map((c) => [c.kept, c.reason]), [
      [false, 'it is red'],
      [false, 'it is round'],
      [true, 'it meets every condition'],
    ]);
    assert.equal(
      cot.text,
      'The query asks for the shape that is neither red nor round. The picture shows 3 shapes: a medium-sized red square in the top left, ' +
        'a medium-sized blue circle in the top right and a large green triangle at the bottom. Leaving out the red ones leaves the medium-sized blue circle ' +
        'and the large green triangle. Only a circle is round, so leaving those out leaves the large green triangle. So the target is the large green triangle at the bottom.',
    );
    assert.ok(!/[<>]/.test(cot.text));
    assert.throws(() => buildChainOfThought(s, { ...q, targetId: 0 }), /does not select object 0/);
  });
});
