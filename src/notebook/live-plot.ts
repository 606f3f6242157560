/**
 * Live training curves in a notebook: one Plotly figure of stacked panels, drawn once, then grown
 * point by point with `Plotly.extendTraces` from small script outputs (the figure's div has a fixed
 * id). In Jupyter the curves move while the cell runs; in a saved or converted notebook the scripts
 * replay in order and the figure ends complete. Outside a notebook it only collects the points;
 * `save` writes the final figure to figures/ as PNG.
 *
 * Panels name the step-record keys they plot (src/train/coprs/metrics.ts: TRL's names), e.g.
 * { title: 'reward', keys: ['reward', 'rewards/mask/mean', 'rewards/format-paper/mean'] }.
 */
import { display } from './display';
import type { PlotlyFigure } from './plotly';

export interface LivePanel {
  title: string;
  keys: string[];
}

export class LivePlot {
  readonly id = `coprs-live-${Math.random().toString(36).slice(2, 10)}`;
  /** Points per trace (index = panel-major order of the keys). */
  readonly xs: number[][];
  readonly ys: (number | null)[][];
  private shown = false;
  private pending: { x: number; ys: (number | null)[] }[] = [];

  constructor(readonly panels: LivePanel[], readonly opts: { title?: string; width?: number; heightPerPanel?: number; every?: number } = {}) {
    const n = panels.reduce((a, p) => a + p.keys.length, 0);
    this.xs = Array.from({ length: n }, () => []);
    this.ys = Array.from({ length: n }, () => []);
  }

  /** The figure with the points collected so far. */
  figure(): PlotlyFigure {
    const data: Record<string, unknown>[] = [];
    const layout: Record<string, unknown> = {
      title: this.opts.title ? { text: this.opts.title } : undefined,
      showlegend: true,
      legend: { orientation: 'h', y: -0.08 },
      margin: { l: 60, r: 20, t: this.opts.title ? 40 : 20, b: 40 },
    };
    const P = this.panels.length;
    const gap = 0.06;
    const h = (1 - gap * (P - 1)) / P;
    let t = 0;
    this.panels.forEach((p, i) => {
      const axis = i === 0 ? '' : String(i + 1);
      const top = 1 - i * (h + gap);
      layout[`yaxis${axis}`] = { domain: [top - h, top], title: { text: p.title } };
      layout[`xaxis${axis}`] = { anchor: `y${axis}`, showticklabels: i === P - 1, title: i === P - 1 ? { text: 'step' } : undefined, matches: i === 0 ? undefined : 'x' };
      for (const k of p.keys) {
        data.push({ type: 'scatter', mode: 'lines+markers', name: k, x: this.xs[t], y: this.ys[t], xaxis: `x${axis}`, yaxis: `y${axis}`, marker: { size: 4 } });
        t++;
      }
    });
    return { data, layout };
  }

  private size() {
    return { width: this.opts.width ?? 760, height: (this.opts.heightPerPanel ?? 170) * this.panels.length + 90 };
  }

  /** Draw the (empty or partial) figure; later `add`s extend it. */
  show(): void {
    this.shown = display.plotlyWithId(this.figure(), this.id, this.size());
  }

  /** Add one step's record (missing or non-numeric values are skipped). */
  add(step: number, record: Record<string, unknown>): void {
    const ys: (number | null)[] = [];
    let t = 0;
    for (const p of this.panels) {
      for (const k of p.keys) {
        const v = record[k];
        const y = typeof v === 'number' && Number.isFinite(v) ? v : null;
        this.xs[t].push(step);
        this.ys[t].push(y);
        ys.push(y);
        t++;
      }
    }
    this.pending.push({ x: step, ys });
    if (this.pending.length >= (this.opts.every ?? 1)) this.flush();
  }

  /** Send the points not yet drawn to the notebook's figure. */
  flush(): void {
    if (!this.shown || this.pending.length === 0) {
      this.pending = [];
      return;
    }
    const idx = this.ys.map((_, i) => i);
    const x = idx.map(() => this.pending.map((p) => p.x));
    const y = idx.map((i) => this.pending.map((p) => p.ys[i]));
    this.pending = [];
    display.html(`<script type="text/javascript">(function () { var f = function () { if (window.Plotly && document.getElementById(${JSON.stringify(this.id)})) { window.Plotly.extendTraces(${JSON.stringify(this.id)}, { x: ${JSON.stringify(x)}, y: ${JSON.stringify(y)} }, ${JSON.stringify(idx)}); } else { setTimeout(f, 50); } }; f(); })();</script>`);
  }

  /** Write the final figure to figures/NAME.png (and show it, outside a live notebook view). */
  async save(name: string): Promise<void> {
    this.flush();
    await display.plotly(this.figure(), { save: name, ...this.size(), inline: !this.shown });
  }
}
