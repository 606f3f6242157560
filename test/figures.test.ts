/** The analysis figures' data builders (Fig. 3, 4, Table 3, sample selection, failure traits) on inputs with known answers. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'os';
import * as path from 'path';
import { correlationPanel, trainingBatches, trainingPanel, inferencePanel, consistencyPanels, readRunLog, panelSummary } from '../src/analysis/correlation';
import { correlationFigure, panelCaption } from '../src/analysis/correlation-figure';
import { consistencyBins, binsIncrease, dimensionCorrelations, byConclusion } from '../src/analysis/consistency';
import { selectBest, selectFailures, selectSpread } from '../src/analysis/select';
import { sampleTraits, compareTraits } from '../src/analysis/failure-traits';
import { toCsv } from '../src/analysis/csv';
import { correlationVerdicts, failureVerdicts } from '../src/analysis/verdicts';
import { parseSplitName } from '../src/analysis/analysis-rows';
import { linspace } from '../src/analysis/ols';
import { loadSplit } from '../src/data/shapeworld/index';
import { PACKAGE_ROOT } from '../src/util/paths';
import { assertNear } from './helpers/compare';

const opts = { xLabel: 'x', yLabel: 'y' };

test('a panel of points on a line: R = 1, the slope and intercept, the line above y = x', () => {
  const x = linspace(0, 1, 11);
  const p = correlationPanel('line', x.map((v) => ({ x: v, y: 0.5 * v + 0.6 })), opts);
  assert.ok(p.fit);
  assertNear(p.r!, 1, 1e-12);
  assertNear(p.fit.slope, 0.5, 1e-12);
  assertNear(p.fit.intercept, 0.6, 1e-12);
  assert.equal(p.n, 11);
  assert.equal(p.eta, 10);
  assert.equal(p.aboveDiagonal, 1, 'y = 0.5x + 0.6 > x on [0, 1)… and at x = 1 (1.1 > 1)');
  assert.equal(p.lineAboveDiagonal, true);
  // the same line crossing y = x inside the range: not above everywhere
  const q = correlationPanel('cross', linspace(0, 2, 5).map((v) => ({ x: v, y: 0.5 * v + 0.6 })), opts);
  assert.equal(q.lineAboveDiagonal, false);
  assert.equal(q.aboveDiagonal, 3 / 5, 'x = 0, 0.5, 1 are above; 1.5 and 2 are not');
  // a perfect negative relation
  assertNear(correlationPanel('neg', x.map((v) => ({ x: v, y: 1 - v })), opts).r!, -1, 1e-12);
});

test('the band at x̄ is η·σ̂/√n, and at the ends σ̂·η·sqrt(1/n + (x − x̄)²/Sxx)', () => {
  // x = 1..4, y = 2, 3, 5, 4: σ̂ = sqrt(0.9), x̄ = 2.5, Sxx = 5 (test/analysis.test.ts works them out)
  const pts = [1, 2, 3, 4].map((x, i) => ({ x, y: [2, 3, 5, 4][i] }));
  const p = correlationPanel('hand', pts, { ...opts, bandPoints: 3 });
  assert.deepEqual(p.band!.x, [1, 2.5, 4]);
  assertNear(p.band!.upper[1] - p.band!.y[1], (10 * Math.sqrt(0.9)) / Math.sqrt(4), 1e-12);
  assertNear(p.band!.y[1] - p.band!.lower[1], (10 * Math.sqrt(0.9)) / 2, 1e-12);
  assertNear(p.band!.upper[2] - p.band!.y[2], 10 * Math.sqrt(0.9) * Math.sqrt(1 / 4 + 2.25 / 5), 1e-12);
  const p3 = correlationPanel('η = 3', pts, { ...opts, bandPoints: 3, eta: 3 });
  assertNear(p3.band!.upper[1] - p3.band!.y[1], (3 * Math.sqrt(0.9)) / 2, 1e-12);
});

test('no fit when x is constant or there are fewer than 3 points; non-finite points dropped', () => {
  const flat = correlationPanel('flat', [0, 0.2, 0.5, 0.7].map((y) => ({ x: 0, y })), opts);
  assert.equal(flat.fit, null);
  assert.equal(flat.r, null);
  assert.match(flat.note!, /every x equals 0/);
  assert.match(panelCaption(flat), /no fit/);
  assert.match(correlationPanel('two', [{ x: 0, y: 0 }, { x: 1, y: 1 }], opts).note!, /at least 3/);
  assert.equal(correlationPanel('nan', [{ x: 0, y: 0 }, { x: NaN, y: 1 }, { x: 1, y: 1 }, { x: 2, y: 3 }], opts).n, 3);
  const s = panelSummary(flat);
  assert.equal(s.r, null);
  assert.equal(s.share_above_y_eq_x, 0.75);
});

test('training batches from log records: train events with both axes, last record per step, warm-up flagged', () => {
  const recs = [
    { event: 'start' },
    { event: 'train', step: 5, one_minus_bce: 0.8, one_minus_dice: 0.3, warmup: true },
    { event: 'train', step: 10, one_minus_bce: 0.9, one_minus_dice: null },
    { event: 'heldout', step: 10, gIoU: 0.2 },
    { event: 'train', step: 15, one_minus_bce: 0.85, one_minus_dice: 0.35 },
    { event: 'train', step: 15, one_minus_bce: 0.86, one_minus_dice: 0.36 },
  ];
  const b = trainingBatches(recs);
  assert.deepEqual(b, [{ step: 5, oneMinusBce: 0.8, oneMinusDice: 0.3, warmup: true }, { step: 15, oneMinusBce: 0.86, oneMinusDice: 0.36, warmup: false }]);
  const p = trainingPanel('t', b);
  assert.deepEqual(p.points.map((q) => q.group), ['SEG warm-up batch', 'GRPO + SEG batch']);
  assert.equal(p.fit, null, 'two batches: no fit');
});

test('the shipped coprs-small log gives its 18 logged batches (steps 5…90, the first 6 warm-up)', () => {
  const b = trainingBatches(readRunLog(path.join(PACKAGE_ROOT, 'data', 'checkpoints', 'coprs-small')));
  assert.equal(b.length, 18);
  assert.deepEqual(b.map((x) => x.step), Array.from({ length: 18 }, (_, i) => 5 * (i + 1)));
  assert.equal(b.filter((x) => x.warmup).length, 6);
  assert.throws(() => readRunLog(path.join(os.tmpdir(), 'no-such-run-dir')), /no training log/);
});

test('inference and consistency panels read the right fields; Fig. 4 has no y = x', () => {
  const rows = [0.1, 0.3, 0.5, 0.9].map((v, i) => ({ id: `s${i}`, priorIoU: v, maskIoU: v + 0.1, judge: v }));
  const inf = inferencePanel('inf', rows);
  assertNear(inf.fit!.slope, 1, 1e-12);
  assertNear(inf.fit!.intercept, 0.1, 1e-12);
  assert.equal(inf.diagonal, true);
  const [h, m] = consistencyPanels('c', rows);
  assert.equal(h.diagonal, false);
  assertNear(h.r!, 1, 1e-12);
  assertNear(m.fit!.intercept, 0.1, 1e-12);
  assert.equal(h.points[2].label, 's2');
});

test('the Plotly spec: one x/y axis pair per panel, band + line + y = x + points, R in the annotation', () => {
  const x = linspace(0, 1, 5);
  const a = correlationPanel('A', x.map((v) => ({ x: v, y: v * 0.5 + 0.2 + (v === 0.5 ? 0.05 : 0) })), opts);
  const b = correlationPanel('B', x.map((v) => ({ x: v, y: 0.3, group: v > 0.5 ? 'late' : 'early' })), { ...opts, diagonal: false });
  const fig = correlationFigure([a, b], { range: [0, 1] });
  const layout = fig.layout as Record<string, unknown>;
  assert.ok(layout.xaxis && layout.yaxis && layout.xaxis2 && layout.yaxis2);
  assert.equal(layout.xaxis3, undefined);
  // A: 3 band/line traces, y = x, one marker trace; B: 3 band/line traces, two groups, no y = x
  assert.equal(fig.data.filter((t) => t.xaxis === 'x').length, 5);
  assert.equal(fig.data.filter((t) => t.xaxis === 'x2').length, 5);
  assert.equal(fig.data.filter((t) => t.name === 'y = x').length, 1);
  const ann = layout.annotations as { text: string }[];
  assert.match(ann[0].text, /R = 0\.\d\d · slope 0\.\d\d · n = 5/);
  assert.throws(() => correlationFigure([]), /no panels/);
});

test('Table 3 bins: the paper\'s four ranges, counts, means, the last bin closed; monotonicity', () => {
  const rows = [
    { judge: 0.1, priorIoU: 0.1, maskIoU: 0.4 },
    { judge: 0.3, priorIoU: 0.3, maskIoU: 0.5 },
    { judge: 0.4, priorIoU: 0.5, maskIoU: 0.7 },
    { judge: 0.75, priorIoU: 0.8, maskIoU: 0.9 },
    { judge: 1.0, priorIoU: 0.6, maskIoU: 1.0 },
  ];
  const bins = consistencyBins(rows);
  assert.deepEqual(bins.map((b) => b.range), ['[0, 0.25)', '[0.25, 0.5)', '[0.5, 0.75)', '[0.75, 1.0]']);
  assert.deepEqual(bins.map((b) => b.samples), [1, 2, 0, 2]);
  assertNear(bins[1].heatmapMIoU, 0.4, 1e-12);
  assertNear(bins[1].maskMIoU, 0.6, 1e-12);
  assert.ok(Number.isNaN(bins[2].maskMIoU));
  assertNear(bins[3].heatmapMIoU, 0.7, 1e-12);
  assert.equal(binsIncrease(bins, 'maskMIoU'), true, 'empty bins are skipped');
  assert.equal(binsIncrease(bins, 'heatmapMIoU'), true);
  const down = consistencyBins([{ judge: 0.1, priorIoU: 0.9, maskIoU: 0.9 }, { judge: 0.9, priorIoU: 0.1, maskIoU: 0.1 }]);
  assert.equal(binsIncrease(down, 'maskMIoU'), false);
  const dims = dimensionCorrelations(rows.map((r) => ({ ...r, logical: r.judge, relevance: 1 - r.judge, visual: r.judge, localization: 0 })));
  assert.deepEqual(dims.map((d) => d.dimension), ['logical', 'relevance', 'visual', 'localization', 'total']);
  assertNear(dims[0].rMask, -dims[1].rMask, 1e-12);
  assert.equal(dims[3].rMask, 0, 'a constant dimension has R 0');
});

test('sample selection: best, failures (lowest mask IoU, ties by prior IoU then id), spread over ranks', () => {
  const rows = [
    { id: 'a', priorIoU: 0.2, maskIoU: 0.5 },
    { id: 'b', priorIoU: 0.1, maskIoU: 0.0 },
    { id: 'c', priorIoU: 0.0, maskIoU: 0.0 },
    { id: 'd', priorIoU: 0.0, maskIoU: 0.0 },
    { id: 'e', priorIoU: 0.9, maskIoU: 0.9 },
    { id: 'f', priorIoU: 0.3, maskIoU: 0.7 },
  ];
  assert.deepEqual(selectFailures(rows, 3).map((r) => r.id), ['c', 'd', 'b']);
  assert.deepEqual(selectBest(rows, 2).map((r) => r.id), ['e', 'f']);
  assert.deepEqual(selectSpread(rows, 3).map((r) => r.id), ['c', 'a', 'e'], 'ranks 0, 2.5 → 3 (round), 5');
  assert.deepEqual(selectSpread(rows, 10).length, 6);
  assert.deepEqual(selectSpread(rows, 0), []);
  assert.deepEqual(selectFailures(rows, 0), []);
  assert.equal(rows[0].id, 'a', 'the input is not reordered');
});

test('failure traits on a known scene (refshapes/val/000001: the small green triangle)', async () => {
  const [, s] = await loadSplit('refshapes', 'val', { limit: 2 });
  const t = sampleTraits(s);
  assert.equal(t.objects, 6);
  assert.equal(t.sameShape, 0);
  assert.equal(t.sameColor, 1, 'the large green circle');
  assert.equal(t.sameShapeAndColor, 0);
  const area = s.mask.data.reduce((a, v) => a + v, 0) / s.mask.data.length;
  assertNear(t.targetArea, area, 1e-9, 'the visible area is the ground-truth mask');
  const cmp = compareTraits([t], [t, { ...t, objects: 2, targetArea: 0 }]);
  assert.equal(cmp.find((c) => c.trait === 'objects')!.all, 4);
  assert.equal(cmp.find((c) => c.trait === 'objects')!.failures, 6);
});

test('CSV: header from the keys, quoting, empty for null and NaN; split names', () => {
  assert.equal(toCsv([{ a: 1, b: 'x,y' }, { a: NaN, b: 'say "hi"', c: null }]), 'a,b,c\n1,"x,y",\n,"say ""hi""",\n');
  assert.deepEqual(parseSplitName('reasonshapes/test'), { dataset: 'reasonshapes', split: 'test' });
  assert.throws(() => parseSplitName('testA'), /expected dataset\/split/);
});

test('mean IoUs by the conclusion\'s correctness: right, ambiguous, wrong', () => {
  const g = byConclusion([
    { judge: 0, logical: 1, priorIoU: 0.5, maskIoU: 0.8 },
    { judge: 0, logical: 1, priorIoU: 0.3, maskIoU: 0.6 },
    { judge: 0, logical: 0, priorIoU: 0.1, maskIoU: 0.2 },
  ]);
  assert.deepEqual(g.map((x) => [x.conclusion, x.samples]), [['right target', 2], ['ambiguous', 0], ['wrong target or none', 1]]);
  assertNear(g[0].maskMIoU, 0.7, 1e-12);
  assertNear(g[0].heatmapMIoU, 0.4, 1e-12);
  assert.ok(Number.isNaN(g[1].maskMIoU));
});

test('verdicts are computed from the numbers: R > 0.7, above y = x, positive consistency R, increasing bins', () => {
  const x = linspace(0, 0.5, 6);
  const strong = correlationPanel('(b) inference · a/b', x.map((v) => ({ x: v, y: v + 0.3 + (v === 0.2 ? 0.01 : 0) })), opts);
  const none = correlationPanel('(a) training batches', [0, 0, 0].map((v) => ({ x: v, y: 1 })), opts);
  const v = correlationVerdicts(none, [strong]);
  assert.deepEqual(v.map((r) => r.reproduces), ['n/a', 'yes', 'yes']);
  assert.match(v[1].finding, /\(a\/b\)/);
  const weak = correlationPanel('(c) inference · c/d', [0, 0.1, 0.2, 0.3].map((q, i) => ({ x: q, y: [0.5, 0.1, 0.6, 0.2][i] })), opts);
  assert.equal(correlationVerdicts(none, [weak])[1].reproduces, weak.r! > 0 ? 'partly (positive, weaker)' : 'no');
  const traits = [
    { trait: 'targetArea' as const, failures: 0.01, all: 0.02 }, { trait: 'objects' as const, failures: 5, all: 4 },
    { trait: 'sameShape' as const, failures: 1, all: 0.5 }, { trait: 'sameColor' as const, failures: 0.2, all: 0.5 }, { trait: 'sameShapeAndColor' as const, failures: 0, all: 0 },
  ];
  assert.deepEqual(failureVerdicts('s', traits, 4, 40).map((r) => r.reproduces), ['yes', 'partly']);
});
