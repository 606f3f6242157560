/**
 * The paper's analysis figures (§4.3, appendix C) for one CoPRS checkpoint, in one call:
 *
 * - Fig. 3 analog: (a) training batches of the checkpoint's stage-3 run (log.jsonl), x = 1 − BCE,
 *   y = 1 − Dice; then one inference panel per evaluated split, x = prior IoU, y = mask IoU. Each
 *   with OLS, the η = 10 band, R and y = x. Only refshapes has a training panel: reasonshapes is
 *   zero-shot (stage 3 never trains on it), as ReasonSeg is in the paper.
 * - Fig. 4 + Table 3 analogs, per evaluated split: CoT-consistency score (the kit's programmatic
 *   judge) vs heatmap IoU and vs mask IoU, and the four score bins with counts and means. The paper
 *   shows one split (RefCOCO+ testA; refshapes/testA is its analog); the kit shows every split.
 * - Fig. 5 analog: the best masks of the figure split (default: reasonshapes/test, the paper's
 *   ReasonSeg test): image + query, prior, mask, chain of thought. Fig. 8 analog: samples spread
 *   over the mask-IoU quantiles (typical cases). Fig. 7 analog: the lowest mask IoUs, with the
 *   ground truth, plus the failure traits of the paper's two failure modes.
 *
 * `runPaperAnalysis` computes everything (Plotly specs and sharp PNGs included);
 * `writePaperAnalysis` writes the PNGs and the numbers (CSV, JSON).
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadCoprs } from '../models/coprs/checkpoint';
import { figurePage, figureToPng, type PlotlyFigure } from '../notebook/plotly';
import { chromiumAvailable } from '../notebook/chromium';
import { writeFileAtomic } from '../util/atomic';
import { analysisRows, sampleViews, type AnalysisRow, type SplitRows } from './analysis-rows';
import { binsIncrease, byConclusion, consistencyBins, dimensionCorrelations, type ConclusionGroup, type ConsistencyBin } from './consistency';
import { consistencyPanels, inferencePanel, panelSummary, readRunLog, trainingBatches, trainingPanel, type CorrelationPanel, type TrainingBatch } from './correlation';
import { correlationFigure } from './correlation-figure';
import { toCsv } from './csv';
import { compareTraits, sampleTraits, type TraitComparison } from './failure-traits';
import { sampleFigurePng, viewDiagnostics, type ViewDiagnostics } from './sample-figure';
import { selectBest, selectFailures, selectSpread } from './select';

export const DEFAULT_ANALYSIS_SPLITS = ['refshapes/testA', 'refshapes/testB', 'reasonshapes/test'];

export interface PaperAnalysisOptions {
  /** CoPRS checkpoint folder. */
  model: string;
  /** Stage-3 run folder (or log file) for the training panel; default: the checkpoint folder. */
  run?: string;
  splits?: string[];
  /** Split of the sample figures (Fig. 5, 7, 8); default: the last reasonshapes split, else the first. */
  figureSplit?: string;
  /** First N samples of each split. */
  limit?: number;
  /** Samples in Fig. 5 and Fig. 7 (default 4); Fig. 8 shows k + 2. */
  k?: number;
  eta?: number;
  cacheDir?: string;
  /** Generation cap (default: evaluateCoprs'; tests use a few tokens). */
  maxTokens?: number;
  log?: ((line: string) => void) | null;
}

export interface ConsistencyResult {
  split: string;
  panels: [CorrelationPanel, CorrelationPanel];
  bins: ConsistencyBin[];
  increasing: { heatmap: boolean; mask: boolean };
  dimensions: ReturnType<typeof dimensionCorrelations>;
  /** Mean IoUs by whether the chain concluded the right target. */
  conclusions: ConclusionGroup[];
}

export interface PaperAnalysis {
  model: string;
  run: string;
  weightsSha256: string;
  step: number;
  splits: SplitRows[];
  training: { batches: TrainingBatch[]; panel: CorrelationPanel };
  inference: CorrelationPanel[];
  consistency: ConsistencyResult[];
  figureSplit: string;
  best: AnalysisRow[];
  spread: AnalysisRow[];
  failures: AnalysisRow[];
  failureTraits: { failures: number; all: number; traits: TraitComparison[] };
  figures: { fig3: PlotlyFigure; fig4: PlotlyFigure; fig5: Buffer; fig7: Buffer; fig8: Buffer };
  /** Where the prior peaks and what the mask covers, for the drawn samples. */
  diagnostics: { best: ViewDiagnostics[]; spread: ViewDiagnostics[]; failures: ViewDiagnostics[] };
  seconds: number;
}

const label = (s: { dataset: string; split: string }) => `${s.dataset}/${s.split}`;

export async function runPaperAnalysis(opts: PaperAnalysisOptions): Promise<PaperAnalysis> {
  const t0 = performance.now();
  const eta = opts.eta ?? 10;
  const k = opts.k ?? 4;
  const splitNames = opts.splits ?? DEFAULT_ANALYSIS_SPLITS;
  const run = opts.run ?? opts.model;
  const batches = trainingBatches(readRunLog(run));
  const { model, meta } = loadCoprs(opts.model);
  try {
    const splits = await analysisRows(model, splitNames, { limit: opts.limit, cacheDir: opts.cacheDir, weightsSha256: meta.weightsSha256, log: opts.log, maxTokens: opts.maxTokens });
    const training = { batches, panel: trainingPanel('(a) training batches · refshapes', batches, eta) };
    const letters = 'bcdefghijk';
    const inference = splits.map((s, i) => inferencePanel(`(${letters[i] ?? '?'}) inference · ${label(s)}`, s.rows, eta));
    const consistency = splits.map((s): ConsistencyResult => {
      const bins = consistencyBins(s.rows);
      return {
        split: label(s), panels: consistencyPanels(label(s), s.rows, eta), bins,
        increasing: { heatmap: binsIncrease(bins, 'heatmapMIoU'), mask: binsIncrease(bins, 'maskMIoU') },
        dimensions: dimensionCorrelations(s.rows), conclusions: byConclusion(s.rows),
      };
    });
    const fsplit = opts.figureSplit ?? [...splits].reverse().find((s) => s.dataset === 'reasonshapes')?.split ?? splits[0].split;
    const fig = splits.find((s) => s.split === fsplit || label(s) === fsplit) ?? splits[0];
    const sampleOf = new Map(fig.samples.map((s) => [s.id, s]));
    const views = (rows: AnalysisRow[]) => sampleViews(model, rows.map((row) => ({ sample: sampleOf.get(row.id)! })), { maxTokens: opts.maxTokens });
    const best = selectBest(fig.rows, k);
    const spread = selectSpread(fig.rows, k + 2);
    const failures = selectFailures(fig.rows, k);
    const failureSet = selectFailures(fig.rows, Math.max(k, Math.round(0.1 * fig.rows.length)));
    const allTraits = fig.samples.map(sampleTraits);
    const failTraits = failureSet.map((r) => allTraits.find((t) => t.id === r.id)!);
    const where = `${label(fig)}, ${path.basename(opts.model)}`;
    const bestViews = views(best);
    const spreadViews = views(spread);
    const failureViews = views(failures);
    const figures = {
      fig3: correlationFigure([training.panel, ...inference], { title: `Fig. 3 analog: prior vs mask (OLS, band ±${eta}·s.e., y = x dashed) · ${path.basename(opts.model)}` }),
      fig4: correlationFigure(consistency.flatMap((c) => c.panels), { columns: 2, range: [-0.02, 1.02], colors: consistency.flatMap(() => ['#1f7a4d', '#c8322d']), title: 'Fig. 4 analog: CoT consistency vs heatmap IoU and mask IoU (OLS)' }),
      fig5: await sampleFigurePng(bestViews, { title: `Fig. 5 analog: the ${best.length} best masks (${where})` }),
      fig8: await sampleFigurePng(spreadViews, { title: `Fig. 8 analog: ${spread.length} samples spread over the mask-IoU ranks, lowest to highest (${where})` }),
      fig7: await sampleFigurePng(failureViews, { columns: ['image', 'prior', 'mask', 'gt'], title: `Fig. 7 analog: the ${failures.length} lowest mask IoUs, with the ground truth (${where})` }),
    };
    return {
      model: opts.model, run, weightsSha256: meta.weightsSha256, step: meta.step, splits, training, inference, consistency,
      figureSplit: label(fig), best, spread, failures,
      failureTraits: { failures: failureSet.length, all: allTraits.length, traits: compareTraits(failTraits, allTraits) },
      figures, seconds: (performance.now() - t0) / 1000,
      diagnostics: { best: bestViews.map(viewDiagnostics), spread: spreadViews.map(viewDiagnostics), failures: failureViews.map(viewDiagnostics) },
    };
  } finally {
    model.dispose();
  }
}

/** Render a Plotly spec to a PNG file (or, without Chromium, a standalone HTML file); returns the path. */
export async function writePlotly(fig: PlotlyFigure, file: string): Promise<string> {
  const w = Number((fig.layout ?? {}).width ?? 720);
  const h = Number((fig.layout ?? {}).height ?? 420);
  if (!chromiumAvailable()) {
    const html = file.replace(/\.png$/, '.html');
    writeFileAtomic(html, figurePage(fig, { width: w, height: h }));
    return html;
  }
  writeFileAtomic(file, await figureToPng(fig, { width: w, height: h }));
  return file;
}

/** Over the drawn samples (Fig. 5, 7, 8; an id drawn twice counts once): prior peaks on the target, masks covering several objects. */
export function summarizeDiagnostics(a: PaperAnalysis): { samples: number; peakOnTarget: number; peakOnOtherObject: number; peakOnBackground: number; maskCoversSeveral: number; meanObjectsCovered: number } {
  const seen = new Map<string, ViewDiagnostics>();
  for (const d of [...a.diagnostics.best, ...a.diagnostics.spread, ...a.diagnostics.failures]) seen.set(d.id, d);
  const ds = [...seen.values()];
  return {
    samples: ds.length, peakOnTarget: ds.filter((d) => d.peakOnTarget).length,
    peakOnOtherObject: ds.filter((d) => !d.peakOnTarget && d.peakObject !== null).length, peakOnBackground: ds.filter((d) => d.peakObject === null).length,
    maskCoversSeveral: ds.filter((d) => d.objectsCovered > 1).length, meanObjectsCovered: ds.length ? ds.reduce((x, d) => x + d.objectsCovered, 0) / ds.length : NaN,
  };
}

const r4 = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? null : Math.round(v * 1e4) / 1e4);

/** The numbers behind the figures, as plain objects (summary.json). */
export function analysisSummary(a: PaperAnalysis): Record<string, unknown> {
  return {
    model: a.model, run: a.run, weightsSha256: a.weightsSha256, step: a.step,
    splits: a.splits.map((s) => ({
      split: label(s), n: s.rows.length,
      gIoU: r4(s.rows.reduce((x, r) => x + r.maskIoU, 0) / s.rows.length), heatmapGIoU: r4(s.rows.reduce((x, r) => x + r.priorIoU, 0) / s.rows.length),
      meanJudge: r4(s.rows.reduce((x, r) => x + r.judge, 0) / s.rows.length), seconds: r4(s.seconds), cached: s.cached,
    })),
    correlation: [a.training.panel, ...a.inference].map(panelSummary),
    consistency: a.consistency.map((c) => ({
      split: c.split, r: { heatmap: c.panels[0].r, mask: c.panels[1].r }, slope: { heatmap: c.panels[0].fit?.slope ?? null, mask: c.panels[1].fit?.slope ?? null },
      bins: c.bins.map((b) => ({ range: b.range, samples: b.samples, heatmapMIoU: r4(b.heatmapMIoU), maskMIoU: r4(b.maskMIoU) })),
      increasing: c.increasing, dimensions: c.dimensions,
      conclusions: c.conclusions.map((g) => ({ conclusion: g.conclusion, samples: g.samples, heatmapMIoU: r4(g.heatmapMIoU), maskMIoU: r4(g.maskMIoU) })),
    })),
    figureSplit: a.figureSplit,
    best: a.best.map((r) => ({ id: r.id, maskIoU: r4(r.maskIoU), priorIoU: r4(r.priorIoU), judge: r4(r.judge) })),
    failures: a.failures.map((r) => ({ id: r.id, maskIoU: r4(r.maskIoU), priorIoU: r4(r.priorIoU), judge: r4(r.judge) })),
    failureTraits: a.failureTraits,
    drawnSamples: summarizeDiagnostics(a),
    seconds: r4(a.seconds),
  };
}

export interface WriteOptions {
  /** Figures folder (PNG). */
  figuresDir: string;
  /** Numbers folder (CSV, JSON); none: no numbers written. */
  resultsDir?: string;
  /** File-name prefix of the figures (default "fig"): fig3-correlation.png, … */
  prefix?: string;
  /** Recorded in summary.json. */
  command?: string;
}

/** Write the figures (PNG) and the numbers behind them (CSV, JSON); returns the paths written. */
export async function writePaperAnalysis(a: PaperAnalysis, o: WriteOptions): Promise<string[]> {
  const pre = o.prefix ?? 'fig';
  fs.mkdirSync(o.figuresDir, { recursive: true });
  const files: string[] = [];
  files.push(await writePlotly(a.figures.fig3, path.join(o.figuresDir, `${pre}3-correlation.png`)));
  files.push(await writePlotly(a.figures.fig4, path.join(o.figuresDir, `${pre}4-consistency.png`)));
  for (const [name, buf] of [['5-heatmaps', a.figures.fig5], ['8-heatmaps-spread', a.figures.fig8], ['7-failures', a.figures.fig7]] as const) {
    const f = path.join(o.figuresDir, `${pre}${name}.png`);
    writeFileAtomic(f, buf);
    files.push(f);
  }
  if (o.resultsDir) {
    const d = o.resultsDir;
    fs.mkdirSync(d, { recursive: true });
    const put = (name: string, text: string) => {
      const f = path.join(d, name);
      writeFileAtomic(f, text);
      files.push(f);
    };
    put('correlation.csv', toCsv([a.training.panel, ...a.inference].map(panelSummary)));
    put('consistency-bins.csv', toCsv(a.consistency.flatMap((c) => c.bins.map((b) => ({ split: c.split, range: b.range, samples: b.samples, heatmap_miou: r4(b.heatmapMIoU), mask_miou: r4(b.maskMIoU) })))));
    put('consistency-dimensions.csv', toCsv(a.consistency.flatMap((c) => c.dimensions.map((x) => ({ split: c.split, dimension: x.dimension, weight: x.weight, mean: r4(x.mean), r_mask: r4(x.rMask), r_heatmap: r4(x.rHeatmap) })))));
    put('consistency-by-conclusion.csv', toCsv(a.consistency.flatMap((c) => c.conclusions.map((g) => ({ split: c.split, conclusion: g.conclusion, samples: g.samples, heatmap_miou: r4(g.heatmapMIoU), mask_miou: r4(g.maskMIoU) })))));
    put('training-batches.csv', toCsv(a.training.batches.map((b) => ({ step: b.step, one_minus_bce: b.oneMinusBce, one_minus_dice: b.oneMinusDice, warmup: b.warmup }))));
    put('rows.csv', toCsv(a.splits.flatMap((s) => s.rows.map((r) => ({
      dataset: r.dataset, split: r.split, id: r.id, subset: r.subset, prior_iou: r4(r.priorIoU), mask_iou: r4(r.maskIoU), judge: r4(r.judge),
      logical: r.logical, relevance: r4(r.relevance), visual: r4(r.visual), localization: r.localization, format: r.format, length: r.length, query: r.query,
    })))));
    put('failure-traits.csv', toCsv(a.failureTraits.traits.map((t) => ({ split: a.figureSplit, trait: t.trait, failures_mean: r4(t.failures), all_mean: r4(t.all), failures_n: a.failureTraits.failures, all_n: a.failureTraits.all }))));
    put('summary.json', `${JSON.stringify({ command: o.command ?? null, ...analysisSummary(a) }, null, 1)}\n`);
  }
  return files;
}
