/**
 * Plotly figures: self-contained HTML (the plotly.js bundle inlined, so a page or an executed
 * notebook works offline) and PNG export through headless Chromium.
 */
import * as fs from 'fs';
import * as path from 'path';
import { getBrowser } from './chromium';
import { writeFileAtomic } from '../util/atomic';
import { PACKAGE_ROOT } from '../util/paths';

/** A Plotly figure: the `data` and `layout` objects of plotly.js. */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let bundle: string | null = null;

/**
 * The plotly.js bundle, minified. plotly.js-dist ships it unminified (10 MB), which would make every
 * executed notebook 10 MB heavier; it is minified once with esbuild (≈4.8 MB, about a second) and
 * cached under node_modules/.cache/coprs-lab/.
 */
export function plotlyBundle(): string {
  if (bundle != null) return bundle;
  const source = require.resolve('plotly.js-dist/plotly.js');
  const version = JSON.parse(fs.readFileSync(path.join(path.dirname(source), 'package.json'), 'utf8')).version;
  const cached = path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'coprs-lab', `plotly-${version}.min.js`);
  if (fs.existsSync(cached)) {
    bundle = fs.readFileSync(cached, 'utf8');
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    bundle = esbuild.transformSync(fs.readFileSync(source, 'utf8'), { minify: true, legalComments: 'none' }).code;
    writeFileAtomic(cached, bundle);
  }
  return bundle;
}

const escapeJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * HTML that draws the figure. With `includeBundle` the whole plotly.js bundle is inlined (a
 * standalone page); without it the page expects `window.Plotly` to exist already (a notebook that
 * loaded the bundle in an earlier output).
 */
export function figureHtml(fig: PlotlyFigure, opts: { includeBundle?: boolean; id?: string; width?: number; height?: number } = {}): string {
  const id = opts.id ?? `coprs-plot-${Math.random().toString(36).slice(2, 10)}`;
  const w = opts.width ?? 720;
  const h = opts.height ?? 420;
  const layout = { width: w, height: h, ...fig.layout };
  const script = opts.includeBundle ? `<script type="text/javascript">${plotlyBundle()}</script>` : '';
  return `${script}<div id="${id}" style="width:${w}px;height:${h}px"></div>
<script type="text/javascript">
(function () {
  var draw = function () { window.Plotly.newPlot(${escapeJson(id)}, ${escapeJson(fig.data)}, ${escapeJson(layout)}, ${escapeJson({ displaylogo: false, ...fig.config })}); };
  if (window.Plotly) { draw(); } else { var t = setInterval(function () { if (window.Plotly) { clearInterval(t); draw(); } }, 50); }
})();
</script>`;
}

/** A standalone HTML page for the figure. */
export function figurePage(fig: PlotlyFigure, opts: { width?: number; height?: number; title?: string } = {}): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${opts.title ?? 'figure'}</title></head><body style="margin:0">${figureHtml(fig, { ...opts, includeBundle: true, id: 'fig' })}</body></html>`;
}

/** Render the figure to PNG with headless Chromium (Plotly.toImage at `scale` for a crisp image). */
export async function figureToPng(fig: PlotlyFigure, opts: { width?: number; height?: number; scale?: number } = {}): Promise<Buffer> {
  const width = opts.width ?? 720;
  const height = opts.height ?? 420;
  const browser = await getBrowser();
  const page = await browser.newPage({ viewport: { width, height } });
  try {
    await page.setContent(`<!doctype html><html><body style="margin:0"><div id="fig"></div><script>${plotlyBundle()}</script></body></html>`);
    const dataUrl = await page.evaluate(
      async ({ data, layout, width, height, scale }) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const P = (globalThis as unknown as { Plotly: any }).Plotly;
        const gd = await P.newPlot('fig', data, { width, height, ...layout }, { staticPlot: true });
        return P.toImage(gd, { format: 'png', width, height, scale });
      },
      { data: fig.data, layout: fig.layout ?? {}, width, height, scale: opts.scale ?? 2 },
    ) as string;
    return Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  } finally {
    await page.close();
  }
}
