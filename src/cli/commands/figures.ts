/**
 * `coprs figures --model DIR [--run DIR] [--split S,S…] [--limit N] [--out figures/] [--results DIR] [--json]`:
 * the paper's analysis figures for a CoPRS checkpoint (Fig. 3, 4, 5, 7, 8 and Table 3 analogs;
 * src/analysis/paper-figures.ts) as PNGs under --out, and the numbers behind them (R, slopes, bin
 * means, per-sample rows) as CSV/JSON under --results (default data/results/analysis).
 */
import * as path from 'path';
import { selectBackend } from '../../backend/select';
import { DEFAULT_ANALYSIS_SPLITS, analysisSummary, runPaperAnalysis, writePaperAnalysis } from '../../analysis/paper-figures';
import { panelCaption } from '../../analysis/correlation-figure';
import { DATA_DIR, FIGURES_DIR, PACKAGE_ROOT } from '../../util/paths';
import { UsageError, type FlagSpec, type Flags } from '../args';

export const FIGURES_FLAGS: Record<string, FlagSpec> = {
  model: { type: 'string', help: 'CoPRS checkpoint folder (e.g. data/checkpoints/coprs-small)' },
  run: { type: 'string', help: 'stage-3 run folder or log.jsonl for the training panel (default: the checkpoint folder)' },
  split: { type: 'string', help: `comma-separated dataset/split list (default ${DEFAULT_ANALYSIS_SPLITS.join(',')})` },
  'figure-split': { type: 'string', help: 'split of the sample figures (Fig. 5, 7, 8; default: the last reasonshapes split)' },
  limit: { type: 'number', help: 'first N samples of each split' },
  k: { type: 'number', help: 'samples in Fig. 5 and Fig. 7 (default 4)' },
  out: { type: 'string', help: 'figures folder (default figures/)' },
  results: { type: 'string', help: 'folder of the numbers (default data/results/analysis)' },
  prefix: { type: 'string', help: 'figure file-name prefix (default fig: fig3-correlation.png, …)' },
  cache: { type: 'string', help: 'cache folder for evaluation rows (keyed by the weights hash; default: none)' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu' },
};

const posInt = (v: unknown, name: string) => {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) throw new UsageError(`--${name} expects a positive integer, got ${v}`);
  return v as number | undefined;
};

export async function figuresCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (!flags.model) throw new UsageError('--model DIR is required (a CoPRS checkpoint, e.g. data/checkpoints/coprs-small)');
  const limit = posInt(flags.limit, 'limit');
  const k = posInt(flags.k, 'k');
  const splits = flags.split ? String(flags.split).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const log = flags.json ? (l: string) => console.error(l) : (l: string) => console.log(l);
  const a = await runPaperAnalysis({
    model: String(flags.model), run: flags.run as string | undefined, splits, figureSplit: flags['figure-split'] as string | undefined,
    limit, k, cacheDir: flags.cache as string | undefined, log,
  });
  const command = `coprs figures ${process.argv.slice(3).join(' ')}`.trim();
  const files = await writePaperAnalysis(a, {
    figuresDir: path.resolve(String(flags.out ?? FIGURES_DIR)),
    resultsDir: path.resolve(String(flags.results ?? path.join(DATA_DIR, 'results', 'analysis'))),
    prefix: flags.prefix as string | undefined,
    command,
  });
  if (!flags.json) {
    for (const p of [a.training.panel, ...a.inference]) log(`${p.title.padEnd(38)} ${panelCaption(p)}${p.fit ? ` · intercept ${p.fit.intercept.toFixed(3)} · ${(100 * p.aboveDiagonal).toFixed(0)}% above y = x` : ''}`);
    for (const c of a.consistency) {
      log(`consistency ${c.split}: R(score, heatmap IoU) ${c.panels[0].r?.toFixed(3) ?? '–'} · R(score, mask IoU) ${c.panels[1].r?.toFixed(3) ?? '–'}`);
      for (const g of c.conclusions) log(`  chain concludes: ${g.conclusion.padEnd(20)} n ${String(g.samples).padStart(4)}  heatmap mIoU ${Number.isFinite(g.heatmapMIoU) ? g.heatmapMIoU.toFixed(3) : '–'}  mask mIoU ${Number.isFinite(g.maskMIoU) ? g.maskMIoU.toFixed(3) : '–'}`);
      for (const b of c.bins) log(`  ${b.range.padEnd(12)} n ${String(b.samples).padStart(4)}  heatmap mIoU ${Number.isFinite(b.heatmapMIoU) ? b.heatmapMIoU.toFixed(3) : '–'}  mask mIoU ${Number.isFinite(b.maskMIoU) ? b.maskMIoU.toFixed(3) : '–'}`);
    }
    log(`failure traits (${a.figureSplit}, lowest ${a.failureTraits.failures} of ${a.failureTraits.all}): ${a.failureTraits.traits.map((t) => `${t.trait} ${t.failures.toFixed(3)} vs ${t.all.toFixed(3)}`).join(' · ')}`);
    log(`wrote ${files.map((f) => path.relative(PACKAGE_ROOT, f)).join(', ')} (${a.seconds.toFixed(0)} s)`);
  }
  return { backend: backend.name, command, ...analysisSummary(a), files: files.map((f) => path.relative(PACKAGE_ROOT, f)) };
}
