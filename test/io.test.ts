/** Image I/O: decoding PNG/JPEG with sharp, masks, atomic writes, tensors, and clear errors. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import {
  imageToTensor, loadImage, loadMaskPng, maskToTensor, saveImagePng, saveMaskPng, tensorToImage, tensorToMask,
} from '../src/io/image';
import { RGBImage } from '../src/data/sample';

tf.setBackend('cpu');

const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-io-'));
  made.push(d);
  return d;
}

/** A 5 x 3 image whose pixel (x, y) is (10x, 20y, 7). */
function testImage(width = 5, height = 3): RGBImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([10 * x, 20 * y, 7], (y * width + x) * 3);
  }
  return { width, height, data };
}

test('saveImagePng then loadImage is lossless, and leaves no temp file', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'sub', 'img.png');
  const img = testImage();
  await saveImagePng(img, file);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['img.png']);
  const back = await loadImage(file);
  assert.equal(back.width, 5);
  assert.equal(back.height, 3);
  assert.deepEqual(back.data, img.data);
  // From a buffer too.
  const again = await loadImage(fs.readFileSync(file));
  assert.deepEqual(again.data, img.data);
});

test('loadImage drops alpha, expands grey to RGB, decodes JPEG', async () => {
  const rgba = await sharp(Buffer.from([1, 2, 3, 0, 4, 5, 6, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
  assert.deepEqual([...(await loadImage(rgba)).data], [1, 2, 3, 4, 5, 6]);
  const grey = await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
  const g = await loadImage(grey);
  assert.deepEqual([...g.data], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  const jpg = await sharp(Buffer.alloc(8 * 6 * 3, 128), { raw: { width: 8, height: 6, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  const j = await loadImage(jpg);
  assert.equal(j.width, 8);
  assert.equal(j.height, 6);
  assert.ok(j.data.every((v) => Math.abs(v - 128) <= 2));
});

test('loadImage errors name the file and what was expected', async () => {
  const dir = tmpDir();
  await assert.rejects(loadImage(path.join(dir, 'missing.png')), /missing\.png.*file not found/);
  const notImage = path.join(dir, 'notes.png');
  fs.writeFileSync(notImage, 'hello, not an image');
  await assert.rejects(loadImage(notImage), /notes\.png.*expected a PNG or JPEG.*sharp:/);
  const png = await sharp(Buffer.alloc(32 * 32 * 3, 9), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
  const truncPng = path.join(dir, 'trunc.png');
  fs.writeFileSync(truncPng, png.subarray(0, png.length >> 1));
  await assert.rejects(loadImage(truncPng), /trunc\.png.*expected a PNG or JPEG/);
  const noisy = Buffer.from(Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 256));
  const jpg = await sharp(noisy, { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer();
  const truncJpg = path.join(dir, 'trunc.jpg');
  fs.writeFileSync(truncJpg, jpg.subarray(0, jpg.length >> 1));
  await assert.rejects(loadImage(truncJpg), /trunc\.jpg.*expected a PNG or JPEG/);
  await assert.rejects(loadImage(Buffer.from('nope'), { name: 'upload#3' }), /upload#3/);
  await assert.rejects(loadImage(dir), /not a regular file/);
});

test('saveImagePng rejects a malformed image and writes nothing', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'bad.png');
  await assert.rejects(saveImagePng({ width: 4, height: 4, data: new Uint8Array(5) }, file), /bad\.png.*48 bytes/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('saveImagePng replaces an existing file atomically', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'img.png');
  fs.writeFileSync(file, 'old');
  await saveImagePng(testImage(), file);
  assert.deepEqual((await loadImage(file)).data, testImage().data);
  assert.deepEqual(fs.readdirSync(dir), ['img.png']);
});

test('loadMaskPng: any non-zero is 1, size is checked', async () => {
  const dir = tmpDir();
  const f01 = path.join(dir, 'm01.png');
  await sharp(Buffer.from([0, 1, 0, 255, 0, 3]), { raw: { width: 3, height: 2, channels: 1 } }).png().toFile(f01);
  const m = await loadMaskPng(f01);
  assert.deepEqual([m.width, m.height, [...m.data]], [3, 2, [0, 1, 0, 1, 0, 1]]);
  // RGB mask: a pure-blue pixel counts; RGBA: alpha is ignored.
  const rgb = await sharp(Buffer.from([0, 0, 0, 0, 0, 9]), { raw: { width: 2, height: 1, channels: 3 } }).png().toBuffer();
  assert.deepEqual([...(await loadMaskPng(rgb)).data], [0, 1]);
  const rgba = await sharp(Buffer.from([0, 0, 0, 255, 5, 0, 0, 0]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
  assert.deepEqual([...(await loadMaskPng(rgba)).data], [0, 1]);
  await assert.rejects(loadMaskPng(f01, { width: 2, height: 3 }), /m01\.png.*3x2 differs from the expected 2x3/);
  await assert.rejects(loadMaskPng(path.join(dir, 'nope.png')), /mask.*nope\.png.*file not found/);
  // saveMaskPng round trip (stored as 0/255).
  const f2 = path.join(dir, 'm2.png');
  await saveMaskPng(m, f2);
  assert.deepEqual((await loadMaskPng(f2)).data, m.data);
  const raw = await sharp(f2).raw().toBuffer();
  assert.ok([...raw].every((v) => v === 0 || v === 255));
});

test('imageToTensor / maskToTensor shapes and scale; tensorToImage inverts', async () => {
  const img = testImage();
  const t = imageToTensor(img);
  assert.deepEqual(t.shape, [3, 5, 3]);
  assert.equal(t.dtype, 'float32');
  const v = t.arraySync();
  assert.ok(Math.abs(v[2][4][0] - 40 / 255) < 1e-7); // pixel (x=4, y=2) red = 10 * 4
  assert.ok(Math.abs(v[2][4][1] - 40 / 255) < 1e-7); // green = 20 * 2
  assert.deepEqual(await tensorToImage(t), img);
  t.dispose();
  const mask = { width: 3, height: 2, data: new Uint8Array([0, 1, 1, 0, 0, 1]) };
  const mt = maskToTensor(mask);
  assert.deepEqual(mt.shape, [2, 3]);
  assert.deepEqual(mt.arraySync(), [[0, 1, 1], [0, 0, 1]]);
  assert.deepEqual(await tensorToMask(mt), mask);
  mt.dispose();
});

test('tensor conversions do not leak', async () => {
  const img = testImage();
  const run = async (): Promise<void> => {
    const t = imageToTensor(img);
    await tensorToImage(t);
    t.dispose();
    const m = maskToTensor({ width: 2, height: 1, data: new Uint8Array([1, 0]) });
    await tensorToMask(m);
    m.dispose();
  };
  await run();
  const before = tf.memory().numTensors;
  await run();
  assert.equal(tf.memory().numTensors, before);
});
