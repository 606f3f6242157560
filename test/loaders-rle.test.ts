/** COCO RLE: compressed strings (checked against pycocotools output) and uncompressed counts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRleString, encodeRleString, maskToRle, rleToMask } from '../src/data/loaders/coco-rle';
import { BinaryMask } from '../src/data/sample';

function rows(mask: BinaryMask): string[] {
  const out: string[] = [];
  for (let y = 0; y < mask.height; y++) out.push([...mask.data.subarray(y * mask.width, (y + 1) * mask.width)].join(''));
  return out;
}

// pycocotools.mask.encode of this 7 x 9 mask gives counts b'6160K30M030M030M030M5001OO'.
const ROWS_7x9 = ['000000001', '001111000', '001111000', '001111000', '001111000', '000000000', '111111111'];
const STR_7x9 = '6160K30M030M030M030M5001OO';

test('decodes a pycocotools compressed RLE (column-major runs)', () => {
  const mask = rleToMask({ size: [7, 9], counts: STR_7x9 });
  assert.deepEqual([mask.height, mask.width], [7, 9]);
  assert.deepEqual(rows(mask), ROWS_7x9);
});

test('encodes back to the same string (maskToRle + encodeRleString)', () => {
  const mask = rleToMask({ size: [7, 9], counts: STR_7x9 });
  const rle = maskToRle(mask);
  assert.deepEqual(rle.size, [7, 9]);
  assert.equal(encodeRleString(rle.counts), STR_7x9);
  assert.deepEqual(decodeRleString(STR_7x9), rle.counts);
});

test('hand-worked encodings: deltas from the count two back, negatives, multi-character numbers', () => {
  // [1, 5, 3, 1]: the 4th count is stored as 1 - 5 = -4 -> 5 bits 11100 with the sign bit -> 'L'.
  assert.equal(encodeRleString([1, 5, 3, 1]), '153L');
  assert.deepEqual(decodeRleString('153L'), [1, 5, 3, 1]);
  // 100 = 0b11_00100: low chunk 4 with the "more" bit (36 -> 'T'), then 3 -> '3'.
  assert.equal(encodeRleString([100]), 'T3');
  assert.deepEqual(decodeRleString('T3'), [100]);
});

test('a larger pycocotools string (40 x 50, area 1281) round-trips', () => {
  // np.zeros((40, 50)); m[3:37, 5:45] = 1; m[10:12, :] = 0; m[0, 0] = 1; pycocotools.mask.encode(m).
  const s = '01Z66hIb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb04^OLb0Y6';
  const mask = rleToMask({ size: [40, 50], counts: s });
  assert.equal(mask.data.reduce((a, v) => a + v, 0), 1281);
  assert.equal(mask.data[0], 1); // pixel (0, 0) is set
  assert.equal(encodeRleString(maskToRle(mask).counts), s);
});

test('uncompressed counts', () => {
  const mask = rleToMask({ size: [6, 5], counts: [7, 4, 2, 4, 13] });
  // Column 0: 6 zeros; column 1 starts with 1 zero then 4 ones (rows 1..4), 1 zero; column 2 same.
  assert.deepEqual(rows(mask), ['00000', '01100', '01100', '01100', '01100', '00000']);
  assert.deepEqual(maskToRle(mask).counts, [7, 4, 2, 4, 13]);
});

test('errors say what is wrong', () => {
  assert.throws(() => rleToMask({ size: [2, 2], counts: [1, 2] }, 'ann 5'), /ann 5: counts sum to 3, expected 2x2 = 4/);
  assert.throws(() => rleToMask({ size: [2, 2], counts: [1, 9] }), /sum past/);
  assert.throws(() => rleToMask({ size: [2, 2], counts: [1, -1, 4] }), /counts\[1\] must be a non-negative integer/);
  assert.throws(() => rleToMask({ size: [0, 2], counts: [] }), /"size" must be \[height, width\]/);
  assert.throws(() => decodeRleString('3~'), /invalid character/);
  assert.throws(() => decodeRleString('T'), /ends in the middle/);
});
