/**
 * Figures and tables from sweep results (rows of DIR/results.csv): the paper's Fig. 6a–d and the
 * Tables 4–5 analogs. Builders are pure (rows → Plotly spec or table rows); `showAblation` shows
 * one inline and writes its PNG to figures/ through `display`.
 *
 * Points with several seeds are averaged per point (the number of seeds is in the hover text).
 * Metrics are the evaluation cIoU (the paper's metric in Fig. 6 and Tables 4–5) on the kit's
 * analogs: refshapes val/testA/testB for RefCOCO+, reasonshapes test for ReasonSeg. The bold x label is the
 * preset's default setting (as the paper marks its defaults).
 */
import type { PlotlyFigure } from '../notebook/plotly';
import { display, figurePath } from '../notebook/display';
import { writeFileAtomic } from '../util/atomic';
import type { Row } from '../notebook/table';
import type { Cell, ResultRow } from './results';

/** One point of a figure: the rows of one point id averaged over seeds. */
export interface PointSummary {
  point: string;
  label: string;
  value: Cell;
  isDefault: boolean;
  seeds: number;
  /** Mean of each numeric column over the seeds (null where every seed is null). */
  mean: Record<string, number | null>;
}

const num = (v: Cell | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

/** Group rows by point (first-seen order) and average numeric columns over seeds. */
export function summarizePoints(rows: ResultRow[], ablation?: string): PointSummary[] {
  const sel = ablation ? rows.filter((r) => r.ablation === ablation) : rows;
  if (sel.length === 0) throw new Error(`no result rows${ablation ? ` for ablation "${ablation}"` : ''}; run the sweep first`);
  const order: string[] = [];
  const groups = new Map<string, ResultRow[]>();
  for (const r of sel) {
    const id = String(r.point);
    if (!groups.has(id)) {
      groups.set(id, []);
      order.push(id);
    }
    groups.get(id)!.push(r);
  }
  return order.map((id) => {
    const g = groups.get(id)!;
    const cols = [...new Set(g.flatMap((r) => Object.keys(r)))];
    const mean: Record<string, number | null> = {};
    for (const c of cols) {
      const xs = g.map((r) => num(r[c])).filter((v): v is number => v != null);
      mean[c] = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    }
    const d = g[0].is_default;
    return { point: id, label: String(g[0].label ?? id), value: g[0].value, isDefault: d === true || d === 1 || d === 'true' || d === '1', seeds: g.length, mean };
  });
}

const SPLIT_NAMES: Record<string, string> = {
  refshapes_val: 'refshapes val', refshapes_testA: 'refshapes testA', refshapes_testB: 'refshapes testB', reasonshapes_val: 'reasonshapes val', reasonshapes_test: 'reasonshapes test',
};
/** Fig. 6a: all refshapes splits (the paper: all splits of RefCOCO+). */
const REF_SPLITS = ['refshapes_val', 'refshapes_testA', 'refshapes_testB'];
/** Fig. 6b–d: the test split of each dataset (refshapes testA/testB, reasonshapes test). */
const TEST_SPLITS = ['refshapes_testA', 'refshapes_testB', 'reasonshapes_test'];
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

const tickLabel = (p: PointSummary) => (p.isDefault ? `<b>${p.label}</b>` : p.label);
const r3 = (v: number | null) => (v == null ? null : Number(v.toFixed(3)));
const hover = (p: PointSummary) => `${p.label}${p.seeds > 1 ? ` (mean of ${p.seeds} seeds)` : ''}`;

/** Category axis with the default label in bold. */
function categoryAxis(ps: PointSummary[], title: string): Record<string, unknown> {
  return { title: { text: title }, type: 'category', tickmode: 'array', tickvals: ps.map((p) => p.label), ticktext: ps.map(tickLabel) };
}

/** Grouped bars: one group per point, one bar per split (cIoU). */
function splitBars(ps: PointSummary[], splits: string[], title: string, axis: string): PlotlyFigure {
  return {
    data: splits.map((s, j) => ({
      type: 'bar', name: SPLIT_NAMES[s], x: ps.map((p) => p.label), y: ps.map((p) => r3(p.mean[`${s}_ciou`])), marker: { color: COLORS[j] },
      text: ps.map((p) => (p.mean[`${s}_ciou`] == null ? '' : p.mean[`${s}_ciou`]!.toFixed(3))), textposition: 'outside', hovertext: ps.map(hover),
    })),
    layout: { title: { text: title }, barmode: 'group', xaxis: categoryAxis(ps, axis), yaxis: { title: { text: 'cIoU' }, rangemode: 'tozero' }, legend: { orientation: 'h', y: -0.25 }, margin: { t: 60, b: 110 } },
  };
}

/**
 * Fig. 6a: left, cIoU on the refshapes splits and the final training reward against G; right,
 * GRPO samples to convergence (a bar per G; "not converged" where the loss never settled).
 */
export function figGroupSize(rows: ResultRow[]): PlotlyFigure {
  const ps = summarizePoints(rows, 'group-size');
  const x = ps.map((p) => p.label);
  const lines = REF_SPLITS.map((s, j) => ({ type: 'scatter', mode: 'lines+markers', name: `${SPLIT_NAMES[s]} cIoU`, x, y: ps.map((p) => r3(p.mean[`${s}_ciou`])), line: { color: COLORS[j] }, hovertext: ps.map(hover), xaxis: 'x', yaxis: 'y' }));
  const reward = { type: 'scatter', mode: 'lines+markers', name: 'final training reward', x, y: ps.map((p) => r3(p.mean.final_reward)), line: { color: '#444', dash: 'dot' }, xaxis: 'x', yaxis: 'y' };
  const conv = ps.map((p) => p.mean.conv_samples);
  const bars = {
    type: 'bar', name: 'samples to convergence', x, y: conv.map((v) => v ?? 0), marker: { color: conv.map((v) => (v == null ? '#cccccc' : '#9467bd')) },
    text: conv.map((v) => (v == null ? 'not converged' : String(Math.round(v)))), textposition: 'outside', xaxis: 'x2', yaxis: 'y2', showlegend: true,
  };
  const window = ps.find((p) => p.mean.conv_window != null)?.mean.conv_window;
  return {
    data: [...lines, reward, bars],
    layout: {
      title: { text: 'Fig. 6a analog: GRPO group size' },
      xaxis: { ...categoryAxis(ps, 'group size G'), domain: [0, 0.43] },
      yaxis: { title: { text: 'cIoU / reward' }, rangemode: 'tozero' },
      xaxis2: { ...categoryAxis(ps, 'group size G'), domain: [0.6, 1], anchor: 'y2' },
      yaxis2: { title: { text: `GRPO samples to convergence${window ? ` (window ${window} steps)` : ''}` }, anchor: 'x2', rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.25 }, margin: { t: 60, b: 110 },
    },
  };
}

/** Fig. 6b: RL only, SEG only, combined (cIoU on each dataset's test split). */
export function figMode(rows: ResultRow[]): PlotlyFigure {
  return splitBars(summarizePoints(rows, 'mode'), TEST_SPLITS, 'Fig. 6b analog: training mode', 'training mode');
}

/** Fig. 6c: mask-reward weight (format = 1 − mask) against cIoU. */
export function figRewardCoef(rows: ResultRow[]): PlotlyFigure {
  const ps = summarizePoints(rows, 'reward-coef');
  const x = ps.map((p) => num(p.value) ?? p.mean.mask_weight);
  return {
    data: TEST_SPLITS.map((s, j) => ({ type: 'scatter', mode: 'lines+markers', name: SPLIT_NAMES[s], x, y: ps.map((p) => r3(p.mean[`${s}_ciou`])), line: { color: COLORS[j] }, hovertext: ps.map(hover) })),
    layout: {
      title: { text: 'Fig. 6c analog: mask-reward coefficient (format = 1 − mask)' },
      xaxis: { title: { text: 'mask reward weight' }, tickmode: 'array', tickvals: x, ticktext: ps.map((p) => (p.isDefault ? `<b>${(x[ps.indexOf(p)] ?? 0).toFixed(1)}</b>` : (x[ps.indexOf(p)] ?? 0).toFixed(1))) },
      yaxis: { title: { text: 'cIoU' }, rangemode: 'tozero' }, legend: { orientation: 'h', y: -0.25 }, margin: { t: 60, b: 100 },
    },
  };
}

/** Fig. 6d: segmentation-loss combinations (BCE weight 1). */
export function figSegLoss(rows: ResultRow[]): PlotlyFigure {
  return splitBars(summarizePoints(rows, 'seg-loss'), TEST_SPLITS, 'Fig. 6d analog: segmentation loss combinations', 'loss combination');
}

/**
 * Tables 4–5 analogs: one row per size with parameter counts and cIoU per split (typed cells only:
 * strings, numbers, booleans).
 */
export function sizeTable(rows: ResultRow[], ablation: 'policy-size' | 'encoder-size'): Row[] {
  const ps = summarizePoints(rows, ablation);
  const c = (p: PointSummary, s: string): number => Number((p.mean[`${s}_ciou`] ?? NaN).toFixed(3));
  return ps.map((p) => {
    const row: Row = { [ablation === 'policy-size' ? 'policy' : 'mini-SAM']: String(p.value) };
    if (ablation === 'policy-size') row['policy params (M)'] = Number(((p.mean.params_policy ?? NaN) / 1e6).toFixed(3));
    else row['encoder params (M)'] = Number(((p.mean.params_image_encoder ?? NaN) / 1e6).toFixed(3));
    row['total params (M)'] = Number(((p.mean.params_total ?? NaN) / 1e6).toFixed(3));
    // the parts' budgets and quality (partColumns), where the rows carry them
    if (p.mean.sam_steps != null) row['stage-1 steps'] = p.mean.sam_steps;
    if (p.mean.sam_best != null) row['mini-SAM val mIoU'] = Number(p.mean.sam_best.toFixed(3));
    if (p.mean.policy_steps != null) row['stage-2 steps'] = p.mean.policy_steps;
    if (p.mean.policy_best != null) row['policy held-out target acc.'] = Number(p.mean.policy_best.toFixed(3));
    for (const s of [...REF_SPLITS, 'reasonshapes_val', 'reasonshapes_test']) row[`${SPLIT_NAMES[s]} cIoU`] = c(p, s);
    row.default = p.isDefault;
    row.seeds = p.seeds;
    return row;
  });
}

/** The figure builder of each figure ablation. */
export const ABLATION_FIGURES: Record<string, (rows: ResultRow[]) => PlotlyFigure> = {
  'group-size': figGroupSize,
  mode: figMode,
  'reward-coef': figRewardCoef,
  'seg-loss': figSegLoss,
};

/**
 * Show one ablation's figure (inline + PNG `figures/<save>.png`) or table (Tables 4–5 analogs:
 * inline, and a Markdown file `figures/<save>.md`). Returns what was shown.
 */
export async function showAblation(ablation: string, rows: ResultRow[], opts: { save?: string } = {}): Promise<{ kind: 'figure'; figure: PlotlyFigure } | { kind: 'table'; rows: Row[] }> {
  if (ablation === 'policy-size' || ablation === 'encoder-size') {
    const t = sizeTable(rows, ablation);
    display.table(t, ablation === 'policy-size' ? 'Table 4 analog: policy size (cIoU)' : 'Table 5 analog: mini-SAM encoder size (cIoU)');
    if (opts.save) {
      const cols = Object.keys(t[0]);
      const fmt = (v: Row[string]) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v ?? ''));
      writeFileAtomic(figurePath(opts.save, '.md'), [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...t.map((r) => `| ${cols.map((k) => fmt(r[k])).join(' | ')} |`), ''].join('\n'));
    }
    return { kind: 'table', rows: t };
  }
  const build = ABLATION_FIGURES[ablation];
  if (!build) throw new Error(`no figure for ablation "${ablation}"; figures exist for ${[...Object.keys(ABLATION_FIGURES), 'policy-size', 'encoder-size'].join(', ')}`);
  const figure = build(rows);
  await display.plotly(figure, { save: opts.save, width: ablation === 'group-size' ? 900 : 720, height: 440 });
  return { kind: 'figure', figure };
}
