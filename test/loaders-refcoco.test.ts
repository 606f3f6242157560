/** RefCOCO loader on fixtures in COCO instances + exported refs JSON format (test/fixtures/refcoco). */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RefCocoOptions, loadRefCoco } from '../src/data/loaders/refcoco';
import { BinaryMask, checkImage, checkMask } from '../src/data/sample';

const DIR = path.join(__dirname, 'fixtures', 'refcoco');
const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const BASE: RefCocoOptions = {
  instancesJson: path.join(DIR, 'instances.json'),
  refsJson: path.join(DIR, 'refs.json'),
  imageDir: path.join(DIR, 'images'),
  split: 'val',
  dataset: 'refcoco',
};

const area = (m: BinaryMask): number => m.data.reduce((s, v) => s + v, 0);
const at = (m: BinaryMask, x: number, y: number): number => m.data[y * m.width + x];
const readJson = (name: string): any => JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8'));

/** Writes edited copies of the two JSON files into a scratch folder; returns options using them. */
function edited(editInstances?: (j: any) => void, editRefs?: (j: any) => void): RefCocoOptions {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-refcoco-'));
  made.push(dir);
  const inst = readJson('instances.json');
  const refs = readJson('refs.json');
  editInstances?.(inst);
  editRefs?.(refs);
  fs.writeFileSync(path.join(dir, 'instances.json'), JSON.stringify(inst));
  fs.writeFileSync(path.join(dir, 'refs.json'), JSON.stringify(refs));
  return { ...BASE, instancesJson: path.join(dir, 'instances.json'), refsJson: path.join(dir, 'refs.json') };
}

test('val split: one sample per (ref, sentence), polygon and RLE masks', async () => {
  const samples = await loadRefCoco(BASE);
  assert.deepEqual(samples.map((s) => s.id), ['refcoco/val/1/11', 'refcoco/val/1/12', 'refcoco/val/3/31']);
  for (const s of samples) {
    assert.equal(s.dataset, 'refcoco');
    assert.equal(s.split, 'val');
    checkImage(s.image);
    checkMask(s.mask, s.image);
  }
  const [a, b, c] = samples;
  assert.deepEqual([a.query, b.query, c.query], ['dog on the left', 'brown dog', 'crowd at top left']);
  assert.equal(a.image, b.image);
  assert.equal(a.mask, b.mask);
  // ann 101: polygon (2,3)-(12,9) on a 32 x 24 image -> x 2..11, y 3..8 = 10 x 6 = 60 pixels.
  assert.equal(area(a.mask), 60);
  assert.deepEqual([at(a.mask, 2, 3), at(a.mask, 11, 8), at(a.mask, 12, 8), at(a.mask, 2, 9)], [1, 1, 0, 0]);
  // ann 201: uncompressed RLE [18, 4, 12, 4, ...] of a 16 x 20 image (column-major) -> rows 2..5,
  // columns 1..4 = 16 pixels.
  assert.equal(area(c.mask), 16);
  assert.deepEqual([at(c.mask, 1, 2), at(c.mask, 4, 5), at(c.mask, 0, 2), at(c.mask, 1, 6)], [1, 1, 0, 0]);
  assert.deepEqual(a.meta, {
    refId: 1, annIds: [101], imageId: 1, sentId: 11, categoryId: 18, bboxes: [[2, 3, 10, 6]],
    fileName: 'COCO_train2014_000000000001.jpg', tokens: ['dog', 'on', 'the', 'left'],
  });
});

test('testA (two-part polygon), testB (compressed RLE), train; refcoco+ and refcocog names', async () => {
  const [ta] = await loadRefCoco({ ...BASE, split: 'testA' });
  // ann 102: squares (16,10)-(20,14) = 16 px and (26,18)-(30,21) = 12 px.
  assert.equal(area(ta.mask), 28);
  const [tb] = await loadRefCoco({ ...BASE, split: 'testB' });
  // ann 202: pycocotools-encoded ellipse of 64 pixels; row 5 is 00000000000111100000.
  assert.equal(area(tb.mask), 64);
  assert.equal([...tb.mask.data.subarray(5 * 20, 6 * 20)].join(''), '00000000000111100000');
  const train = await loadRefCoco({ ...BASE, split: 'train', dataset: 'refcoco+' });
  assert.deepEqual(train.map((s) => [s.id, s.dataset]), [['refcoco+/train/5/51', 'refcoco+']]);
  const g = await loadRefCoco({ ...BASE, dataset: 'refcocog', limit: 1 });
  assert.deepEqual(g.map((s) => s.id), ['refcocog/val/1/11', 'refcocog/val/1/12']);
});

test('parsed objects are accepted; a list of ann_ids gives the union', async () => {
  const refs = readJson('refs.json');
  refs[0].ann_id = [101, 102];
  refs[0].image_id = 1;
  const [s] = await loadRefCoco({ ...BASE, instancesJson: readJson('instances.json'), refsJson: refs, limit: 1 });
  assert.equal(area(s.mask), 60 + 28);
});

const BAD: [string, RefCocoOptions, RegExp][] = [
  ['unknown split', { ...BASE, split: 'testC' }, /unknown split "testC" for refcoco; expected one of train, val, testA, testB/],
  ['split of another dataset', { ...BASE, split: 'testA', dataset: 'refcocog' }, /unknown split "testA" for refcocog/],
  ['split absent from the file', { ...BASE, split: 'test', dataset: 'refcocog' }, /refs\.json: no refs with split "test" \(the file has: testA, testB, train, val\)/],
  ['missing sentences', edited(undefined, (r) => delete r[0].sentences), /refs\.json: field "refs\[0\]\.sentences" is missing/],
  ['sentence not a string', edited(undefined, (r) => (r[0].sentences[1].sent = 7)), /refs\.json: field "refs\[0\]\.sentences\[1\]\.sent" must be a string/],
  ['unknown ann_id', edited(undefined, (r) => (r[0].ann_id = 999)), /refs\.json: field "refs\[0\]\.ann_id" is 999, which is not in .*instances\.json "annotations"/],
  ['unknown image_id', edited(undefined, (r) => (r[0].image_id = 7)), /field "refs\[0\]\.image_id" is 7, which is not in/],
  ['ann on another image', edited(undefined, (r) => (r[2].ann_id = 101)), /instances\.json: field "annotations\[0\]\.image_id" is 1 but ref 3/],
  ['missing images', edited((j) => delete j.images), /instances\.json: field "images" is missing/],
  ['bad file_name type', edited((j) => (j.images[0].file_name = 3)), /field "images\[0\]\.file_name" must be a string/],
  ['missing image file', edited((j) => (j.images[0].file_name = 'gone.jpg')), /instances\.json: field "images\[0\]\.file_name".*gone\.jpg.*file not found/],
  ['image size mismatch', edited((j) => (j.images[0].width = 33)), /field "images\[0\]" says 33x24 but the image ".*000001\.jpg" is 32x24/],
  ['polygon outside the image', edited((j) => (j.annotations[0].segmentation = [[40, 30, 50, 30, 50, 40]])), /field "annotations\[0\]\.segmentation\[0\]" polygon 0 lies entirely outside the 32x24 image/],
  ['odd polygon', edited((j) => (j.annotations[0].segmentation = [[1, 2, 3, 4, 5, 6, 7]])), /field "annotations\[0\]\.segmentation\[0\]": a flat coordinate list needs an even length/],
  ['RLE size mismatch', edited((j) => (j.annotations[2].segmentation.size = [20, 16])), /field "annotations\[2\]\.segmentation\.size" is \[20,16\] but the image is \[16, 20\]/],
  ['RLE counts', edited((j) => (j.annotations[2].segmentation.counts = [18, 4])), /field "annotations\[2\]\.segmentation": counts sum to 22, expected 16x20 = 320/],
  ['bad bbox', edited((j) => (j.annotations[0].bbox = [1, 2, 3])), /field "annotations\[0\]\.bbox" must be \[x, y, w, h\]/],
];

for (const [name, options, re] of BAD) {
  test(`error names the file and field: ${name}`, async () => {
    await assert.rejects(loadRefCoco(options), re);
  });
}

test('errors for objects passed in name them <instances> / <refs>; unreadable files are named', async () => {
  await assert.rejects(loadRefCoco({ ...BASE, instancesJson: { images: [] } }), /<instances>: field "annotations" is missing/);
  await assert.rejects(loadRefCoco({ ...BASE, refsJson: { not: 'a list' } }), /<refs>: field "refs" must be an array, got object/);
  await assert.rejects(loadRefCoco({ ...BASE, refsJson: path.join(DIR, 'nope.json') }), /nope\.json: cannot read JSON file \(file not found\)/);
  const badImage = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-refcoco-img-'));
  made.push(badImage);
  fs.cpSync(path.join(DIR, 'images'), badImage, { recursive: true });
  const f = path.join(badImage, 'COCO_train2014_000000000001.jpg');
  fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 100)); // truncated JPEG
  await assert.rejects(loadRefCoco({ ...BASE, imageDir: badImage }), /images\[0\]\.file_name.*000001\.jpg.*expected a PNG or JPEG/);
});
