/**
 * RSVP (src/paradigms/rsvp/): strips of the grid (ranges, drawing), box → strips and strips → box with
 * padding and clipping (hand-computed), answer parsing, the VLSM's box crop, a tiny-preset step
 * without leaks, save/load, predict at the original size.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Tokenizer } from '../src/models/policy/tokenizer';
import { trainStream } from '../src/data/shapeworld/index';
import { maskBox } from '../src/models/sam/prompts';
import { loadParadigm } from '../src/paradigms/registry';
import { RSVP_INSTRUCTION, RsvpParadigm, boxCellMask, boxToStrips, drawGrid, groundTruthStrips, parseStrips, resolveRsvpConfig, rsvpResponseText, stripRange, stripsText, stripsToBox } from '../src/paradigms/rsvp/index';
import { assertNoLeak, changed, snapshot, tinyParadigm, tmpDir, useWasm } from './paradigm-fixtures';

before(useWasm);

const G8 = { rows: 8, cols: 8 };

test('strip ranges: 8 strips of 16 px on 128 px; uneven sides split by floor', () => {
  assert.deepEqual(stripRange(1, 8, 128), [0, 15]);
  assert.deepEqual(stripRange(8, 8, 128), [112, 127]);
  assert.deepEqual([1, 2, 3].map((k) => stripRange(k, 3, 10)), [[0, 2], [3, 5], [6, 9]]);
  assert.throws(() => stripRange(9, 8, 128), /strip 9 is outside 1\.\.8/);
});

test('box → strips: every strip the box touches', () => {
  assert.deepEqual(boxToStrips([20, 64, 40, 79], 128, 128, G8), { rows: [5], cols: [2, 3] });
  assert.deepEqual(boxToStrips([15, 16, 16, 16], 128, 128, G8), { rows: [2], cols: [1, 2] }, 'one pixel across a boundary');
  assert.deepEqual(boxToStrips([0, 0, 127, 127], 128, 128, G8).rows, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => boxToStrips([0, 0, 128, 5], 128, 128, G8), /not inside the 128×128 image/);
});

test('strips → box: span, padding, clipping (hand-computed)', () => {
  // cols 2–3 → x 16..47, row 5 → y 64..79; padding 0.03·128 = 3.84 → 4 px
  assert.deepEqual(stripsToBox({ rows: [5], cols: [2, 3] }, 128, 128, G8, 0.03), [12, 60, 51, 83]);
  assert.deepEqual(stripsToBox({ rows: [5], cols: [2, 3] }, 128, 128, G8, 0), [16, 64, 47, 79]);
  // clipped at the image's edges
  assert.deepEqual(stripsToBox({ rows: [8], cols: [1] }, 128, 128, G8, 0.03), [0, 108, 19, 127]);
  // gaps are filled: rows 2 and 4 span 16..63
  assert.deepEqual(stripsToBox({ rows: [2, 4], cols: [8] }, 128, 128, G8, 0), [112, 16, 127, 63]);
  // a non-square image: 160 × 80, 8 × 8 strips of 20 × 10 px, padding 0.05·160 = 8
  assert.deepEqual(stripsToBox({ rows: [1], cols: [4] }, 160, 80, G8, 0.05), [52, 0, 87, 17]);
  assert.throws(() => stripsToBox({ rows: [], cols: [1] }, 128, 128, G8, 0), /at least one row and one column/);
  assert.throws(() => stripsToBox({ rows: [1], cols: [1] }, 128, 128, G8, -1), /padding must be ≥ 0/);
});

test('strips of the ground truth: the target box round-trips into a padded box that contains it', () => {
  for (const s of trainStream('refshapes', { seed: 2 }).take(5)) {
    const b = maskBox(s.mask)!;
    const box = stripsToBox(groundTruthStrips(s, G8), 128, 128, G8, 0.03);
    assert.ok(box[0] <= b[0] && box[1] <= b[1] && box[2] >= b[2] && box[3] >= b[3], `${box} ⊇ ${b}`);
  }
});

test('answer text and parsing (tokenizer round trip; bad answers say why)', () => {
  const tok = Tokenizer.default();
  const s = { rows: [5, 6], cols: [2, 3] };
  assert.equal(stripsText(s), 'down 5, 6 across 2, 3');
  const text = tok.decode(tok.encode(`<think>x is a circle.</think><answer>${stripsText(s)}</answer>`));
  assert.deepEqual(parseStrips(text, G8), { ok: true, strips: s });
  assert.deepEqual(parseStrips('<answer>down 6, 5, 9 across 3, 2, 2</answer>', G8), { ok: true, strips: { rows: [5, 6], cols: [2, 3] } }, 'sorted, deduplicated, out-of-range dropped');
  assert.deepEqual(parseStrips('<answer>down 4 across 1', G8), { ok: true, strips: { rows: [4], cols: [1] } }, 'an unclosed answer at the length cap');
  assert.equal(parseStrips('no answer', G8).ok, false);
  assert.match((parseStrips('<answer>across 1 down 2</answer>', G8) as { reason: string }).reason, /not "down …, across …"/);
  assert.match((parseStrips('<answer>down 0 across 9</answer>', G8) as { reason: string }).reason, /no valid strip id/);
  assert.deepEqual(tok.unknownWords(RSVP_INSTRUCTION), []);
  for (const x of trainStream('refshapes', { seed: 4 }).take(3)) assert.deepEqual(tok.unknownWords(rsvpResponseText(x, G8)), []);
});

test('the grid drawn on the image: lines halfway to white on the strips\' first pixels, nothing else', () => {
  const W = 16;
  const img = { width: W, height: W, data: new Uint8Array(W * W * 3).fill(100) };
  const g = drawGrid(img, { rows: 2, cols: 4 });
  assert.equal(img.data[0], 100, 'the input is unchanged');
  const px = (x: number, y: number) => g.data[(y * W + x) * 3];
  assert.equal(px(4, 3), 177, 'column line at x = 4: (100 + 255) >> 1');
  assert.equal(px(3, 8), 177, 'row line at y = 8');
  assert.equal(px(4, 8), 177, 'blended once at a crossing');
  assert.equal(px(3, 3), 100);
  assert.equal(px(0, 0), 100, 'no line at the border');
  let n = 0;
  for (let i = 0; i < W * W; i++) if (g.data[i * 3] !== 100) n++;
  assert.equal(n, 3 * W + 1 * W - 3, 'three column lines, one row line, three crossings');
});

test('VLSM crop: the cells whose centres lie in the box; a tiny box keeps the cell under its centre', () => {
  // 4 × 4 grid over 64 px (cells of 16, centres 8, 24, 40, 56)
  assert.deepEqual(Array.from(boxCellMask([0, 0, 31, 15], 64, 4)), [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(boxCellMask([34, 50, 36, 52], 64, 4)), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
});

test('config: the grid and padding are checked with their keys', () => {
  const c = resolveRsvpConfig('small');
  assert.deepEqual(c.grid, G8);
  assert.throws(() => resolveRsvpConfig('tiny', { grid: { rows: 0 } }), /grid.rows must be an integer in 1\.\.32, got 0/);
  assert.throws(() => resolveRsvpConfig('tiny', { padding: 0.7 }), /padding must be in \[0, 0.5\)/);
});

test('tiny step: supervised CE + VLSM loss; policy, VLSM and mask decoder train, the prompt encoder does not; no tensor leak', () => {
  const p = tinyParadigm('rsvp') as RsvpParadigm;
  const parts = p.parts();
  assert.deepEqual(Object.keys(parts), ['policy', 'vlsm', 'maskDecoder']);
  const before = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, snapshot(v)]));
  const pe = snapshot(p.sam.params.entries('promptEncoder'));
  const r = p.trainStep();
  assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  const expect = (r.record['loss/ce'] as number) + 2 * (r.record['loss/bce'] as number) + 0.5 * (r.record['loss/dice'] as number);
  assert.ok(Math.abs(r.loss - expect) < 1e-4, 'total = CE + 2·BCE + 0.5·dice');
  for (const k of Object.keys(parts)) assert.ok(changed(before[k], snapshot(parts[k])), `${k} changed`);
  assert.deepEqual(snapshot(p.sam.params.entries('promptEncoder')), pe);
  assert.match(String(r.completions[0].completion), /<answer>down [\d, ]+ across [\d, ]+<\/answer>$/);
  assertNoLeak(() => p.trainStep(), 'an RSVP step');
  p.dispose();
});

test('segment: the mask is cut to the box (cropOutput)', () => {
  const p = tinyParadigm('rsvp') as RsvpParadigm;
  const samples = trainStream('refshapes', { seed: 6 }).take(1);
  const b = p.encode(samples.map((s) => s.image));
  const m = p.segment(p.queryIds(samples), [[0, 0, 31, 31]], b);
  const v = m.dataSync();
  const r = p.sam.maskSize; // 64 over 128 px: pixels 0..15 are inside
  assert.equal(v[20 * r + 5], -50);
  assert.equal(v[5 * r + 40], -50);
  assert.notEqual(v[5 * r + 5], -50);
  tf.dispose([m, b.E, b.policyInput, b.valid]);
  p.dispose();
});

test('save/load round trip; predict gives masks at the original image size', async () => {
  const p = tinyParadigm('rsvp');
  p.trainStep();
  const dir = path.join(tmpDir('rsvp-'), 'ckpt');
  await p.save(dir, { withState: true });
  const q = loadParadigm(dir);
  assert.equal(q.name, 'rsvp');
  assert.equal(q.step, 1);
  const a = (p as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
  const b = (q as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
  assert.deepEqual(snapshot(a), snapshot(b));
  const samples = trainStream('reasonshapes', { seed: 9 }).take(2);
  const n0 = tf.memory().numTensors;
  const [pa, pb] = [await p.predict(samples, { maxTokens: 6 }), await q.predict(samples, { maxTokens: 6 })];
  assert.equal(tf.memory().numTensors, n0, 'predict leaves no tensors');
  pa.forEach((x, i) => {
    assert.equal(x.mask.width, samples[i].image.width);
    assert.equal(x.mask.height, samples[i].image.height);
    assert.equal(x.maskLogits.length, samples[i].image.width * samples[i].image.height);
    assert.equal(typeof x.extra?.stripsParsed, 'boolean');
    assert.deepEqual(Array.from(x.mask.data), Array.from(pb[i].mask.data));
  });
  p.dispose();
  q.dispose();
});
