/** ReasonSeg loader on fixtures in the published LabelMe-style format (test/fixtures/reasonseg). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadReasonSeg } from '../src/data/loaders/reasonseg';
import { BinaryMask, checkImage, checkMask } from '../src/data/sample';

const FIXTURES = path.join(__dirname, 'fixtures', 'reasonseg');
const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const area = (m: BinaryMask): number => m.data.reduce((s, v) => s + v, 0);
const at = (m: BinaryMask, x: number, y: number): number => m.data[y * m.width + x];

/** A scratch copy of the fixtures; `edit` rewrites val/two_cups.json. */
function scratch(edit?: (json: Record<string, unknown>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-reasonseg-'));
  made.push(dir);
  fs.cpSync(FIXTURES, dir, { recursive: true });
  if (edit) {
    const file = path.join(dir, 'val', 'two_cups.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(json);
    fs.writeFileSync(file, JSON.stringify(json));
  }
  return dir;
}

test('val split: one sample per (image, query), LISA mask rules', async () => {
  const samples = await loadReasonSeg(FIXTURES, 'val');
  assert.deepEqual(samples.map((s) => s.id), [
    'reasonseg/val/two_cups/0', 'reasonseg/val/two_cups/1', 'reasonseg/val/warm_blanket/0', 'reasonseg/val/warm_blanket/1',
  ]);
  for (const s of samples) {
    assert.equal(s.dataset, 'reasonseg');
    assert.equal(s.split, 'val');
    checkImage(s.image);
    checkMask(s.mask, s.image);
  }
  const [cupA, cupB, warmA, warmB] = samples;
  assert.deepEqual([cupA.subset, warmA.subset], ['short', 'long']);
  assert.deepEqual([cupA.query, cupB.query], ['the left cup', 'cup on the left']);
  assert.equal(warmB.query, 'Which item would you use to stay warm while sleeping?');
  assert.equal(cupA.image, cupB.image); // shared per image
  assert.deepEqual([cupA.image.width, cupA.image.height], [24, 32]);

  // two_cups: polygon (1,1)-(6,9) -> 5 x 8 = 40 pixels, plus a "rectangle" shape (12,20)-(20,28)
  // labelled "cup" (any label but "ignore"/"flag" is a target, as in LISA) -> 8 x 8 = 64.
  assert.equal(area(cupA.mask), 104);
  assert.equal(at(cupA.mask, 1, 1), 1);
  assert.equal(at(cupA.mask, 6, 1), 0);
  assert.equal(at(cupA.mask, 19, 27), 1);
  assert.equal(cupA.meta?.ignore, undefined);

  // warm_blanket: rectangle x 4..27, y 4..23 (480 px) minus the smaller "ignore" square painted
  // over it (x 10..15, y 8..13: 36 px), plus a triangle (30,20), (45.3,20), (30,35.3) clipped to
  // the 40 x 30 image: pixels x 30..39, y 20..29 with x + y <= 64 -> 100 - 10 = 90. "flag" skipped.
  assert.equal(area(warmA.mask), 480 - 36 + 90);
  const ignore = warmA.meta?.ignore as BinaryMask;
  assert.equal(area(ignore), 36);
  assert.equal(at(ignore, 10, 8), 1);
  assert.equal(at(warmA.mask, 10, 8), 0);
  assert.equal(warmA.meta?.isSentence, true);
  assert.equal(warmA.meta?.queryIndex, 0);
  assert.match(String(warmA.meta?.file), /warm_blanket\.json$/);
});

test('options: firstQueryOnly (LISA evaluation), subset filter, limit', async () => {
  const first = await loadReasonSeg(FIXTURES, 'val', { firstQueryOnly: true });
  assert.deepEqual(first.map((s) => s.id), ['reasonseg/val/two_cups/0', 'reasonseg/val/warm_blanket/0']);
  const long = await loadReasonSeg(FIXTURES, 'val', { subset: 'long' });
  assert.ok(long.length === 2 && long.every((s) => s.subset === 'long'));
  assert.equal((await loadReasonSeg(FIXTURES, 'val', { limit: 1 })).length, 2);
  const testSplit = await loadReasonSeg(FIXTURES, 'test');
  assert.deepEqual(testSplit.map((s) => [s.id, s.subset]), [['reasonseg/test/round_thing/0', 'long']]);
  const train = await loadReasonSeg(FIXTURES, 'train');
  assert.equal(area(train[0].mask), 10 * 16);
});

test('a target drawn inside a larger ignore region stays a target (painted by area)', async () => {
  const dir = scratch((j) => {
    j.shapes = [
      { label: 'ignore', points: [[0, 0], [10, 0], [10, 10], [0, 10]], shape_type: 'polygon' },
      { label: 'target', points: [[2, 2], [4, 2], [4, 4], [2, 4]], shape_type: 'polygon' },
    ];
  });
  const [s] = await loadReasonSeg(dir, 'val', { firstQueryOnly: true });
  assert.equal(area(s.mask), 4);
  assert.equal(area(s.meta?.ignore as BinaryMask), 100 - 4);
});

const BAD: [string, (j: Record<string, unknown>) => void, RegExp][] = [
  ['missing field', (j) => delete j.is_sentence, /two_cups\.json: field "is_sentence" is missing/],
  ['wrong type', (j) => ((j.shapes as Record<string, unknown>[])[0].points = 'oops'), /two_cups\.json: field "shapes\[0\]\.points" must be an array, got string/],
  ['bad point', (j) => ((j.shapes as Record<string, unknown>[])[0].points = [[1, 1], [2, 'x'], [3, 3]]), /field "shapes\[0\]\.points\[1\]\[1\]" must be a finite number/],
  ['empty text', (j) => (j.text = []), /field "text" has no queries/],
  ['unknown shape type', (j) => ((j.shapes as Record<string, unknown>[])[0].shape_type = 'circle'), /field "shapes\[0\]\.shape_type" must be "polygon" or "rectangle", got "circle"/],
  ['two-point polygon', (j) => ((j.shapes as Record<string, unknown>[])[0].points = [[1, 1], [5, 5]]), /field "shapes\[0\]\.points" polygon 0 \("target"\) needs at least 3 points, got 2/],
  ['polygon outside the image', (j) => ((j.shapes as unknown[])[1] = { label: 'cup', points: [[100, 100], [120, 100], [120, 130]], shape_type: 'polygon' }), /field "shapes\[1\]\.points" polygon \("cup"\) lies entirely outside the 24x32 image/],
  ['size mismatch', (j) => (j.imageWidth = 25), /two_cups\.json: field "imageWidth" \/ "imageHeight" say 25x32 but the image ".*two_cups\.jpg" is 24x32/],
  ['no target', (j) => (j.shapes = [{ label: 'ignore', points: [[0, 0], [5, 0], [5, 5]] }]), /field "shapes" has no target pixels/],
];

for (const [name, edit, re] of BAD) {
  test(`error names the file and field: ${name}`, async () => {
    await assert.rejects(loadReasonSeg(scratch(edit), 'val'), re);
  });
}

test('errors: unknown split, missing folder, unpaired files, bad image, bad JSON', async () => {
  await assert.rejects(loadReasonSeg(FIXTURES, 'dev'), /unknown split "dev"; expected one of train, val, test/);
  const noTest = scratch();
  fs.rmSync(path.join(noTest, 'test'), { recursive: true });
  await assert.rejects(loadReasonSeg(noTest, 'test'), /folder ".*test" not found/);

  const noImage = scratch();
  fs.rmSync(path.join(noImage, 'val', 'two_cups.jpg'));
  await assert.rejects(loadReasonSeg(noImage, 'val'), /two_cups\.json: no image two_cups\.jpg/);

  const noJson = scratch();
  fs.rmSync(path.join(noJson, 'val', 'two_cups.json'));
  await assert.rejects(loadReasonSeg(noJson, 'val'), /two_cups\.jpg: no annotation file two_cups\.json/);

  const badImage = scratch();
  fs.writeFileSync(path.join(badImage, 'val', 'two_cups.jpg'), Buffer.from('not a jpeg'));
  await assert.rejects(loadReasonSeg(badImage, 'val'), /two_cups\.jpg.*expected a PNG or JPEG/);

  const badJson = scratch();
  fs.writeFileSync(path.join(badJson, 'val', 'two_cups.json'), '{"text": [');
  await assert.rejects(loadReasonSeg(badJson, 'val'), /two_cups\.json: not valid JSON/);
});

test('a Latin-1 (cp1252-style) JSON file is read like LISA does', async () => {
  const dir = scratch();
  const file = path.join(dir, 'val', 'two_cups.json');
  const text = fs.readFileSync(file, 'utf8').replace('the left cup', 'the caf\u00e9 cup');
  fs.writeFileSync(file, Buffer.from(text, 'latin1'));
  const [s] = await loadReasonSeg(dir, 'val', { firstQueryOnly: true });
  assert.equal(s.query, 'the caf\u00e9 cup');
});
