/** Exact Euclidean distance transform (Felzenszwalb-Huttenlocher) against brute force and by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distanceTransform, maxDistancePoint, squaredDistanceToSites } from '../src/data/distance-transform';
import type { BinaryMask } from '../src/data/sample';
import { Rng } from '../src/util/rng';

/** Mask from rows of '0'/'1' characters. */
function m(...rows: string[]): BinaryMask {
  return { width: rows[0].length, height: rows.length, data: Uint8Array.from(rows.join(''), (c) => (c === '1' ? 1 : 0)) };
}

/** Brute force: distance of each foreground pixel to the nearest background pixel, outside = background. */
function bruteForce(mask: BinaryMask, border: boolean): Float32Array {
  const { width: W, height: H, data } = mask;
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (data[y * W + x] === 0) continue;
      let best = Infinity;
      const lo = border ? -1 : 0;
      for (let yy = lo; yy < H - lo; yy++) {
        for (let xx = lo; xx < W - lo; xx++) {
          const outside = xx < 0 || yy < 0 || xx >= W || yy >= H;
          if (outside || data[yy * W + xx] === 0) best = Math.min(best, Math.hypot(xx - x, yy - y));
        }
      }
      out[y * W + x] = best;
    }
  }
  return out;
}

test('by hand: a 5x5 square has depth 3 at its center, 1 on its rim (the border counts as background)', () => {
  const dt = distanceTransform(m('11111', '11111', '11111', '11111', '11111'));
  assert.equal(dt[2 * 5 + 2], 3);
  assert.equal(dt[0], 1);
  assert.equal(dt[1 * 5 + 1], 2);
  assert.deepEqual(maxDistancePoint(m('11111', '11111', '11111', '11111', '11111')), { x: 2, y: 2, distance: 3 });
});

test('by hand: distances are Euclidean, not city-block', () => {
  // The only background pixel is the corner (0, 0); without the border, (2, 2) is sqrt(8) away.
  const dt = distanceTransform(m('011', '111', '111'), { borderIsBackground: false });
  assert.ok(Math.abs(dt[2 * 3 + 2] - Math.sqrt(8)) < 1e-6);
  assert.equal(dt[0], 0);
  assert.equal(dt[1], 1);
});

test('matches brute force on random masks, with and without the border as background', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 20; trial++) {
    const W = rng.int(1, 17);
    const H = rng.int(1, 17);
    const p = rng.uniform(0.3, 0.95);
    const mask: BinaryMask = { width: W, height: H, data: Uint8Array.from({ length: W * H }, () => (rng.bool(p) ? 1 : 0)) };
    for (const border of [true, false]) {
      const got = distanceTransform(mask, { borderIsBackground: border });
      const want = bruteForce(mask, border);
      for (let i = 0; i < got.length; i++) {
        if (want[i] === Infinity) assert.equal(got[i], Infinity);
        else assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `trial ${trial} ${W}x${H} border ${border} at ${i}: ${got[i]} vs ${want[i]}`);
      }
    }
  }
});

test('maxDistancePoint: the deepest pixel, first in row-major order on ties; null for an empty mask', () => {
  // A 2-wide bar: every pixel has depth 1; the first is (1, 1).
  assert.deepEqual(maxDistancePoint(m('0000', '0110', '0110', '0000')), { x: 1, y: 1, distance: 1 });
  // An L shape: the interior of the thick part wins.
  const p = maxDistancePoint(m('1110000', '1110000', '1111111', '0000000'));
  assert.deepEqual(p, { x: 1, y: 1, distance: 2 });
  assert.equal(maxDistancePoint(m('000', '000')), null);
});

test('no background and no border: infinite distances; bad sizes are clear errors', () => {
  assert.deepEqual([...distanceTransform(m('11', '11'), { borderIsBackground: false })], [Infinity, Infinity, Infinity, Infinity]);
  assert.throws(() => distanceTransform({ width: 3, height: 3, data: new Uint8Array(4) }), /4 values, expected 3x3 = 9/);
  assert.throws(() => squaredDistanceToSites(0, 3, () => true), /positive integer width and height/);
});
