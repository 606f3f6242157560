/**
 * A sweep's results: one row per (point, seed), written as DIR/results.csv through danfojs-node
 * (the completions writer's path: DataFrame → toCSV, strings quoted) and DIR/results.json; read
 * back with danfojs' readCSV. The columns are fixed (RESULT_COLUMNS, then the per-split metric
 * columns of EVAL_SPLITS, then any columns a custom point runner adds), so figures can rely on them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeCompletionsCsv } from '../train/coprs/completions';

/** Evaluation of one split. */
export interface SplitMetrics {
  n: number;
  gIoU: number;
  cIoU: number;
  heatmapGIoU: number;
  heatmapCIoU: number;
  formatRate: number;
}

/** The evaluation splits of every point (DESIGN §3): refshapes val/testA/testB, reasonshapes val/test (zero-shot). */
export const EVAL_SPLITS: [string, string][] = [['refshapes', 'val'], ['refshapes', 'testA'], ['refshapes', 'testB'], ['reasonshapes', 'val'], ['reasonshapes', 'test']];

export type Cell = number | string | boolean | null;
export type ResultRow = Record<string, Cell>;

/** The fixed columns, in order, with what each holds. */
export const RESULT_COLUMNS: Record<string, string> = {
  ablation: 'ablation name',
  point: 'point id (the run folder is <point>_s<seed>)',
  label: 'point label on figures',
  value: 'the swept value (number or category)',
  is_default: 'the preset\'s default setting',
  seed: 'stage-3 seed',
  preset: 'sweep preset',
  steps: 'stage-3 steps (warm-up included)',
  warmup_steps: 'SEG warm-up steps',
  G: 'group size',
  batch_size: 'completions per GRPO step',
  prompts_per_step: 'prompts per GRPO step',
  mode: 'combined | rl | seg',
  mask_weight: 'mask reward weight',
  format_weight: 'format reward weight',
  lambda_d: 'λ_d before the switch step',
  lambda_f: 'λ_f before the switch step',
  lambda_d_after: 'λ_d from the switch step',
  lambda_f_after: 'λ_f from the switch step',
  sam_size: 'mini-SAM size',
  policy_size: 'policy size',
  sam_from: 'shipped | cached | trained',
  policy_from: 'shipped | cached | trained',
  params_total: 'parameters of the CoPRS model (frozen encoder included)',
  params_policy: 'policy parameters',
  params_image_encoder: 'mini-SAM image encoder parameters (frozen)',
  params_heatmap_head: 'heatmap head parameters',
  params_prompt_encoder: 'prompt encoder parameters',
  params_mask_decoder: 'mask decoder parameters',
  final_reward: 'mean training reward over the last convergence window of GRPO steps',
  final_mask_iou: 'mean training mask IoU over the same steps',
  final_loss: 'mean training loss over the same steps',
  conv_step: 'samples-to-convergence: the step where the stable tail starts (empty: not converged)',
  conv_samples: 'GRPO completions seen up to conv_step',
  conv_window: 'convergence window, steps',
  final_fluctuation: 'loss fluctuation (max − min)/|mean| of the last window',
  train_seconds: 'stage-3 training wall time, s',
  ms_per_step: 'mean ms per stage-3 step',
};

/** The metric columns of a split key "refshapes/val": refshapes_val_{n,giou,ciou,heatmap_giou,heatmap_ciou,format}. */
export function splitColumns(key: string): string[] {
  const p = key.replace('/', '_');
  return [`${p}_n`, `${p}_giou`, `${p}_ciou`, `${p}_heatmap_giou`, `${p}_heatmap_ciou`, `${p}_format`];
}

/** The metric cells of a split. */
export function splitCells(key: string, m: SplitMetrics | undefined): Record<string, Cell> {
  const [n, g, c, hg, hc, f] = splitColumns(key);
  const r4 = (v: number) => Number(v.toFixed(4));
  return m ? { [n]: m.n, [g]: r4(m.gIoU), [c]: r4(m.cIoU), [hg]: r4(m.heatmapGIoU), [hc]: r4(m.heatmapCIoU), [f]: r4(m.formatRate) } : { [n]: null, [g]: null, [c]: null, [hg]: null, [hc]: null, [f]: null };
}

/** Every column of a results table, in order: the fixed ones, the split metrics, then extra columns the rows hold. */
export function resultColumns(rows: ResultRow[]): string[] {
  const fixed = [...Object.keys(RESULT_COLUMNS), ...EVAL_SPLITS.flatMap(([d, s]) => splitColumns(`${d}/${s}`))];
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => !fixed.includes(c));
  return [...fixed, ...extra];
}

/** Write DIR/results.csv (danfojs-node) and DIR/results.json; returns the CSV path and the writer used. */
export function writeResults(dir: string, rows: ResultRow[], meta: Record<string, unknown>): { csv: string; json: string; writer: string } {
  const columns = resultColumns(rows);
  const ordered = rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null])) as ResultRow);
  const csv = path.join(dir, 'results.csv');
  const json = path.join(dir, 'results.json');
  const w = ordered.length > 0 ? writeCompletionsCsv(csv, ordered) : (fs.writeFileSync(csv, `${columns.map((c) => `"${c}"`).join(',')}\n`), { writer: 'plain' });
  fs.writeFileSync(json, `${JSON.stringify({ ...meta, columns, rows: ordered }, null, 2)}\n`);
  return { csv, json, writer: w.writer };
}

/**
 * Read a results CSV with danfojs' readCSV: one object per row, numbers as numbers, empty cells as
 * null, booleans (written as 1/0) left as numbers.
 */
export async function readResultsCsv(file: string): Promise<ResultRow[]> {
  if (!fs.existsSync(file)) throw new Error(`no results CSV at ${file}; run the sweep first (coprs sweep --ablation NAME --out DIR)`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dfd = require('danfojs-node') as { readCSV: (f: string) => Promise<{ columns: string[]; values: unknown[][] }> };
  const df = await dfd.readCSV(file);
  const rows = df.values.map((vals) => {
    const row: ResultRow = {};
    df.columns.forEach((c, j) => {
      const v = vals[j];
      row[c] = v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v)) ? null : (v as Cell);
    });
    return row;
  });
  return rows;
}

/** Rows of results.json (no danfojs). */
export function readResultsJson(file: string): ResultRow[] {
  if (!fs.existsSync(file)) throw new Error(`no results at ${file}; run the sweep first (coprs sweep --ablation NAME --out DIR)`);
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { rows?: ResultRow[] };
  if (!Array.isArray(j.rows)) throw new Error(`${file}: not a sweep results file (no "rows")`);
  return j.rows;
}
