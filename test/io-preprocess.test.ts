/** SAM preprocessing (resize longest side + pad) and its inverse on logits, on non-square images. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  SAM_PIXEL_MEAN, SAM_PIXEL_STD, computePreprocessInfo, preprocessImage, preprocessImages, preprocessMask, validRegionCells,
  validRegionMask,
} from '../src/io/preprocess';
import { postprocessLogits, postprocessToMask } from '../src/io/postprocess';
import { resizePadImage } from '../src/io/sharp-preprocess';
import { imageToTensor } from '../src/io/image';
import { maskIoU } from '../src/metrics/iou';
import { BinaryMask, RGBImage } from '../src/data/sample';

tf.setBackend('cpu');

/** A blob: an ellipse plus an off-centre rectangle, sized relative to the image. */
function blobMask(height: number, width: number): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const e = ((x - 0.4 * width) / (0.3 * width)) ** 2 + ((y - 0.4 * height) / (0.3 * height)) ** 2 <= 1;
      const r = x > 0.5 * width && x < 0.95 * width && y > 0.55 * height && y < 0.9 * height;
      data[y * width + x] = e || r ? 1 : 0;
    }
  }
  return { width, height, data };
}

/** A smooth colour image (gradients and a soft bump). */
function smoothImage(height: number, width: number): RGBImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bump = Math.exp(-(((x - width / 2) / (width / 4)) ** 2) - ((y - height / 3) / (height / 4)) ** 2);
      data.set([Math.round((255 * x) / width), Math.round((255 * y) / height), Math.round(255 * bump)], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

test('computePreprocessInfo follows SAM get_preprocess_shape (S = 128 and 1024)', () => {
  const cases: [number, number, number, number, number][] = [
    // [H, W, S, validH, validW]
    [96, 160, 128, 77, 128], // scale 0.8: 76.8 -> floor(77.3) = 77
    [200, 70, 128, 128, 45], // scale 0.64: 44.8 -> 45
    [96, 160, 1024, 614, 1024], // scale 6.4: 614.4 -> 614
    [200, 70, 1024, 1024, 358], // scale 5.12: 358.4 -> 358
    [480, 640, 1024, 768, 1024], // COCO-sized, as in SAM
    [3, 8, 4, 2, 4], // 1.5 rounds half up to 2 (int(x + 0.5))
    [128, 128, 128, 128, 128],
  ];
  for (const [h, w, s, vh, vw] of cases) {
    assert.deepEqual(computePreprocessInfo(h, w, s), { origH: h, origW: w, validH: vh, validW: vw, size: s }, `${h}x${w} at ${s}`);
  }
  assert.throws(() => computePreprocessInfo(0, 5, 128), /origH must be a positive integer/);
});

test('validRegionMask rounds up partially covered cells', () => {
  const info = computePreprocessInfo(96, 160, 128); // valid 77 x 128
  assert.deepEqual(validRegionCells(info, 64), { rows: 39, cols: 64 }); // ceil(77 * 64 / 128) = ceil(38.5)
  assert.deepEqual(validRegionCells(info, 128), { rows: 77, cols: 128 });
  assert.deepEqual(validRegionCells(computePreprocessInfo(200, 70, 128), 16), { rows: 16, cols: 6 }); // ceil(45 / 8) = 6
  assert.deepEqual(validRegionCells(computePreprocessInfo(480, 640, 1024), 256), { rows: 192, cols: 256 });
  const m = validRegionMask(computePreprocessInfo(200, 70, 128), 16);
  assert.deepEqual(m.shape, [16, 16]);
  const a = m.arraySync();
  assert.equal(a[15][5], 1);
  assert.equal(a[15][6], 0);
  assert.equal(a.flat().reduce((s, v) => s + v, 0), 16 * 6);
  m.dispose();
});

for (const [h, w] of [[96, 160], [200, 70]]) {
  test(`mask round trip ${h}x${w}: preprocess -> logits 2m-1 -> postprocess -> threshold, IoU > 0.97`, async () => {
    const mask = blobMask(h, w);
    for (const size of [128, 1024]) {
      const { tensor, info } = preprocessMask(mask, size);
      assert.deepEqual(tensor.shape, [size, size]);
      // Binary, and exactly zero in the padding.
      const vals = await tensor.data();
      assert.ok(vals.every((v) => v === 0 || v === 1));
      const padSum = tf.tidy(() => tensor.sub(tensor.slice([0, 0], [info.validH, info.validW]).pad([[0, size - info.validH], [0, size - info.validW]])).abs().sum().dataSync()[0]);
      assert.equal(padSum, 0);
      const logits = tf.tidy(() => tensor.mul(2).sub(1)) as tf.Tensor2D; // [S, S]
      const back = await postprocessToMask(logits, info);
      assert.deepEqual([back.width, back.height], [w, h]);
      const iou = maskIoU(back, mask);
      assert.ok(iou > 0.97, `S=${size}: IoU ${iou}`);
      // At the mask-logit grid (S/2) the loss of resolution is still small.
      const half = tf.tidy(() => tf.image.resizeBilinear(logits.expandDims(2) as tf.Tensor3D, [size / 2, size / 2], false, true).squeeze([2])) as tf.Tensor2D;
      const iouHalf = maskIoU(await postprocessToMask(half, info), mask);
      assert.ok(iouHalf > 0.95, `S=${size}, grid ${size / 2}: IoU ${iouHalf}`);
      // Kept soft (no threshold at S), the round trip is nearly exact: the loss above is quantisation.
      const soft = preprocessMask(mask, size, { soft: true }).tensor;
      const softLogits = tf.tidy(() => soft.mul(2).sub(1)) as tf.Tensor2D;
      const iouSoft = maskIoU(await postprocessToMask(softLogits, info), mask);
      assert.ok(iouSoft > 0.99, `S=${size} soft: IoU ${iouSoft}`);
      tf.dispose([tensor, logits, half, soft, softLogits]);
    }
  });

  test(`image round trip ${h}x${w}: small mean absolute error, zero padding`, async () => {
    const img = smoothImage(h, w);
    const { tensor, info } = preprocessImage(img, 128);
    assert.deepEqual(tensor.shape, [128, 128, 3]);
    assert.deepEqual([info.origH, info.origW], [h, w]);
    const { padAbs, mae, range } = tf.tidy(() => {
      const valid = tensor.slice([0, 0, 0], [info.validH, info.validW, 3]); // [validH, validW, 3]
      const repadded = valid.pad([[0, 128 - info.validH], [0, 128 - info.validW], [0, 0]]);
      const padAbs = tensor.sub(repadded).abs().sum().dataSync()[0];
      // Invert per channel with the logits path (it is just bilinear resizing).
      const chans = tf.unstack(tensor, 2) as tf.Tensor2D[]; // 3 x [S, S]
      const back = tf.stack(chans.map((c) => postprocessLogits(c, info)), 2); // [H, W, 3]
      const orig = imageToTensor(img);
      const mae = back.sub(orig).abs().mean().dataSync()[0];
      const range = [tensor.min().dataSync()[0], tensor.max().dataSync()[0]];
      return { padAbs, mae, range };
    });
    assert.equal(padAbs, 0);
    assert.ok(mae < 0.01, `MAE ${mae}`);
    assert.ok(range[0] >= 0 && range[1] <= 1);
    tensor.dispose();
  });
}

test('normalisation happens before padding, so padding stays exactly 0', () => {
  const img = smoothImage(40, 20);
  const { tensor, info } = preprocessImage(img, 32, { normalize: { mean: SAM_PIXEL_MEAN, std: SAM_PIXEL_STD } });
  const a = tensor.arraySync();
  assert.deepEqual([info.validH, info.validW], [32, 16]);
  for (let y = 0; y < 32; y++) for (let x = 16; x < 32; x++) assert.deepEqual(a[y][x], [0, 0, 0]);
  assert.ok(a[0][0][0] < 0); // normalised black is negative
  tensor.dispose();
});

test('preprocessImages batches images of different sizes; tensor inputs work', () => {
  const imgs = [smoothImage(20, 40), smoothImage(30, 10)];
  const t0 = imageToTensor(imgs[1]);
  const { tensor, infos } = preprocessImages([imgs[0], t0], 16);
  assert.deepEqual(tensor.shape, [2, 16, 16, 3]);
  assert.deepEqual(infos.map((i) => [i.validH, i.validW]), [[8, 16], [16, 5]]);
  const single = preprocessImage(imgs[1], 16).tensor;
  const diff = tf.tidy(() => tensor.slice([1, 0, 0, 0], [1, 16, 16, 3]).squeeze([0]).sub(single).abs().max().dataSync()[0]);
  assert.equal(diff, 0);
  assert.throws(() => preprocessImage(tf.zeros([4, 4, 1]) as tf.Tensor3D, 8), /expected a \[H, W, 3\] tensor/);
  tf.dispose([tensor, single, t0]);
});

test('soft mask preprocessing stays in [0, 1]', () => {
  const { tensor } = preprocessMask(blobMask(200, 70), 16, { soft: true });
  const v = tensor.dataSync();
  assert.ok(v.some((x) => x > 0 && x < 1));
  assert.ok(v.every((x) => x >= 0 && x <= 1));
  tensor.dispose();
});

test('postprocessLogits is SAM postprocess_masks: upsample to S, crop, resize to original', () => {
  const info = computePreprocessInfo(6, 3, 4); // valid 4 x 2 inside 4 x 4
  // Logits at S already: postprocess = crop [4, 2] then bilinear to [6, 3].
  const logits = tf.tensor2d([[1, 2, 9, 9], [3, 4, 9, 9], [5, 6, 9, 9], [7, 8, 9, 9]]);
  const out = postprocessLogits(logits, info);
  const expect = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d([[[1], [2]], [[3], [4]], [[5], [6]], [[7], [8]]]), [6, 3], false, true).squeeze([2]));
  assert.deepEqual(out.shape, [6, 3]);
  const d = tf.tidy(() => out.sub(expect).abs().max().dataSync()[0]);
  assert.ok(d < 1e-6);
  assert.ok(out.dataSync().every((v) => v < 9)); // nothing of the padding leaks in
  assert.throws(() => postprocessLogits(tf.zeros([1, 4, 4]) as unknown as tf.Tensor2D, info), /expected logits \[r, r\]/);
  tf.dispose([logits, out, expect]);
});

test('sharp resizePadImage: same geometry, black padding, close to the tensor path', async () => {
  const img = smoothImage(96, 160);
  const { image, info } = await resizePadImage(img, 128);
  assert.deepEqual([image.width, image.height, info.validH, info.validW], [128, 128, 77, 128]);
  for (let y = 77; y < 128; y++) for (let x = 0; x < 128; x++) assert.equal(image.data[(y * 128 + x) * 3], 0);
  const { tensor } = preprocessImage(img, 128);
  const mae = tf.tidy(() => imageToTensor(image).sub(tensor).abs().mean().dataSync()[0]);
  assert.ok(mae < 0.02, `MAE ${mae}`);
  tensor.dispose();
});

test('preprocess and postprocess do not leak', async () => {
  const img = smoothImage(50, 30);
  const mask = blobMask(50, 30);
  const logits = tf.randomNormal([16, 16]) as tf.Tensor2D;
  const run = async (): Promise<void> => {
    const a = preprocessImage(img, 32, { normalize: { mean: SAM_PIXEL_MEAN, std: SAM_PIXEL_STD } });
    const b = preprocessMask(mask, 32);
    const c = preprocessMask(mask, 32, { soft: true });
    const d = preprocessImages([img, img], 32);
    const e = validRegionMask(a.info, 16);
    const f = postprocessLogits(logits, a.info);
    await postprocessToMask(logits, a.info);
    tf.dispose([a.tensor, b.tensor, c.tensor, d.tensor, e, f]);
  };
  await run();
  const before = tf.memory().numTensors;
  await run();
  assert.equal(tf.memory().numTensors, before);
  logits.dispose();
});
