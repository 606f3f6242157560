/**
 * CR-Seg (src/paradigms/cr-seg/): the policy's new attention output (backward compatible: same hidden
 * states and log-probs with it on), the attention map from answer tokens, top-k points with
 * suppression (hand-computed), the map → dense prompt, the answer rows, a tiny-preset step without
 * leaks, save/load, predict at the original size.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { PolicyModel } from '../src/models/policy/model';
import { Tokenizer, ANSWER, ANSWER_END, EOS } from '../src/models/policy/tokenizer';
import { logProbs } from '../src/models/policy/logprobs';
import { packRows } from '../src/models/policy/batch';
import { trainStream } from '../src/data/shapeworld/index';
import { loadParadigm } from '../src/paradigms/registry';
import { CR_SEG_INSTRUCTION, CrSegParadigm, answerRows, attentionMap, cellCenter, crSegResponseText, mapToMaskLogits, resolveCrSegConfig, topPoints, validCells } from '../src/paradigms/cr-seg/index';
import { encodeInstructionPrompt } from '../src/paradigms/types';
import { assertNoLeak, changed, snapshot, tinyParadigm, tmpDir, useWasm } from './paradigm-fixtures';

before(useWasm);

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('policy attention output: off by default; on, the same hidden states and log-probs, rows summing to 1', () => {
  const m = PolicyModel.create('tiny', { embedDim: 64, gridSize: 16 }, { seed: 2 });
  const tok = m.tokenizer;
  const prompts = ['the red circle', 'the large blue star on the left'].map((q) => encodeInstructionPrompt(tok, 'Find the object.', q, m.imageTokens));
  const responses = [[...tok.encode('<answer>the red circle</answer>'), EOS], [...tok.encode('it is'), EOS]];
  tf.tidy(() => {
    const vis = tf.randomNormal([2, m.imageTokens, m.config.dim], 0, 1, 'float32', 4) as tf.Tensor3D;
    const batch = packRows(prompts.map((p, i) => [...p, ...responses[i]]), m.imageTokens);
    const plain = m.forward(batch, vis);
    assert.equal(plain.attention, undefined, 'no attention unless asked');
    const withA = m.forward(batch, vis, { returnAttention: true });
    close(withA.hidden.dataSync(), plain.hidden.dataSync(), 1e-4, 'hidden');
    const [B, H, L, S] = withA.attention!.shape;
    assert.deepEqual([B, H, L, S], [2, m.config.heads, batch.L, batch.L]);
    close(withA.attention!.sum(-1).dataSync(), new Array(B * H * L).fill(1), 1e-4, 'softmax rows');
    const a = logProbs(m, prompts, responses, vis);
    const b = logProbs(m, prompts, responses, vis, { withImageAttention: true });
    close(b.logProbs.dataSync(), a.logProbs.dataSync(), 1e-4, 'log-probs');
    assert.equal(a.imageAttention, null);
    const R = Math.max(...responses.map((r) => r.length));
    assert.deepEqual(b.imageAttention!.shape, [2, R, m.config.heads, m.imageTokens]);
    // row 1, response token 0 sits at column prompts[1].length: its image attention = the full row's columns 1..N
    const col = prompts[1].length;
    const full = withA.attention!.slice([1, 0, col, 1], [1, H, 1, m.imageTokens]).reshape([H, m.imageTokens]);
    close(b.imageAttention!.slice([1, 0, 0, 0], [1, 1, H, m.imageTokens]).reshape([H, m.imageTokens]).dataSync(), full.dataSync(), 1e-5, 'gathered row');
    // pads are 0
    const padRow = b.imageAttention!.slice([1, responses[1].length, 0, 0], [1, 1, H, m.imageTokens]);
    assert.equal(padRow.abs().sum().dataSync()[0], 0);
  });
  m.dispose();
});

test('attention map: mean over heads and answer rows, renormalised over the image tokens (hand-computed)', () => {
  // B 1, R 2, H 2, N 2. Row 0 (answer): heads (0.2, 0.2) and (0.4, 0.0) → mean (0.3, 0.1); row 1 (not answer) ignored.
  const att = tf.tensor4d([0.2, 0.2, 0.4, 0.0, 0.9, 0.0, 0.9, 0.0], [1, 2, 2, 2]);
  close(attentionMap(att, tf.tensor2d([[1, 0]])).dataSync(), [0.75, 0.25], 1e-6, 'map');
  // both rows: row 1 mean (0.9, 0) → sum (1.2, 0.1) / 1.3
  close(attentionMap(att, tf.tensor2d([[1, 1]])).dataSync(), [1.2 / 1.3, 0.1 / 1.3], 1e-6, 'two rows');
  assert.throws(() => attentionMap(att, tf.tensor2d([[1, 1, 1]])), /must be \[B, R\] = \[1, 2\]/);
  att.dispose();
});

test('top-k points: greedy, ≥ minRatio × max, neighbours suppressed, only allowed cells (hand-computed)', () => {
  // 3 × 3 map, row-major
  const map = [
    0.30, 0.25, 0.00,
    0.05, 0.00, 0.00,
    0.00, 0.04, 0.20,
  ];
  const o = { count: 2, minRatio: 0.5, suppress: 1 };
  // best (0,0); (0,1) is its neighbour → skipped; (2,2) = 0.20 ≥ 0.15 → taken
  assert.deepEqual(topPoints(map, 3, o), [{ i: 0, j: 0, value: 0.3 }, { i: 2, j: 2, value: 0.2 }]);
  // no suppression: the two best
  assert.deepEqual(topPoints(map, 3, { ...o, suppress: 0 }).map((p) => [p.i, p.j]), [[0, 0], [0, 1]]);
  // a high ratio keeps only the maximum
  assert.deepEqual(topPoints(map, 3, { ...o, minRatio: 0.9 }).map((p) => [p.i, p.j]), [[0, 0]]);
  // cells outside the allowed (valid) region are never chosen
  const allowed = [0, 1, 1, 1, 1, 1, 1, 1, 1];
  assert.deepEqual(topPoints(map, 3, o, allowed).map((p) => [p.i, p.j]), [[0, 1], [2, 2]]);
  // ties go to the lower index
  assert.deepEqual(topPoints([1, 1, 1, 1], 2, { count: 1, minRatio: 0, suppress: 0 }).map((p) => [p.i, p.j]), [[0, 0]]);
  assert.throws(() => topPoints(map, 4, o), /9 values, a 4 × 4 grid needs 16/);
  assert.deepEqual(cellCenter(0, 1, 8, 128), { x: 24, y: 8 });
  assert.deepEqual(Array.from(validCells(4, 128, 128, 64)), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 'a 128×64 image fills the top half of the frame');
});

test('map → dense prompt logits: log-ratio to uniform, resized, calibrated', () => {
  // uniform map → log(1) = 0 everywhere, × scale + bias = bias
  const u = tf.fill([1, 4], 0.25) as tf.Tensor2D;
  close(mapToMaskLogits(u, 2, 4, tf.scalar(3), tf.scalar(-1)).dataSync(), new Array(16).fill(-1), 1e-5, 'uniform');
  // all mass in one cell: that cell log(4) at its pixels (nearest region of the bilinear resize)
  const one = tf.tensor2d([[1, 0, 0, 0]]);
  const z = mapToMaskLogits(one, 2, 4, tf.scalar(1), tf.scalar(0)).dataSync();
  assert.ok(Math.abs(z[0] - Math.log(4 + 1e-6)) < 1e-4);
  assert.ok(z[15] < -10, 'far corner strongly negative');
  tf.dispose([u, one]);
});

test('answer rows: inside the last <answer>…</answer>; fallback to every token but <eos>', () => {
  assert.deepEqual(answerRows([5, 20, 6, ANSWER, 30, 31, ANSWER_END, EOS]), { rows: [4, 5], found: true });
  assert.deepEqual(answerRows([ANSWER, 30, 31]), { rows: [1, 2], found: true }, 'unclosed at the length cap');
  assert.deepEqual(answerRows([20, 21, EOS]), { rows: [0, 1], found: false });
  assert.deepEqual(answerRows([ANSWER, ANSWER_END, 21, EOS]), { rows: [0, 1, 2], found: false }, 'an empty answer falls back');
  assert.deepEqual(answerRows([EOS]), { rows: [0], found: false });
});

test('instruction and targets use only words the policy knows; config checks', () => {
  const tok = Tokenizer.default();
  assert.deepEqual(tok.unknownWords(CR_SEG_INSTRUCTION), []);
  for (const s of trainStream('refshapes', { seed: 8 }).take(3)) assert.deepEqual(tok.unknownWords(crSegResponseText(s)), []);
  assert.throws(() => resolveCrSegConfig('tiny', { points: { count: 0 } }), /points.count must be a positive integer, got 0/);
  assert.throws(() => resolveCrSegConfig('tiny', { points: { minRatio: 2 } }), /points.minRatio must be in \[0, 1\]/);
});

test('tiny step: the mask loss reaches the policy through the attention map; no tensor leak', () => {
  const p = tinyParadigm('cr-seg') as CrSegParadigm;
  const parts = p.parts();
  assert.deepEqual(Object.keys(parts), ['policy', 'mapCalib', 'maskDecoder']);
  const before = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, snapshot(v)]));
  const pe = snapshot(p.sam.params.entries('promptEncoder'));
  const r = p.trainStep();
  assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  const rec = r.record as Record<string, number>;
  assert.ok(Math.abs(r.loss - (rec['loss/ce'] + 2 * rec['loss/bce'] + 0.5 * rec['loss/dice'] + 0.5 * rec['loss/attn'])) < 1e-4);
  for (const k of Object.keys(parts)) assert.ok(changed(before[k], snapshot(parts[k])), `${k} changed`);
  assert.deepEqual(snapshot(p.sam.params.entries('promptEncoder')), pe);
  // with only the mask loss, the policy still gets a gradient (through the attention probabilities)
  const samples = trainStream('refshapes', { seed: 12 }).take(2);
  const prompts = p.prompts(samples.map((s) => s.query));
  const responses = samples.map((s) => [...p.policy.tokenizer.encode(crSegResponseText(s)), EOS]);
  const b = p.encode(samples.map((s) => s.image));
  const decoderQkv = parts.policy.filter(([n]) => /decoder\.layers\.1\.attn\.qkv/.test(n)).map(([, v]) => v);
  const g = tf.variableGrads(() => {
    const s = p.scoreWithMap(prompts, responses, b);
    return p.segmentFromMap(s.map, b).masks.sum() as tf.Scalar;
  }, decoderQkv);
  assert.ok(Object.values(g.grads).some((t) => t.abs().sum().dataSync()[0] > 0), 'the last layer\'s q/k/v get a gradient from the mask');
  tf.dispose([g.value, ...Object.values(g.grads), b.E, b.policyInput, b.valid]);
  assertNoLeak(() => p.trainStep(), 'a CR-Seg step');
  p.dispose();
});

test('save/load round trip; predict gives masks at the original size, points inside the image', async () => {
  const p = tinyParadigm('cr-seg');
  p.trainStep();
  const dir = path.join(tmpDir('crseg-'), 'ckpt');
  await p.save(dir, { withState: true });
  const q = loadParadigm(dir);
  assert.equal(q.name, 'cr-seg');
  assert.equal(q.step, 1);
  const a = (p as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
  const b = (q as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
  assert.deepEqual(snapshot(a), snapshot(b));
  const samples = trainStream('reasonshapes', { seed: 9 }).take(2);
  const n0 = tf.memory().numTensors;
  const [pa, pb] = [await p.predict(samples, { maxTokens: 6 }), await q.predict(samples, { maxTokens: 6 })];
  assert.equal(tf.memory().numTensors, n0, 'predict leaves no tensors');
  pa.forEach((x, i) => {
    const { width: W, height: H } = samples[i].image;
    assert.equal(x.mask.width, W);
    assert.equal(x.mask.height, H);
    assert.equal(x.maskLogits.length, W * H);
    const pts = x.extra!.points as number[][];
    assert.ok(pts.length >= 1 && pts.length <= 2);
    for (const [px, py] of pts) assert.ok(px >= 0 && px < W && py >= 0 && py < H);
    const map = x.extra!.map as number[];
    assert.ok(Math.abs(map.reduce((s, v) => s + v, 0) - 1) < 1e-2);
    assert.deepEqual(Array.from(x.mask.data), Array.from(pb[i].mask.data));
  });
  p.dispose();
  q.dispose();
});
