/** Polygon rasterisation: pixel-centre sampling, even-odd fill, union, clipping, clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Point, flatToPoints, rasterizePolygon, rasterizePolygons } from '../src/data/polygon';
import { BinaryMask } from '../src/data/sample';

function rows(mask: BinaryMask): string[] {
  const out: string[] = [];
  for (let y = 0; y < mask.height; y++) out.push([...mask.data.subarray(y * mask.width, (y + 1) * mask.width)].join(''));
  return out;
}
const area = (mask: BinaryMask): number => mask.data.reduce((s, v) => s + v, 0);

test('the square (0,0)-(2,2) fills exactly pixels x, y in {0, 1}', () => {
  const mask = rasterizePolygon([[0, 0], [2, 0], [2, 2], [0, 2]], 4, 3);
  assert.deepEqual(rows(mask), ['1100', '1100', '0000']);
});

test('matches pycocotools on an axis-aligned rectangle', () => {
  // pycocotools frPyObjects([[1,1, 6,1, 6,5, 1,5]], 7, 9) -> rows 1..4, columns 1..5 (area 20).
  const mask = rasterizePolygon(flatToPoints([1, 1, 6, 1, 6, 5, 1, 5]), 9, 7);
  assert.deepEqual(rows(mask), ['000000000', '011111000', '011111000', '011111000', '011111000', '000000000', '000000000']);
  assert.equal(area(mask), 20);
});

test('triangle: centres strictly left of the hypotenuse (top-left rule on edges)', () => {
  // Triangle (0,0), (4,0), (0,4): centre (x+.5, y+.5) inside iff x + y + 1 < 4, i.e. x + y <= 2;
  // centres exactly on the hypotenuse (x + y = 3) belong to the pixel on its right, which is outside.
  const mask = rasterizePolygon([[0, 0], [4, 0], [0, 4]], 4, 4);
  assert.deepEqual(rows(mask), ['1110', '1100', '1000', '0000']);
  // Orientation does not matter.
  assert.deepEqual(rasterizePolygon([[0, 4], [4, 0], [0, 0]], 4, 4).data, mask.data);
});

test('even-odd: the centre of a pentagram is empty, its tips are filled', () => {
  const pts: Point[] = [];
  for (let k = 0; k < 5; k++) {
    const a = ((-90 + k * 144) * Math.PI) / 180;
    pts.push([10.5 + 10 * Math.cos(a), 10.5 + 10 * Math.sin(a)]);
  }
  const mask = rasterizePolygon(pts, 21, 21);
  assert.equal(mask.data[10 * 21 + 10], 0); // centre pixel, winding number 2
  assert.equal(mask.data[2 * 21 + 10], 1); // near the top tip
});

test('union of polygons; points outside the image are clipped', () => {
  const mask = rasterizePolygons(
    [
      { points: [[-2, -2], [2, -2], [2, 2], [-2, 2]], label: 'corner' }, // clipped to 2 x 2
      [[1, 1], [3, 1], [3, 3], [1, 3]], // overlaps one pixel of the first
      { points: [[3, 3], [100, 3], [100, 100], [3, 100]] }, // clipped to the bottom-right pixel
    ],
    4,
    4,
  );
  assert.deepEqual(rows(mask), ['1100', '1110', '0110', '0001']);
  const outside = rasterizePolygon([[10, 10], [12, 10], [12, 12]], 4, 4);
  assert.equal(area(outside), 0);
});

test('errors name the polygon index and label', () => {
  assert.throws(() => rasterizePolygons([], 4, 4), /polygon list is empty/);
  assert.throws(
    () => rasterizePolygons([[[0, 0], [1, 0], [1, 1]], { points: [[0, 0], [1, 1]], label: 'cup' }], 4, 4),
    /polygon 1 \("cup"\): needs at least 3 points, got 2/,
  );
  assert.throws(() => rasterizePolygon([[0, 0], [1, NaN], [1, 1]], 4, 4), /polygon 0: point 1 must be \[x, y\] with finite numbers/);
  assert.throws(() => rasterizePolygon([[0, 0], [1, 0], [1, 1]], 0, 4), /size must be positive integers/);
  assert.throws(() => flatToPoints([1, 2, 3]), /even length, got 3/);
});
