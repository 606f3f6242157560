/**
 * CoReS (src/paradigms/cores/): the pieces with hand-computed values (masked average pooling on a
 * tiny map, pooling weights from mask logits, the refiner with one prototype, the [LOC]/[SEG]
 * parsing and fallbacks, exemplar selection deterministic per seed and built from training text),
 * the chained mask prompt, a tiny-preset step without leaks, save/load, predict at the original size.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Params } from '../src/nn/params';
import { Rng } from '../src/util/rng';
import { Tokenizer, LOC, SEG, EOS } from '../src/models/policy/tokenizer';
import { trainStream } from '../src/data/shapeworld/index';
import { loadParadigm } from '../src/paradigms/registry';
import { CORES, CORES_ANSWER, CORES_INSTRUCTION, CoresParadigm, TokenRefiner, buildLibrary, chainRows, coresTokenIndices, drawExemplarIndices, exemplarAnswer, exemplarIndicesFor, exemplarText, maskedAveragePool, poolingWeights, resolveCoresConfig } from '../src/paradigms/cores/index';
import { assertNoLeak, changed, snapshot, tinyParadigm, tmpDir, useWasm } from './paradigm-fixtures';

before(useWasm);

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5, what = '') => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('masked average pooling on a 2×2 map (hand-computed)', () => {
  // features [1, 2, 2, 2]: cells (0,0)=(1,10) (0,1)=(2,20) (1,0)=(3,30) (1,1)=(4,40)
  const f = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]);
  const w = tf.tensor3d([1, 0, 0, 1], [1, 2, 2]); // cells (0,0) and (1,1): mean (2.5, 25)
  close(maskedAveragePool(f, w).dataSync(), [2.5, 25], 1e-6, 'hard weights');
  const ws = tf.tensor3d([0.5, 0.5, 0, 0], [1, 2, 2]); // (0.5·1 + 0.5·2) / 1 = 1.5; (5 + 10) / 1 = 15
  close(maskedAveragePool(f, ws).dataSync(), [1.5, 15], 1e-6, 'soft weights');
  const w0 = tf.zeros([1, 2, 2]) as tf.Tensor3D;
  close(maskedAveragePool(f, w0).dataSync(), [0, 0], 1e-6, 'empty mask → zero prototype');
  assert.throws(() => maskedAveragePool(f, tf.zeros([1, 3, 2]) as tf.Tensor3D), /weights \[1,3,2\] must be \[N, h, w\] = \[1, 2, 2\]/);
  tf.dispose([f, w, ws, w0]);
});

test('pooling weights: σ(logits) · valid, average-pooled to the grid', () => {
  // r = 4, grid 2: logits +50 in the top-left 2×2 block, −50 elsewhere; valid keeps the left half only.
  const l = new Float32Array(16).fill(-50);
  for (const [y, x] of [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]]) l[y * 4 + x] = 50;
  const logits = tf.tensor3d(l, [1, 4, 4]);
  close(poolingWeights(logits, 2).dataSync(), [1, 0, 0.25, 0], 1e-6, 'no valid');
  const valid = tf.tensor3d([1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], [1, 4, 4]);
  close(poolingWeights(logits, 2, valid).dataSync(), [1, 0, 0, 0], 1e-6, 'with valid (the (2,0) pixel is outside)');
  assert.throws(() => poolingWeights(logits, 3), /divisible by the grid 3/);
  tf.dispose([logits, valid]);
});

test('refiner: h + CA(h, MAP) — with one prototype the attention is 1, so CA = out(v(p))', () => {
  const params = Params.create(5);
  const ref = new TokenRefiner(params.scope('r'), 4, 2);
  const h = tf.tensor2d([[0.1, -0.2, 0.3, 0.4]]);
  const f = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, 0, 0, 0, 1], [1, 2, 2, 4]);
  const w = tf.tensor3d([1, 1, 0, 0], [1, 2, 2]);
  const got = ref.apply(h, f, w);
  const a = ref.crossAttn;
  const proto = tf.tensor2d([[3, 4, 5, 6]]); // mean of the first two cells
  const expect = h.add(a.outProj.apply(a.vProj.apply(proto)));
  close(got.dataSync(), Array.from(expect.dataSync()), 1e-5, 'refined');
  assert.throws(() => new TokenRefiner(params.scope('bad'), 6, 4), /heads 4 must divide the token size 6/);
  tf.dispose([h, f, w, got, proto, expect]);
  params.dispose();
});

test('[LOC]/[SEG] parsing: the last [SEG], the last [LOC] before it, and the fallbacks', () => {
  const tok = Tokenizer.default();
  const ids = [...tok.encode(CORES_ANSWER), EOS];
  // it appears on [LOC] . it is [SEG] . <eos>
  assert.deepEqual(coresTokenIndices(ids), { loc: 3, seg: 7 });
  assert.deepEqual(chainRows(ids), { loc: 3, seg: 7, locFound: true, segFound: true });
  assert.deepEqual(coresTokenIndices([LOC, 20, LOC, SEG, LOC, SEG, LOC]), { loc: 4, seg: 5 }, 'the [LOC] after the last [SEG] is ignored');
  assert.deepEqual(chainRows([20, 21, SEG, EOS]), { loc: 2, seg: 2, locFound: false, segFound: true }, 'no [LOC]: level 0 reads the [SEG] state');
  assert.deepEqual(chainRows([20, LOC, 21, EOS]), { loc: 1, seg: 3, locFound: true, segFound: false }, 'no [SEG]: the last token (no mask at inference)');
  assert.deepEqual(chainRows([]), { loc: 0, seg: 0, locFound: false, segFound: false });
});

test('the instruction, the template and every library entry use only words the policy knows', () => {
  const tok = Tokenizer.default();
  assert.deepEqual(tok.unknownWords(CORES_INSTRUCTION), []);
  assert.deepEqual(tok.unknownWords(CORES_ANSWER), []);
  const lib = buildLibrary(16, 7);
  assert.equal(lib.length, 16);
  for (const e of lib) assert.deepEqual(tok.unknownWords(exemplarText([e])), [], exemplarText([e]));
});

test('library: built from training-stream text only; exemplar selection deterministic per seed', () => {
  const lib = buildLibrary(6, 11);
  const s = trainStream('refshapes', { seed: 11 }).take(6);
  s.forEach((x, i) => {
    assert.equal(lib[i].question, x.query.trim());
    assert.equal(lib[i].answer, exemplarAnswer(x.cot!.target.position, x.cot!.target.description));
    assert.equal((x.meta as { sceneSeed: number }).sceneSeed >>> 31, 0, 'a training scene (top bit 0)');
  });
  assert.equal(exemplarAnswer('top left', 'large red circle'), 'It appears on the top left. It is the large red circle.');
  assert.equal(exemplarText([{ question: 'the star', answer: 'It appears on the center. It is the small blue star.' }]), 'Query: the star. It appears on the center. It is the small blue star.');
  assert.throws(() => exemplarAnswer('', 'x'), /empty position/);
  const a = drawExemplarIndices(10, 3, new Rng(42));
  assert.deepEqual(drawExemplarIndices(10, 3, new Rng(42)), a, 'same seed, same draw');
  assert.equal(new Set(a).size, 3, 'distinct');
  assert.ok(a.every((k) => k >= 0 && k < 10));
  const draws = new Set(Array.from({ length: 20 }, (_, s2) => drawExemplarIndices(10, 1, new Rng(s2))[0]));
  assert.ok(draws.size > 3, 'different seeds draw different exemplars');
  assert.deepEqual(exemplarIndicesFor('refshapes/val/000001', 10, 1, 0), exemplarIndicesFor('refshapes/val/000001', 10, 1, 0));
  assert.throws(() => drawExemplarIndices(2, 3, new Rng(1)), /cannot draw 3 distinct exemplars from a library of 2/);
});

test('config: paper weights by default; bad values are rejected with the key', () => {
  const c = resolveCoresConfig('small');
  assert.deepEqual([c.loss.reasonWeight, c.loss.segWeight, c.loss.diceWeight, c.loss.bceWeight], [0.5, 0.5, 0.5, 2.0]);
  assert.equal(c.inContext.count, 1);
  assert.throws(() => resolveCoresConfig('tiny', { inContext: { count: 9 } }), /inContext.count \(9\) exceeds inContext.librarySize \(8\)/);
  assert.throws(() => resolveCoresConfig('tiny', { loss: { segWeight: 0 } }), /mask loss has weight 0/);
  assert.throws(() => resolveCoresConfig('tiny', { refiner: { head: 2 } }), /head/);
});

test('prompt: the exemplar sits after the image block and before the user query', () => {
  const p = tinyParadigm('cores') as CoresParadigm;
  const [s] = trainStream('refshapes', { seed: 3 }).take(1);
  const [ids] = p.prompts([s], [[2]]);
  const text = p.policy.tokenizer.decode(ids.slice(1 + p.policy.imageTokens));
  const ex = p.library[2];
  const iEx = text.indexOf(`query: ${ex.question.toLowerCase()}`);
  const iQ = text.lastIndexOf(`query: ${s.query.toLowerCase()}`);
  assert.ok(iEx > 0 && iQ > iEx, text);
  assert.ok(text.includes(ex.answer.toLowerCase()), text);
  const [none] = p.prompts([s], [[]]);
  assert.ok(none.length < ids.length);
  p.dispose();
});

test('chain: m⁰ is the dense prompt of level 1 (a different first mask changes the final mask)', () => {
  const p = tinyParadigm('cores') as CoresParadigm;
  const samples = trainStream('refshapes', { seed: 4 }).take(2);
  const b = p.encode(samples.map((s) => s.image));
  const d = p.policy.config.dim;
  tf.tidy(() => {
    const hLoc = tf.randomNormal([2, d], 0, 1, 'float32', 1) as tf.Tensor2D;
    const hLoc2 = tf.randomNormal([2, d], 0, 1, 'float32', 2) as tf.Tensor2D;
    const hSeg = tf.randomNormal([2, d], 0, 1, 'float32', 3) as tf.Tensor2D;
    const a = p.chain(hLoc, hSeg, b);
    const c = p.chain(hLoc2, hSeg, b);
    const r = p.sam.maskSize;
    assert.deepEqual(a.m1.shape, [2, r, r]);
    assert.ok(a.m0.sub(c.m0).abs().max().dataSync()[0] > 0, 'the first masks differ');
    assert.ok(a.m1.sub(c.m1).abs().max().dataSync()[0] > 0, 'so do the final masks (through the mask prompt and the refiner)');
    // the gradient of the final mask reaches the [LOC] state (the chain is not detached)
    const g = tf.grad((x: tf.Tensor) => p.chain(x as tf.Tensor2D, hSeg, b).m1.sum())(hLoc);
    assert.ok(g.abs().sum().dataSync()[0] > 0);
  });
  tf.dispose([b.E, b.policyInput, b.valid]);
  p.dispose();
});

test('tiny step: trains policy, β, refiner and mask decoder, not the prompt encoder; no tensor leak', () => {
  const p = tinyParadigm('cores') as CoresParadigm;
  const parts = p.parts();
  assert.deepEqual(Object.keys(parts), ['policy', 'beta', 'refiner', 'maskDecoder']);
  const before = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, snapshot(v)]));
  const pe = p.sam.params.entries('promptEncoder');
  const peBefore = snapshot(pe);
  const r = p.trainStep();
  assert.equal(r.step, 1);
  assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  for (const k of ['loss/ce', 'loss/bce', 'loss/dice', 'mask_iou', 'mask_iou_loc']) assert.ok(typeof r.record[k] === 'number', k);
  const ce = r.record['loss/ce'] as number;
  const seg = 0.5 * (r.record['loss/dice'] as number) + 2 * (r.record['loss/bce'] as number);
  assert.ok(Math.abs(r.loss - (0.5 * ce + 0.5 * seg)) < 1e-4, 'total = 0.5·CE + 0.5·(0.5·dice + 2·BCE)');
  for (const part of Object.keys(parts)) assert.ok(changed(before[part], snapshot(parts[part])), `${part} changed`);
  assert.deepEqual(snapshot(pe), peBefore, 'prompt encoder frozen');
  assert.equal(r.completions.length, 4);
  assertNoLeak(() => p.trainStep(), 'a CoReS step');
  p.dispose();
});

test('save/load round trip; predict gives masks at the original image size', async () => {
  const p = tinyParadigm('cores');
  p.trainStep();
  const dir = path.join(tmpDir('cores-'), 'ckpt');
  await p.save(dir, { withState: true });
  const q = loadParadigm(dir);
  assert.equal(q.name, 'cores');
  assert.equal(q.step, 1);
  const a = (p as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
  const b = (q as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
  assert.deepEqual(a.map(([n]) => n), b.map(([n]) => n));
  assert.deepEqual(snapshot(a), snapshot(b));
  const samples = trainStream('reasonshapes', { seed: 9 }).take(2);
  const n0 = tf.memory().numTensors;
  const [pa, pb] = [await p.predict(samples, { maxTokens: 6 }), await q.predict(samples, { maxTokens: 6 })];
  assert.equal(tf.memory().numTensors, n0, 'predict leaves no tensors');
  pa.forEach((x, i) => {
    assert.equal(x.mask.width, samples[i].image.width);
    assert.equal(x.mask.height, samples[i].image.height);
    assert.equal(x.maskLogits.length, samples[i].image.width * samples[i].image.height);
    assert.equal(typeof x.extra?.segFound, 'boolean');
    assert.deepEqual(x.extra, pb[i].extra);
    assert.deepEqual(Array.from(x.mask.data), Array.from(pb[i].mask.data), 'the loaded model predicts the same');
  });
  assert.equal(CORES.name, 'cores');
  p.dispose();
  q.dispose();
});
