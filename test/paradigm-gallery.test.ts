/**
 * The paradigm gallery helpers (src/paradigms/gallery.ts): captions, gIoU by query family
 * (hand-computed), and the gallery PNG's layout.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import sharp from 'sharp';
import type { BinaryMask, Sample } from '../src/data/sample';
import { trainStream } from '../src/data/shapeworld/index';
import { captionOf, familyTable, galleryPng, type EntryPrediction } from '../src/paradigms/gallery';

const samples: Sample[] = trainStream('reasonshapes', { seed: 5 }).take(3);
const empty = (s: Sample): BinaryMask => ({ width: s.mask.width, height: s.mask.height, data: new Uint8Array(s.mask.data.length) });

test('captionOf puts the answer first and keeps the end of the reasoning', () => {
  assert.equal(captionOf('<think>a b c</think> <REF_POS>'), '<REF_POS> ← a b c');
  assert.equal(captionOf('It is [SEG].'), 'It is [SEG].');
  const long = `<think>${'x'.repeat(200)} the end</think><answer>{}</answer>`;
  const c = captionOf(long, 60);
  assert.ok(c.startsWith('<answer>{}</answer> ← …') && c.endsWith('the end') && c.length <= 60, c);
});

test('familyTable: mean IoU per paradigm and family, with counts', () => {
  const fam = samples.map((s) => String(s.meta!.family));
  const preds: EntryPrediction[] = samples.flatMap((s, i) => [
    { name: 'a', id: s.id, response: '', mask: s.mask, iou: 1 },
    { name: 'b', id: s.id, response: '', mask: empty(s), iou: i / 4 },
  ]);
  const rows = familyTable(preds, samples);
  assert.deepEqual(rows.map((r) => r.paradigm), ['a', 'b']);
  for (const f of new Set(fam)) {
    const idx = fam.map((x, i) => (x === f ? i : -1)).filter((i) => i >= 0);
    const key = `${f} (${idx.length})`;
    assert.equal(rows[0][key], 1);
    assert.equal(rows[1][key], Number((idx.reduce((s, i) => s + i / 4, 0) / idx.length).toFixed(3)));
  }
});

test('galleryPng: one row per sample, one column per entry plus the ground truth; a missing prediction is an error', async () => {
  const preds: EntryPrediction[] = samples.flatMap((s) => ['p', 'q'].map((name) => ({ name, id: s.id, response: '<think>t</think> <REF_POS>', mask: s.mask, iou: 1 })));
  const png = await galleryPng(samples, preds, { scale: 1 });
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! > 3 * samples[0].image.width && meta.height! > 3 * samples[0].image.height, `${meta.width} x ${meta.height}`);
  await assert.rejects(galleryPng(samples, preds.slice(1)), /no prediction of p for/);
});
