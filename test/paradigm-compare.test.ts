/**
 * The paradigm comparison runner (src/paradigms/compare.ts) on the tiny preset from the shipped
 * parts: CoPRS and LISA for 2 steps, 2 samples per split on two splits; the tables and CSV; a re-run
 * skips finished entries; unknown names are rejected with the known list.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { compareParadigms, comparisonMarkdown } from '../src/paradigms/compare';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok);
  await tf.setBackend('wasm');
});

test('compareParadigms: trains and evaluates each entry, writes the tables, skips finished entries on a re-run', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-compare-'));
  try {
    const opts = { preset: 'tiny', out, paradigms: ['coprs', 'lisa'], steps: 2, splits: ['refshapes/testA', 'reasonshapes/test'], limit: 2, log: null };
    const before = tf.memory().numTensors;
    const r = await compareParadigms(opts);
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    assert.equal(r.rows.length, 4);
    for (const row of r.rows) {
      assert.equal(row.n, 2);
      assert.ok(row.gIoU >= 0 && row.gIoU <= 1 && row.cIoU >= 0 && row.cIoU <= 1, JSON.stringify(row));
      assert.equal(row.steps, 2);
      assert.ok(row.parameters > row.trainable && row.trainable > 0);
    }
    const reason = r.rows.find((x) => x.paradigm === 'lisa' && x.split === 'reasonshapes/test')!;
    assert.ok(reason.shortGIoU != null || reason.longGIoU != null, 'reasonshapes has short/long subsets');
    const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0], /"paradigm".*"split".*"cIoU"/);
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    assert.match(md, /\| coprs \|/);
    assert.match(md, /\| lisa \|/);
    assert.equal(md, comparisonMarkdown(r));
    const again = await compareParadigms(opts);
    assert.deepEqual(again.skipped, ['coprs', 'lisa']);
    assert.deepEqual(again.rows, r.rows);
    await assert.rejects(compareParadigms({ ...opts, paradigms: ['lisa', 'nope'] }), /unknown paradigm\(s\) nope; known: coprs, lisa, seg-zero/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
