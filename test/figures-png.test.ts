/**
 * The analysis figures as files: the sample figures (sharp) and the Plotly figures (headless
 * Chromium, skipped without it) are valid PNGs of the expected size; evaluating, judging and
 * predicting with a model leaves no tensors behind; the whole `coprs figures` pipeline runs on a tiny
 * random checkpoint and writes every figure and table.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { loadSplit } from '../src/data/shapeworld/index';
import { sampleFigurePng, sampleFigureSize, priorOverlay, viewDiagnostics, type SampleView } from '../src/analysis/sample-figure';
import { shapeWorldMeta } from '../src/data/shapeworld/index';
import { correlationPanel } from '../src/analysis/correlation';
import { correlationFigure } from '../src/analysis/correlation-figure';
import { runPaperAnalysis, writePaperAnalysis, writePlotly } from '../src/analysis/paper-figures';
import { analysisRows, sampleViews } from '../src/analysis/analysis-rows';
import { chromiumAvailable, closeBrowser } from '../src/notebook/chromium';
import { saveCoprs } from '../src/models/coprs/checkpoint';
import { linspace } from '../src/analysis/ols';
import { tinyCoprs, tmpDir } from './coprs-fixtures';
import { assertNear } from './helpers/compare';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function pngSize(buf: Buffer): Promise<{ width: number; height: number }> {
  assert.deepEqual(buf.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
  const m = await sharp(buf).metadata();
  assert.equal(m.format, 'png');
  return { width: m.width!, height: m.height! };
}

test('sample figure (Fig. 5/7/8): one row per sample, a valid PNG of the computed size', async () => {
  const samples = await loadSplit('refshapes', 'val', { limit: 2 });
  const views: SampleView[] = samples.map((s, i) => ({
    sample: s, priorProb: new Float32Array(s.mask.data.length).map((_, k) => (s.mask.data[k] ? 0.3 : 0.05)), mask: s.mask,
    response: `<think>So the target is the thing number ${i}.</think> <REF_POS>`, priorIoU: 0, maskIoU: 1, judge: 0.5,
  }));
  const three = await pngSize(await sampleFigurePng(views));
  assert.deepEqual(three, sampleFigureSize(2, 128, 128));
  const four = await pngSize(await sampleFigurePng(views, { columns: ['image', 'prior', 'mask', 'gt'], title: 'failures', scale: 1 }));
  assert.deepEqual(four, sampleFigureSize(2, 128, 128, { columns: ['image', 'prior', 'mask', 'gt'], title: 'failures', scale: 1 }));
  assert.ok(four.width < three.width, 'scale 1 tiles are smaller');
  await assert.rejects(() => sampleFigurePng([]), /no samples/);
  // diagnostics: the prior peaks inside the target, the mask (= ground truth) covers the target
  const d = viewDiagnostics(views[1]);
  assert.equal(d.peakOnTarget, true);
  assert.equal(d.targetCovered, true);
  assert.equal(d.objectsCovered, 1);
  assertNear(d.priorMax, 0.3, 1e-6);
  // a prior peaking on another object, a mask covering every object
  const meta = shapeWorldMeta(samples[1]);
  const other = meta.scene.objects.find((o) => !meta.targetIds.includes(o.id))!;
  const prior = new Float32Array(128 * 128);
  prior[meta.instanceMasks[other.id].data.indexOf(1)] = 0.9;
  const all = { width: 128, height: 128, data: Uint8Array.from(meta.labelMap.data, (l) => (l > 0 ? 1 : 0)) };
  const e = viewDiagnostics({ ...views[1], priorProb: prior, mask: all });
  assert.deepEqual([e.peakOnTarget, e.peakObject, e.objectsCovered], [false, other.id, meta.scene.objects.length]);
  // the prior overlay blends the ramp over the image: a zero prior keeps 35% of the image plus the ramp's dark end
  const o = priorOverlay(samples[0].image, new Float32Array(128 * 128));
  assert.equal(o.data[0], Math.round(samples[0].image.data[0] * 0.35 + 68 * 0.65));
});

test('a Plotly correlation figure renders to a PNG of layout size × 2 through headless Chromium', { skip: !chromiumAvailable() && 'no Chromium' }, async () => {
  const x = linspace(0, 1, 8);
  const p = correlationPanel('p', x.map((v) => ({ x: v, y: 0.5 * v + 0.3 + (v > 0.5 ? 0.02 : -0.02) })), { xLabel: 'x', yLabel: 'y' });
  const fig = correlationFigure([p, p], { title: 't' });
  const file = path.join(tmpDir('figs-'), 'c.png');
  try {
    assert.equal(await writePlotly(fig, file), file);
    const size = await pngSize(fs.readFileSync(file));
    const layout = fig.layout as { width: number; height: number };
    assert.deepEqual(size, { width: layout.width * 2, height: layout.height * 2 });
  } finally {
    await closeBrowser();
  }
});

test('evaluating + judging rows and predicting sample views leave no tensors; rows are cached by weight hash', async () => {
  const m = tinyCoprs(5);
  const cacheDir = tmpDir('rows-');
  try {
    const run = async () => {
      const [r] = await analysisRows(m, ['refshapes/testA'], { limit: 2, maxTokens: 4, cacheDir, weightsSha256: 'abc123' });
      const v = sampleViews(m, r.samples.map((sample) => ({ sample })), { maxTokens: 4 });
      return { r, v };
    };
    const first = await run(); // warm-up (kernels, caches)
    assert.equal(first.r.cached, false);
    assert.equal(first.r.rows.length, 2);
    for (const row of first.r.rows) assert.ok(row.judge >= 0 && row.judge <= 1 && row.maskIoU >= 0 && row.maskIoU <= 1);
    assert.equal(first.v.length, 2);
    assert.equal(first.v[0].priorProb.length, 128 * 128);
    const before = tf.memory().numTensors;
    const second = await run();
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.equal(second.r.cached, true, 'the second call reads the cache');
    assert.deepEqual(second.r.rows, first.r.rows);
    assert.ok(fs.readdirSync(cacheDir).some((f) => f === 'rows-refshapes-testA-2-abc123.jsonl'));
    const fresh = await analysisRows(m, ['refshapes/testA'], { limit: 2, maxTokens: 4, cacheDir, weightsSha256: 'other' });
    assert.equal(fresh[0].cached, false, 'another weight hash is another cache entry');
    const none = tf.memory().numTensors;
    sampleViews(m, [], {});
    assert.equal(tf.memory().numTensors, none);
  } finally {
    m.dispose();
  }
});

test('the whole pipeline on a tiny random checkpoint: every figure and table written, numbers consistent', async () => {
  const root = tmpDir('paper-figs-');
  const dir = path.join(root, 'coprs');
  const m = tinyCoprs(7);
  await saveCoprs(dir, m, { sam: { kind: 'stub', embedDim: m.sam.embedDim, gridSize: m.sam.embedSize }, policy: null }, { size: 'tiny', step: 4 });
  m.dispose();
  const log = [1, 2, 3, 4].map((step) => JSON.stringify({ event: 'train', step, one_minus_bce: 0.5 + 0.1 * step, one_minus_dice: 0.2 + 0.05 * step + (step === 2 ? 0.01 : 0), warmup: step < 2 }));
  fs.writeFileSync(path.join(dir, 'log.jsonl'), `${JSON.stringify({ event: 'start' })}\n${log.join('\n')}\n`);
  const tensors = tf.memory().numTensors;
  try {
    const a = await runPaperAnalysis({ model: dir, splits: ['refshapes/testA', 'reasonshapes/test'], limit: 3, k: 2, maxTokens: 4, log: null });
    assert.equal(tf.memory().numTensors, tensors, 'the checkpoint is disposed, nothing left');
    assert.equal(a.training.batches.length, 4);
    assert.ok(a.training.panel.r! > 0.99, 'the hand-made log lies almost on a line');
    assert.equal(a.inference.length, 2);
    assert.equal(a.consistency.length, 2);
    assert.equal(a.figureSplit, 'reasonshapes/test');
    assert.equal(a.failures.length, 2);
    assert.equal(a.spread.length, 3);
    assert.deepEqual(a.consistency[0].bins.reduce((s, b) => s + b.samples, 0), 3);
    assert.equal(a.consistency[0].conclusions.reduce((s, g) => s + g.samples, 0), 3);
    assert.equal(a.diagnostics.failures.length, 2);
    const files = await writePaperAnalysis(a, { figuresDir: path.join(root, 'figures'), resultsDir: path.join(root, 'results'), command: 'test' });
    const names = files.map((f) => path.basename(f));
    for (const f of ['fig5-heatmaps.png', 'fig7-failures.png', 'fig8-heatmaps-spread.png', 'correlation.csv', 'consistency-bins.csv', 'consistency-by-conclusion.csv', 'rows.csv', 'summary.json', 'training-batches.csv', 'failure-traits.csv']) assert.ok(names.includes(f), f);
    assert.ok(names.includes(chromiumAvailable() ? 'fig3-correlation.png' : 'fig3-correlation.html'));
    const fig7 = await pngSize(fs.readFileSync(path.join(root, 'figures', 'fig7-failures.png')));
    assert.deepEqual(fig7, sampleFigureSize(2, 128, 128, { columns: ['image', 'prior', 'mask', 'gt'], title: 'x' }));
    const csv = fs.readFileSync(path.join(root, 'results', 'correlation.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + 3, 'header + training + two inference panels');
    const summary = JSON.parse(fs.readFileSync(path.join(root, 'results', 'summary.json'), 'utf8'));
    assert.equal(summary.command, 'test');
    assert.equal(summary.splits.length, 2);
    assert.equal(fs.readFileSync(path.join(root, 'results', 'rows.csv'), 'utf8').trim().split('\n').length, 1 + 6);
  } finally {
    await closeBrowser();
  }
});
