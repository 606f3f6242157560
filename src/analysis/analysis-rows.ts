/**
 * Per-sample rows for the analysis figures: greedy CoPRS evaluation (prior IoU, mask IoU, response;
 * src/models/coprs/eval.ts) joined with the CoT-consistency judge's scores, for each frozen split.
 * Rows can be cached in a folder, keyed by the checkpoint's weight hash, split and limit, so the two
 * analysis notebooks and the `figures` command evaluate a checkpoint once.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Sample } from '../data/sample';
import { loadSplit } from '../data/shapeworld/index';
import type { CoprsModel } from '../models/coprs/model';
import { evaluateCoprs, type CoprsEvalRow } from '../models/coprs/eval';
import { predict } from '../models/coprs/predict';
import { maskIoU } from '../metrics/iou';
import { writeFileAtomic } from '../util/atomic';
import { judgeCoT } from './cot-judge';
import type { SampleView } from './sample-figure';

/** An evaluation row (id, query, prior/mask IoU, response, format, length) with its split and the judge's scores. */
export interface AnalysisRow extends Omit<CoprsEvalRow, 'refPosFound'> {
  dataset: string;
  split: string;
  /** CoT-consistency score and its four dimensions (src/analysis/cot-judge.ts). */
  judge: number;
  logical: number;
  relevance: number;
  visual: number;
  localization: number;
}

export interface SplitRows {
  dataset: string;
  split: string;
  samples: Sample[];
  rows: AnalysisRow[];
  /** Seconds the evaluation took (0 when read from the cache). */
  seconds: number;
  cached: boolean;
}

export interface AnalysisRowsOptions {
  /** First N samples of each split. */
  limit?: number;
  /** Cache folder (rows-<dataset>-<split>-<limit|all>-<hash>.jsonl); none: always evaluate. */
  cacheDir?: string;
  /** The checkpoint's weight hash (cache key; required with cacheDir). */
  weightsSha256?: string;
  batchSize?: number;
  /** Generation cap (default: evaluateCoprs'). */
  maxTokens?: number;
  log?: ((line: string) => void) | null;
}

/** "refshapes/testA" → { dataset, split }. */
export function parseSplitName(s: string): { dataset: string; split: string } {
  const [dataset, split, ...rest] = s.trim().split('/');
  if (!dataset || !split || rest.length) throw new Error(`split "${s}": expected dataset/split, e.g. refshapes/testA`);
  return { dataset, split };
}

function cacheFile(o: AnalysisRowsOptions, dataset: string, split: string): string | null {
  if (!o.cacheDir) return null;
  if (!o.weightsSha256) throw new Error('analysisRows: cacheDir needs weightsSha256 (the cache key)');
  return path.join(o.cacheDir, `rows-${dataset}-${split}-${o.limit ?? 'all'}-${o.weightsSha256.slice(0, 12)}.jsonl`);
}

function judged(response: string, sample: Sample): Pick<AnalysisRow, 'judge' | 'logical' | 'relevance' | 'visual' | 'localization'> {
  const j = judgeCoT(response, sample);
  return { judge: j.total, logical: j.logical, relevance: j.relevance, visual: j.visual, localization: j.localization };
}

/** Evaluate (or read from the cache) and judge each split. */
export async function analysisRows(model: CoprsModel, splits: readonly string[], opts: AnalysisRowsOptions = {}): Promise<SplitRows[]> {
  const out: SplitRows[] = [];
  for (const name of splits) {
    const { dataset, split } = parseSplitName(name);
    const samples = await loadSplit(dataset, split, { limit: opts.limit });
    const file = cacheFile(opts, dataset, split);
    if (file && fs.existsSync(file)) {
      // the cache holds what the model produced; the judge is re-run (its rules may have changed)
      const rows = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AnalysisRow);
      if (rows.length === samples.length && rows.every((r, i) => r.id === samples[i].id)) {
        rows.forEach((r, i) => Object.assign(r, judged(r.response, samples[i])));
        opts.log?.(`${dataset}/${split}: ${rows.length} rows from ${path.basename(file)}`);
        out.push({ dataset, split, samples, rows, seconds: 0, cached: true });
        continue;
      }
    }
    const t0 = performance.now();
    const r = await evaluateCoprs(model, { samples, rows: true, batchSize: opts.batchSize, maxTokens: opts.maxTokens });
    const rows = (r.rows ?? []).map((row, i): AnalysisRow => {
      return {
        dataset, split, id: row.id, subset: row.subset, query: row.query, priorIoU: row.priorIoU, maskIoU: row.maskIoU, response: row.response,
        format: row.format, length: row.length, ...judged(row.response, samples[i]),
      };
    });
    const seconds = (performance.now() - t0) / 1000;
    opts.log?.(`${dataset}/${split}: evaluated ${rows.length} samples in ${seconds.toFixed(1)} s (gIoU ${r.gIoU.toFixed(3)}, heatmap gIoU ${r.heatmap.gIoU.toFixed(3)})`);
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    }
    out.push({ dataset, split, samples, rows, seconds, cached: false });
  }
  return out;
}

/** Predictions (prior probabilities, mask) for chosen samples, as figure views (one model batch). */
export function sampleViews(model: CoprsModel, picks: readonly { sample: Sample }[], opts: { maxTokens?: number } = {}): SampleView[] {
  if (picks.length === 0) return [];
  const preds = predict(model, picks.map((p) => p.sample.image), picks.map((p) => p.sample.query), opts);
  // Each view is scored from its own prediction (a different batch could, in principle, decode differently).
  return picks.map((p, i) => ({
    sample: p.sample, priorProb: preds[i].priorProb, mask: preds[i].mask, response: preds[i].response,
    priorIoU: maskIoU(preds[i].priorMask, p.sample.mask), maskIoU: maskIoU(preds[i].mask, p.sample.mask), judge: judgeCoT(preds[i].response, p.sample).total,
  }));
}
