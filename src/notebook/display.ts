/**
 * Rich output for notebooks, in one helper. Inside the tslab kernel it shows images, HTML, Markdown
 * and Plotly figures inline; outside (CLI, tests) it only writes files. Every figure can also be
 * written to figures/ as PNG (sharp buffers directly; Plotly through headless Chromium).
 */
import * as path from 'path';
import { FIGURES_DIR } from '../util/paths';
import { writeFileAtomic } from '../util/atomic';
import { figureHtml, figurePage, figureToPng, PlotlyFigure } from './plotly';
import { chromiumAvailable, chromiumPath } from './chromium';
import { FrameLike, Row, tableHtml, tableText } from './table';

interface TslabDisplay {
  png(b: Uint8Array): void;
  html(s: string): void;
  markdown(s: string): void;
  text(s: string): void;
}

/** tslab's display when running inside its kernel, else null. */
function tslabDisplay(): TslabDisplay | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
    if (jupyter.lastWriteDisplayData == null) return null;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('tslab') as { display: TslabDisplay }).display;
  } catch {
    return null;
  }
}

export function inNotebook(): boolean {
  return tslabDisplay() != null;
}

/** Resolve a figure name ("02-grid" or "02-grid.png") to a path under figures/ (absolute paths kept). */
export function figurePath(name: string, ext: string): string {
  const file = name.endsWith(ext) ? name : `${name}${ext}`;
  return path.isAbsolute(file) ? file : path.join(FIGURES_DIR, file);
}

let plotlyLoaded = false;

/**
 * Static figures (COPRS_NOTEBOOK_STATIC=1, set by bin/publish-notebooks.js): Plotly figures are shown
 * as PNGs rendered through headless Chromium instead of HTML with the plotly.js bundle inlined, so a
 * committed notebook stays small (the bundle is 3.5 MB) and renders where scripts do not run (GitHub,
 * nbviewer). Live figures (`plotlyWithId`) are not drawn; their final state is shown by `save`.
 */
export function staticFigures(): boolean {
  return process.env.COPRS_NOTEBOOK_STATIC === '1';
}
const saved: string[] = [];

/** Every figure file written by `display` in this process, in order. */
export function savedFigures(): readonly string[] {
  return saved;
}

export interface SaveOptions {
  /** Write the figure under figures/ with this name (".png" added). */
  save?: string;
}

export interface PlotlyOptions extends SaveOptions {
  width?: number;
  height?: number;
  /** Show the figure in the notebook (default true; false: only save it). */
  inline?: boolean;
}

export const display = {
  /** Show a PNG buffer (e.g. from sharp); optionally write it to figures/ (see `savedFigures`). */
  async png(buf: Uint8Array, opts: SaveOptions = {}): Promise<void> {
    tslabDisplay()?.png(buf);
    if (!opts.save) return;
    const file = figurePath(opts.save, '.png');
    writeFileAtomic(file, buf);
    saved.push(file);
  },

  html(s: string): void {
    const d = tslabDisplay();
    if (d) d.html(s);
  },

  /** Show a table (rows or a danfojs DataFrame): HTML in a notebook, aligned text elsewhere. */
  table(t: Row[] | FrameLike, caption?: string): void {
    const d = tslabDisplay();
    if (d) d.html(tableHtml(t, caption));
    else console.log(`${caption ? `${caption}\n` : ''}${tableText(t)}`);
  },

  /** Show a Plotly figure in a div with a fixed `id` (for later `Plotly.extendTraces` scripts); nothing outside a notebook. */
  plotlyWithId(fig: PlotlyFigure, id: string, size: { width?: number; height?: number } = {}): boolean {
    const d = tslabDisplay();
    if (!d || staticFigures()) return false;
    d.html(figureHtml(fig, { includeBundle: !plotlyLoaded, id, ...size }));
    plotlyLoaded = true;
    return true;
  },

  markdown(s: string): void {
    const d = tslabDisplay();
    if (d) d.markdown(s);
    else console.log(s);
  },

  /**
   * Show a Plotly figure inline (the plotly.js bundle is inlined in the first figure's output of a
   * kernel session, so the executed notebook works offline) and write a PNG to figures/ through
   * headless Chromium. Without Chromium, a standalone HTML file is written instead and the reason
   * is printed. The written path is recorded in `savedFigures`.
   */
  async plotly(fig: PlotlyFigure, opts: PlotlyOptions = {}): Promise<void> {
    const d = opts.inline === false ? null : tslabDisplay();
    if (d && staticFigures() && chromiumAvailable()) {
      const png = await figureToPng(fig, opts);
      d.png(png);
      if (!opts.save) return;
      const file = figurePath(opts.save, '.png');
      writeFileAtomic(file, png);
      saved.push(file);
      return;
    }
    if (d) {
      d.html(figureHtml(fig, { includeBundle: !plotlyLoaded, width: opts.width, height: opts.height }));
      plotlyLoaded = true;
    }
    if (!opts.save) return;
    if (!chromiumAvailable()) {
      const file = figurePath(opts.save, '.html');
      writeFileAtomic(file, figurePage(fig, opts));
      console.error(`[coprs] Chromium not found at ${chromiumPath()}: wrote ${path.relative(process.cwd(), file)} instead of a PNG (apt-get install chromium, or set COPRS_CHROMIUM)`);
      saved.push(file);
      return;
    }
    const png = await figureToPng(fig, opts);
    const file = figurePath(opts.save, '.png');
    writeFileAtomic(file, png);
    saved.push(file);
  },
};
