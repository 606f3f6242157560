/**
 * The data behind the paper's correlation figures (Fig. 3, Fig. 4): scatter points, the OLS line
 * y = α̂ + β̂x with its mean confidence band ŷ(x) ± η·s.e.(ŷ(x)) (η = 10, as the paper draws it
 * "for visual clarity"), Pearson's R, and where the points and the line lie against y = x.
 *
 * Fig. 3 (a)–(d), training: one point per logged training batch, x = 1 − BCE(H_prior, M_gt),
 * y = 1 − Dice(M̂, M_gt), read from a stage-3 run's log.jsonl (`one_minus_bce`, `one_minus_dice`,
 * written per logged step by src/train/coprs/metrics.ts).
 * Fig. 3 (e)–(h), inference: one point per test instance, x = IoU(H_prior ≥ 0.5, M_gt) (the mask
 * the prior would give with no decoder), y = IoU(M̂, M_gt) (per-sample rows of evaluateCoprs).
 * Fig. 4: x = CoT-consistency score, y = heatmap IoU or mask IoU (no y = x line in the paper).
 */
import * as fs from 'fs';
import * as path from 'path';
import { JsonlLog } from '../train/jsonl';
import { confidenceBand, linspace, olsFit, type Band, type OlsFit } from './ols';

export interface Point {
  x: number;
  y: number;
  /** Sample id or "step N". */
  label?: string;
  /** Group within a panel (e.g. "warm-up" vs "GRPO" batches); drawn as separate markers. */
  group?: string;
}

export interface CorrelationPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  points: Point[];
  n: number;
  /** The OLS fit, or null when it is undefined (fewer than 3 points, or every x equal: see `note`). */
  fit: OlsFit | null;
  /** Pearson's R (null with the fit). */
  r: number | null;
  /** η used for the band. */
  eta: number;
  /** The band on an even grid over the points' x range. */
  band: Band | null;
  /** Share of points strictly above y = x. */
  aboveDiagonal: number;
  /** True when the fitted line lies above y = x over the whole x range of the points (null without a fit). */
  lineAboveDiagonal: boolean | null;
  /** Whether the figure draws y = x (Fig. 3) or not (Fig. 4). */
  diagonal: boolean;
  /** Why there is no fit, if there is none. */
  note?: string;
}

export interface PanelOptions {
  xLabel: string;
  yLabel: string;
  /** η of the band (default 10, the paper's). */
  eta?: number;
  /** Draw and report y = x (default true). */
  diagonal?: boolean;
  /** Grid points of the band (default 50). */
  bandPoints?: number;
}

/** Fit one panel: OLS, band, R, position against y = x. */
export function correlationPanel(title: string, points: readonly Point[], opts: PanelOptions): CorrelationPanel {
  const eta = opts.eta ?? 10;
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const base = {
    title, xLabel: opts.xLabel, yLabel: opts.yLabel, points: pts, n: pts.length, eta, diagonal: opts.diagonal ?? true,
    aboveDiagonal: pts.length ? pts.filter((p) => p.y > p.x).length / pts.length : 0,
  };
  let note: string | undefined;
  if (pts.length < 3) note = `${pts.length} point(s): OLS needs at least 3`;
  else if (xs.every((x) => x === xs[0])) note = `every x equals ${xs[0]}: the slope is undefined`;
  if (note) return { ...base, fit: null, r: null, band: null, lineAboveDiagonal: null, note };
  const fit = olsFit(xs, ys);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const band = confidenceBand(fit, linspace(lo, hi, opts.bandPoints ?? 50), eta);
  // a line is above y = x on [lo, hi] iff it is at both ends
  const lineAbove = fit.intercept + fit.slope * lo > lo && fit.intercept + fit.slope * hi > hi;
  return { ...base, fit, r: fit.r, band, lineAboveDiagonal: lineAbove };
}

/** One logged training batch of a stage-3 run. */
export interface TrainingBatch {
  step: number;
  oneMinusBce: number;
  oneMinusDice: number;
  /** A teacher-forced SEG warm-up step (no rollouts). */
  warmup: boolean;
}

/**
 * The Fig. 3 training points of a run: every `train` record of its log.jsonl with finite
 * `one_minus_bce` and `one_minus_dice`. A step logged twice (a resumed run) keeps its last record.
 */
export function trainingBatches(records: readonly Record<string, unknown>[]): TrainingBatch[] {
  const byStep = new Map<number, TrainingBatch>();
  for (const r of records) {
    if (r.event !== 'train') continue;
    const x = Number(r.one_minus_bce);
    const y = Number(r.one_minus_dice);
    const step = Number(r.step);
    if (r.one_minus_bce == null || r.one_minus_dice == null || !Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(step)) continue;
    byStep.set(step, { step, oneMinusBce: x, oneMinusDice: y, warmup: r.warmup === true });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** Read a run folder's (or a log file's) log.jsonl. */
export function readRunLog(runOrFile: string): Record<string, unknown>[] {
  const file = fs.existsSync(runOrFile) && fs.statSync(runOrFile).isDirectory() ? path.join(runOrFile, 'log.jsonl') : runOrFile;
  if (!fs.existsSync(file)) throw new Error(`no training log at ${file}`);
  return JsonlLog.read(file);
}

/** Fig. 3 training panel: x = 1 − BCE(H_prior), y = 1 − Dice(mask), one point per logged batch. */
export function trainingPanel(title: string, batches: readonly TrainingBatch[], eta = 10): CorrelationPanel {
  const points = batches.map((b) => ({ x: b.oneMinusBce, y: b.oneMinusDice, label: `step ${b.step}`, group: b.warmup ? 'SEG warm-up batch' : 'GRPO + SEG batch' }));
  return correlationPanel(title, points, { xLabel: '1 − BCE(H_prior, M_gt)', yLabel: '1 − Dice(M̂, M_gt)', eta });
}

/** Fig. 3 inference panel: x = prior IoU, y = mask IoU, one point per instance. */
export function inferencePanel(title: string, rows: readonly { id: string; priorIoU: number; maskIoU: number }[], eta = 10): CorrelationPanel {
  return correlationPanel(title, rows.map((r) => ({ x: r.priorIoU, y: r.maskIoU, label: r.id })), { xLabel: 'IoU(H_prior, M_gt)', yLabel: 'IoU(M̂, M_gt)', eta });
}

/** Fig. 4 panels: consistency score vs heatmap IoU and vs mask IoU. */
export function consistencyPanels(title: string, rows: readonly { id: string; judge: number; priorIoU: number; maskIoU: number }[], eta = 10): [CorrelationPanel, CorrelationPanel] {
  const opts = { xLabel: 'CoT consistency score', eta, diagonal: false };
  return [
    correlationPanel(`${title}: heatmap`, rows.map((r) => ({ x: r.judge, y: r.priorIoU, label: r.id })), { ...opts, yLabel: 'heatmap IoU' }),
    correlationPanel(`${title}: mask`, rows.map((r) => ({ x: r.judge, y: r.maskIoU, label: r.id })), { ...opts, yLabel: 'mask IoU' }),
  ];
}

/** The numbers of a panel, flat (a CSV row). */
export function panelSummary(p: CorrelationPanel): Record<string, string | number | boolean | null> {
  return {
    panel: p.title, x: p.xLabel, y: p.yLabel, n: p.n,
    r: p.r, slope: p.fit?.slope ?? null, intercept: p.fit?.intercept ?? null, sigma: p.fit?.sigma ?? null,
    x_mean: p.fit?.xMean ?? null, y_mean: p.fit?.yMean ?? null, eta: p.eta,
    share_above_y_eq_x: p.diagonal ? p.aboveDiagonal : null, line_above_y_eq_x: p.diagonal ? p.lineAboveDiagonal : null, note: p.note ?? null,
  };
}
