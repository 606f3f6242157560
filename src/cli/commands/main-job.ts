/**
 * The CoPRS part of `npm start`: stage 3 from the shipped stage-1/2 checkpoints, greedy evaluation
 * on the frozen test splits, and the results table and heatmap figures in figures/.
 *
 * `small` (the default) runs the `small` stage-3 preset with `mainJob.steps` steps (sized so that
 * training plus evaluation fit in 15 minutes on a 2-core CPU); `tiny` (COPRS_PRESET=tiny) is a smoke
 * run: 3 steps and 4 samples per split.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadSplit } from '../../data/shapeworld/index';
import type { Sample } from '../../data/sample';
import { evaluateCoprs, type CoprsEvalResult } from '../../models/coprs/eval';
import { loadCoprs } from '../../models/coprs/checkpoint';
import { predictionGridPng } from '../../models/coprs/predict';
import { resolveCoprsTrainConfig } from '../../train/coprs/config';
import { trainCoprs } from '../../train/coprs/trainer';
import { display } from '../../notebook/display';
import { FIGURES_DIR, PACKAGE_ROOT } from '../../util/paths';
import { writeFileAtomic } from '../../util/atomic';
import type { PresetName } from '../../config/preset';

/** The shipped stage-1 and stage-2 checkpoints the main job starts from. */
export const SHIPPED = { sam: 'data/checkpoints/sam-S', policy: 'data/checkpoints/policy-small' } as const;

/** The evaluation splits of the results table (DESIGN §3: testA/testB are the RefCOCO analogs, reasonshapes/test zero-shot). */
export const RESULT_SPLITS: [string, string][] = [['refshapes', 'testA'], ['refshapes', 'testB'], ['reasonshapes', 'test']];

export interface MainJobOptions {
  preset: PresetName;
  /** Stage-3 mode (default combined). */
  mode?: string;
  /** Override the number of stage-3 steps. */
  steps?: number;
  /** Evaluate at most this many samples per split. */
  limit?: number;
  /** Run folder (default runs/main-<mode>). */
  out?: string;
  say?: (s: string) => void;
}

export interface ResultRow {
  split: string;
  n: number;
  gIoU: number;
  cIoU: number;
  'heatmap gIoU': number;
  'heatmap cIoU': number;
  'format rate': number;
  [k: string]: string | number;
}

export function resultRow(r: CoprsEvalResult, name: string): ResultRow {
  const f = (v: number) => Number(v.toFixed(4));
  return { split: name, n: r.n, gIoU: f(r.gIoU), cIoU: f(r.cIoU), 'heatmap gIoU': f(r.heatmap.gIoU), 'heatmap cIoU': f(r.heatmap.cIoU), 'format rate': f(r.formatRate) };
}

/** Markdown table of result rows. */
export function markdownTable(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0]);
  const fmt = (v: string | number) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v));
  return [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`)].join('\n');
}

/**
 * Stage-3 overrides of the `small` preset for a kit preset: none for small/base; for `tiny` (CI,
 * notebooks under COPRS_PRESET=tiny) a 3-step smoke run of 4 completions, one of them a warm-up step.
 */
export function mainJobOverrides(preset: PresetName): Record<string, unknown> {
  return preset === 'tiny' ? { steps: 3, batchSize: 4, warmup: { steps: 1 }, heldout: { samples: 0, every: 0 }, logEvery: 1, completionsEvery: 0, checkpointEvery: 3 } : {};
}

export function checkShipped(): void {
  for (const [what, dir] of Object.entries(SHIPPED)) {
    const file = path.join(PACKAGE_ROOT, dir, 'checkpoint.json');
    if (!fs.existsSync(file)) {
      const how = what === 'sam' ? 'node bin/coprs.js train sam --preset small --size S --out data/checkpoints/sam-S' : 'node bin/coprs.js train sft --preset small --sam data/checkpoints/sam-S --out data/checkpoints/policy-small';
      throw new Error(`the shipped ${what} checkpoint is missing (${dir}); rebuild it with: ${how}`);
    }
  }
}

export async function runMainJob(opts: MainJobOptions): Promise<{ rows: ResultRow[]; out: string; figures: string[]; train: Record<string, unknown> }> {
  const say = opts.say ?? ((s: string) => console.error(s));
  const tiny = opts.preset === 'tiny';
  const mode = opts.mode ?? 'combined';
  checkShipped();
  const overrides: Record<string, unknown> = { mode, ...mainJobOverrides(opts.preset) };
  if (opts.steps != null) overrides.steps = opts.steps;
  const config = resolveCoprsTrainConfig('small', overrides);
  const out = path.resolve(PACKAGE_ROOT, opts.out ?? path.join('runs', `main-${mode}${tiny ? '-tiny' : ''}`));
  fs.rmSync(out, { recursive: true, force: true }); // the main job is one fresh run
  say(`stage 3 (${mode}, ${config.steps} steps of ${config.batchSize} completions, ${config.warmup.steps} SEG warm-up) from ${SHIPPED.sam} + ${SHIPPED.policy} -> ${path.relative(PACKAGE_ROOT, out)}`);
  const t = await trainCoprs(config, { out, sam: path.join(PACKAGE_ROOT, SHIPPED.sam), policy: path.join(PACKAGE_ROOT, SHIPPED.policy), log: (l) => say(l) });
  say(`stage 3: ${t.step} steps in ${t.seconds.toFixed(0)} s (${(t.msPerStep / 1000).toFixed(1)} s/step)`);

  const limit = opts.limit ?? (tiny ? 4 : undefined);
  const { model } = loadCoprs(out);
  const rows: ResultRow[] = [];
  const figures: string[] = [];
  try {
    for (const [dataset, split] of RESULT_SPLITS) {
      const r = await evaluateCoprs(model, { dataset, split, limit });
      rows.push(resultRow(r, `${dataset}/${split}`));
      say(`${dataset}/${split}: n ${r.n}, gIoU ${r.gIoU.toFixed(3)}, cIoU ${r.cIoU.toFixed(3)}, heatmap cIoU ${r.heatmap.cIoU.toFixed(3)}, format ${r.formatRate.toFixed(3)} (${(r.ms / 1000).toFixed(0)} s)`);
    }
    const show: Sample[] = [...(await loadSplit('refshapes', 'testA', { limit: 3 })), ...(await loadSplit('reasonshapes', 'test', { limit: 3 }))];
    const grid = await predictionGridPng(model, show);
    await display.png(grid.png, { save: `coprs-heatmaps-${mode}` });
    figures.push(path.join(FIGURES_DIR, `coprs-heatmaps-${mode}.png`));
  } finally {
    model.dispose();
  }
  const md = [
    `# CoPRS Lab — main job results (${mode}${tiny ? ', tiny smoke run' : ''})`,
    '',
    `Stage 3 \`small\` (${t.step} steps, seed ${config.seed}) from ${SHIPPED.sam} and ${SHIPPED.policy}; greedy decoding; ${(t.msPerStep / 1000).toFixed(1)} s/step over ${t.seconds.toFixed(0)} s. Printed by \`npm start\`.`,
    '',
    markdownTable(rows),
    '',
  ].join('\n');
  const mdFile = path.join(FIGURES_DIR, `results-${mode}.md`);
  writeFileAtomic(mdFile, md);
  writeFileAtomic(path.join(FIGURES_DIR, `results-${mode}.json`), `${JSON.stringify({ mode, steps: t.step, seconds: t.seconds, msPerStep: t.msPerStep, rows }, null, 2)}\n`);
  figures.push(mdFile, path.join(FIGURES_DIR, `results-${mode}.json`));
  return { rows, out, figures, train: { step: t.step, seconds: t.seconds, msPerStep: t.msPerStep, best: t.best } };
}
