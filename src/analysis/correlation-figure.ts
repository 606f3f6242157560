/**
 * Correlation panels as one Plotly figure (a spec: data + layout), the look of the paper's Fig. 3
 * and Fig. 4: scatter points (blue for training batches, red for inference instances), the OLS line,
 * the η = 10 mean confidence band (shaded), the y = x line (dashed, Fig. 3 only) and R in each
 * panel's title. Render with display.plotly (notebooks) or figureToPng (CLI).
 */
import type { PlotlyFigure } from '../notebook/plotly';
import type { CorrelationPanel } from './correlation';

export interface CorrelationFigureOptions {
  /** Panels per row (default: all in one row, at most 4). */
  columns?: number;
  title?: string;
  /** Marker color per panel (default blue for panels whose points have groups — training — else red). */
  colors?: string[];
  /** Fixed axis range for every panel, e.g. [0, 1] for IoUs; default: the points' range, padded. */
  range?: [number, number];
  /** Pixel size of one panel (default 320 × 300). */
  panelWidth?: number;
  panelHeight?: number;
}

const BLUE = '#1f5fbf';
const RED = '#c8322d';
const GROUP_SYMBOLS = ['circle', 'diamond-open', 'square', 'triangle-up'];

function paddedRange(values: number[], pad = 0.08): [number, number] {
  if (values.length === 0) return [0, 1];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.max(Math.abs(hi), 1) * 0.1;
  return [lo - pad * span, hi + pad * span];
}

const fmt = (v: number | null | undefined, d = 2) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));

/** A short caption line of a panel: R, slope, n (or the reason there is no fit). */
export function panelCaption(p: CorrelationPanel): string {
  if (!p.fit) return `n = ${p.n} · no fit: ${p.note}`;
  return `R = ${fmt(p.r)} · slope ${fmt(p.fit.slope)} · n = ${p.n}`;
}

/** The panels as a Plotly figure spec. */
export function correlationFigure(panels: readonly CorrelationPanel[], opts: CorrelationFigureOptions = {}): PlotlyFigure {
  if (panels.length === 0) throw new Error('correlationFigure: no panels');
  const cols = Math.min(opts.columns ?? Math.min(panels.length, 4), panels.length);
  const rows = Math.ceil(panels.length / cols);
  const pw = opts.panelWidth ?? 320;
  const ph = opts.panelHeight ?? 300;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    width: cols * pw + 40, height: rows * ph + (opts.title ? 90 : 40),
    grid: { rows, columns: cols, pattern: 'independent', xgap: 0.16, ygap: 0.3 },
    showlegend: false, margin: { l: 55, r: 15, t: opts.title ? 100 : 50, b: 50 }, font: { size: 11 },
    annotations: [] as Record<string, unknown>[],
  };
  if (opts.title) layout.title = { text: opts.title, x: 0.5, y: 0.98, yanchor: 'top', font: { size: 14 } };
  panels.forEach((p, i) => {
    const k = i === 0 ? '' : String(i + 1);
    const xa = `x${k}`;
    const ya = `y${k}`;
    const color = opts.colors?.[i] ?? (p.points.some((q) => q.group) ? BLUE : RED);
    const xr = opts.range ?? paddedRange(p.points.map((q) => q.x));
    const yr = opts.range ?? paddedRange([...p.points.map((q) => q.y), ...(p.diagonal ? xr : [])]);
    if (p.band) {
      data.push({ type: 'scatter', mode: 'lines', x: p.band.x, y: p.band.lower, xaxis: xa, yaxis: ya, line: { width: 0 }, hoverinfo: 'skip' });
      data.push({ type: 'scatter', mode: 'lines', x: p.band.x, y: p.band.upper, xaxis: xa, yaxis: ya, line: { width: 0 }, fill: 'tonexty', fillcolor: 'rgba(120,120,120,0.22)', hoverinfo: 'skip', name: `band ±${p.eta}·s.e.` });
      data.push({ type: 'scatter', mode: 'lines', x: p.band.x, y: p.band.y, xaxis: xa, yaxis: ya, line: { color: '#222', width: 2 }, name: 'OLS' });
    }
    if (p.diagonal) {
      const lo = Math.max(xr[0], yr[0]);
      const hi = Math.min(xr[1], yr[1]);
      if (hi > lo) data.push({ type: 'scatter', mode: 'lines', x: [lo, hi], y: [lo, hi], xaxis: xa, yaxis: ya, line: { color: '#888', width: 1.5, dash: 'dash' }, name: 'y = x' });
    }
    const groups = [...new Set(p.points.map((q) => q.group ?? ''))];
    groups.forEach((g, gi) => {
      const pts = p.points.filter((q) => (q.group ?? '') === g);
      data.push({
        type: 'scatter', mode: 'markers', x: pts.map((q) => q.x), y: pts.map((q) => q.y), text: pts.map((q) => q.label ?? ''),
        xaxis: xa, yaxis: ya, name: g || p.title, marker: { color, size: 6, opacity: 0.7, symbol: GROUP_SYMBOLS[gi % GROUP_SYMBOLS.length] },
      });
    });
    layout[`xaxis${k}`] = { title: { text: p.xLabel }, range: xr, zeroline: false };
    layout[`yaxis${k}`] = { title: { text: p.yLabel }, range: yr, zeroline: false };
    (layout.annotations as Record<string, unknown>[]).push({
      text: `<b>${p.title}</b><br>${panelCaption(p)}`, xref: `${xa} domain`, yref: `${ya} domain`, x: 0.5, y: 1.02,
      xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 11 },
    });
  });
  return { data, layout };
}
