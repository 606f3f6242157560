/**
 * `coprs eval-paradigm --ckpt DIR [--split S[,S…]] [--limit N] [--max-tokens N] [--rows FILE] [--json]
 * [--backend B]`: evaluates a paradigm checkpoint (kind 'paradigm', written by `coprs train
 * paradigm`) greedily with the generic evaluator (src/paradigms/eval.ts): per split gIoU, cIoU
 * (per subset where the split has short/long queries) and inference time per sample; default
 * splits refshapes val/testA/testB and reasonshapes val/test. `--rows FILE` writes one JSON line
 * per sample (split, id, IoU, response, extras).
 */
import * as fs from 'fs';
import * as path from 'path';
import { selectBackend } from '../../backend/select';
import { loadParadigm } from '../../paradigms/registry';
import { PARADIGM_EVAL_SPLITS, evaluateParadigm, parseSplitName } from '../../paradigms/eval';
import { writeFileAtomic } from '../../util/atomic';
import { FlagSpec, Flags, UsageError } from '../args';

export const EVAL_PARADIGM_FLAGS: Record<string, FlagSpec> = {
  ckpt: { type: 'string', help: 'a paradigm checkpoint folder (the OUT of `coprs train paradigm`, or OUT/latest) (required)' },
  split: { type: 'string', help: `comma-separated dataset/split names (default ${PARADIGM_EVAL_SPLITS.join(',')})` },
  limit: { type: 'number', help: 'samples per split (default all)' },
  'max-tokens': { type: 'number', help: 'greedy generation cap (default: the checkpoint config\'s maxTokens)' },
  rows: { type: 'string', help: 'write per-sample rows (JSONL) to this file' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

export async function evalParadigmCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (typeof flags.ckpt !== 'string') throw new UsageError('--ckpt DIR is required: a paradigm checkpoint written by `coprs train paradigm`');
  const splits = flags.split !== undefined ? String(flags.split).split(',') : [...PARADIGM_EVAL_SPLITS];
  try {
    splits.forEach(parseSplitName);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const k of ['limit', 'max-tokens'] as const) {
    if (flags[k] !== undefined && (!Number.isInteger(flags[k]) || (flags[k] as number) < 1)) throw new UsageError(`--${k} expects a positive integer, got ${flags[k]}`);
  }
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const t0 = performance.now();
  const p = loadParadigm(flags.ckpt);
  try {
    const r = await evaluateParadigm(p, { splits, limit: flags.limit as number | undefined, maxTokens: flags['max-tokens'] as number | undefined, rows: typeof flags.rows === 'string' });
    const lines: string[] = [];
    for (const s of r.results) {
      for (const row of s.rows ?? []) lines.push(JSON.stringify({ dataset: s.dataset, split: s.split, ...row }));
      delete s.rows;
      if (!flags.json) {
        const sub = s.subsets ? Object.entries(s.subsets).map(([k, v]) => `  ${k}: gIoU ${v.gIoU.toFixed(4)} cIoU ${v.cIoU.toFixed(4)}`).join('') : '';
        console.log(`${`${s.dataset}/${s.split}`.padEnd(22)} gIoU ${s.gIoU.toFixed(4)}  cIoU ${s.cIoU.toFixed(4)}${sub}  n ${s.n}  ${s.msPerSample.toFixed(1)} ms/sample`);
      }
    }
    if (typeof flags.rows === 'string') {
      fs.mkdirSync(path.dirname(path.resolve(flags.rows)), { recursive: true });
      writeFileAtomic(flags.rows, lines.length ? `${lines.join('\n')}\n` : '');
    }
    return { ...r, ckpt: flags.ckpt, backend: backend.name, seconds: Math.round((performance.now() - t0) / 100) / 10 };
  } finally {
    p.dispose();
  }
}
