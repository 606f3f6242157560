/**
 * `coprs eval --ckpt DIR --split S[,S…] [--limit N] [--rows FILE] [--json]` for a CoPRS checkpoint:
 * greedy decoding, the training forward path, logits un-padded and resized to the original size,
 * thresholded at 0. Per split: gIoU, cIoU, heatmap gIoU/cIoU (the prior thresholded at logit 0),
 * format rate and n. `--rows FILE` writes one JSON line per sample (split, id, prior IoU, mask IoU,
 * response, format) for the correlation analysis.
 */
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../backend/select';
import type { CheckpointMeta } from '../../train/checkpoint';
import { loadCoprs } from '../../models/coprs/checkpoint';
import { evaluateCoprs } from '../../models/coprs/eval';
import { writeFileAtomic } from '../../util/atomic';
import { UsageError, type Flags } from '../args';
import { parseSplit } from './eval';

export const COPRS_DEFAULT_SPLITS = 'refshapes/testA,refshapes/testB,reasonshapes/test';

export async function coprsEvalCommand(dir: string, meta: CheckpointMeta, flags: Flags): Promise<Record<string, unknown>> {
  const splits = String(flags.split ?? COPRS_DEFAULT_SPLITS).split(',').map((s) => parseSplit(s));
  if (flags.limit !== undefined && (!Number.isInteger(flags.limit) || (flags.limit as number) < 1)) throw new UsageError(`--limit expects a positive integer, got ${flags.limit}`);
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const t0 = performance.now();
  const { model } = loadCoprs(dir);
  const results: Record<string, unknown>[] = [];
  const rows: string[] = [];
  try {
    for (const { dataset, split } of splits) {
      const r = await evaluateCoprs(model, { dataset, split, limit: flags.limit as number | undefined, rows: typeof flags.rows === 'string' });
      const { rows: perSample, ...summary } = r;
      for (const row of perSample ?? []) rows.push(JSON.stringify({ dataset, split, ...row }));
      results.push(summary);
      if (!flags.json) {
        console.log(`${`${dataset}/${split}`.padEnd(22)} gIoU ${r.gIoU.toFixed(4)}  cIoU ${r.cIoU.toFixed(4)}  heatmap gIoU ${r.heatmap.gIoU.toFixed(4)}  cIoU ${r.heatmap.cIoU.toFixed(4)}  format ${r.formatRate.toFixed(3)}  n ${r.n}  (${(r.ms / 1000).toFixed(1)} s)`);
      }
    }
  } finally {
    model.dispose();
  }
  if (typeof flags.rows === 'string') {
    fs.mkdirSync(path.dirname(path.resolve(flags.rows)), { recursive: true });
    writeFileAtomic(flags.rows, rows.length ? `${rows.join('\n')}\n` : '');
    if (!flags.json) console.log(`wrote ${rows.length} rows to ${flags.rows}`);
  }
  const out: Record<string, unknown> = { kind: meta.kind, size: meta.size, step: meta.step, ckpt: dir, backend: backend.name, seconds: Math.round((performance.now() - t0) / 100) / 10, results };
  if (results.length === 1) Object.assign(out, results[0]);
  if (typeof flags.rows === 'string') out.rows = flags.rows;
  return out;
}
