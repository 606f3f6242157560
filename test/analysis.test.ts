/** OLS, the η = 10 mean confidence band, Pearson R and binning on data with known answers. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { olsFit, confidenceBand, meanStandardError, pearson, binBy, linspace } from '../src/analysis/ols';
import { assertNear } from './helpers/compare';

test('OLS by hand: x = 1..4, y = 2, 3, 5, 4', () => {
  // x̄ 2.5, ȳ 3.5, Sxx 5, Sxy 4, Syy 5 → b 0.8, a 1.5; residuals −0.3, −0.1, 1.1, −0.7 → SSE 1.8, σ̂ = sqrt(0.9); R = 0.8
  const f = olsFit([1, 2, 3, 4], [2, 3, 5, 4]);
  assertNear(f.slope, 0.8, 1e-12);
  assertNear(f.intercept, 1.5, 1e-12);
  assertNear(f.sigma, Math.sqrt(0.9), 1e-12);
  assertNear(f.r, 0.8, 1e-12);
  assertNear(f.r2, 0.64, 1e-12);
  // s.e. at x̄: σ̂ / sqrt(n) = 0.474342; at x = 4: σ̂ sqrt(1/4 + 2.25/5) = σ̂ sqrt(0.7)
  assertNear(meanStandardError(f, 2.5), Math.sqrt(0.9) / 2, 1e-12);
  const band = confidenceBand(f, [2.5, 4]);
  assertNear(band.y[0], 3.5, 1e-12);
  assertNear(band.upper[0] - band.y[0], 10 * Math.sqrt(0.9) / 2, 1e-9, 'η = 10');
  assertNear(band.y[1] - band.lower[1], 10 * Math.sqrt(0.9) * Math.sqrt(0.7), 1e-9);
});

test('OLS on an exact line: slope, intercept, zero residual, R = 1; errors for bad input', () => {
  const x = linspace(0, 1, 11);
  const f = olsFit(x, x.map((v) => 2 * v + 1));
  assertNear(f.slope, 2, 1e-12);
  assertNear(f.intercept, 1, 1e-12);
  assertNear(f.sigma, 0, 1e-7);
  assertNear(f.r, 1, 1e-12);
  assertNear(pearson([1, 2, 3], [3, 2, 1]), -1, 1e-12);
  assert.throws(() => olsFit([1, 1, 1], [1, 2, 3]), /all x values are equal/);
  assert.throws(() => olsFit([1, 2], [1, 2]), /at least 3 points/);
  assert.throws(() => olsFit([1, 2, NaN], [1, 2, 3]), /point 2 is not finite/);
});

test('binning: counts and means per bin, the last bin closed, empty bins NaN', () => {
  const score = [0.1, 0.3, 0.35, 0.6, 1.0, 0.9];
  const iou = [0.2, 0.4, 0.6, 0.5, 0.9, 0.7];
  const bins = binBy(score, { iou }, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(bins.map((b) => b.count), [1, 2, 1, 2]);
  assertNear(bins[1].means.iou, 0.5, 1e-12);
  assertNear(bins[3].means.iou, 0.8, 1e-12);
  const empty = binBy([0.1], { iou: [1] }, [0, 0.5, 1]);
  assert.ok(Number.isNaN(empty[1].means.iou));
  assert.throws(() => binBy([1], { a: [1, 2] }, [0, 1]), /series "a" has 2 values/);
});
