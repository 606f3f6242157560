/**
 * `coprs eval --ckpt DIR --split S [--json]`: evaluate a checkpoint of any kind on frozen splits.
 * The checkpoint's kind picks the evaluation: mini-SAM → mIoU / cIoU with ground-truth box and point
 * prompts (src/models/sam/eval-cli.ts); policy → format validity and target accuracy of its chains
 * of thought (src/models/policy/eval.ts); coprs → gIoU, cIoU, heatmap gIoU/cIoU, format rate
 * (src/models/coprs/eval.ts, via eval-coprs.ts).
 */
import { readCheckpointMeta } from '../../train/checkpoint';
import { selectBackend } from '../../backend/select';
import { UsageError } from '../args';
import type { FlagSpec, Flags } from '../args';

export const EVAL_FLAGS: Record<string, FlagSpec> = {
  ckpt: { type: 'string', help: 'checkpoint folder (mini-SAM, policy or CoPRS)' },
  split: { type: 'string', help: 'dataset/split, e.g. refshapes/testA or reasonshapes/val (a bare split means refshapes); mini-SAM and CoPRS take a comma-separated list (defaults: val,testA,testB; CoPRS refshapes/testA,refshapes/testB,reasonshapes/test)' },
  prompt: { type: 'string', help: 'mini-SAM: box, point or box,point (default box,point)' },
  size: { type: 'string', help: 'expected size of the checkpoint (a checkpoint of another size is an error)' },
  multimask: { type: 'boolean', help: 'mini-SAM: keep the best of the three disambiguation masks by predicted IoU' },
  limit: { type: 'number', help: 'evaluate the first N samples of each split only' },
  temperature: { type: 'number', help: 'policy: sampling temperature (default 0 = greedy)' },
  group: { type: 'number', help: 'policy: rollouts per query (reports distinct responses per group; default 1)' },
  rows: { type: 'string', help: 'CoPRS: write per-sample rows (id, prior IoU, mask IoU, response, format) as JSONL to this file' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu' },
};

/** "refshapes/testA" → { dataset: 'refshapes', split: 'testA' }; a bare split name means refshapes. */
export function parseSplit(value: string): { dataset: string; split: string } {
  const parts = value.trim().split('/');
  if (parts.length === 1 && parts[0]) return { dataset: 'refshapes', split: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { dataset: parts[0], split: parts[1] };
  throw new UsageError(`--split "${value}": expected dataset/split, e.g. refshapes/testA`);
}

export async function evalCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (!flags.ckpt) throw new UsageError('--ckpt DIR is required');
  const dir = String(flags.ckpt);
  const meta = readCheckpointMeta(dir);
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (meta.kind === 'sam') {
    const splits = String(flags.split ?? 'val,testA,testB').split(',').map(parseSplit);
    const bad = splits.find((s) => s.dataset !== 'refshapes');
    if (bad) throw new UsageError(`--split ${bad.dataset}/${bad.split}: mini-SAM is evaluated on refshapes splits (val, testA, testB)`);
    const { samEvalCommand } = require('../../models/sam/eval-cli') as typeof import('../../models/sam/eval-cli');
    const r = await samEvalCommand({ ...flags, splits: splits.map((s) => s.split).join(','), prompts: flags.prompt ?? 'box,point' });
    return { kind: meta.kind, size: meta.size, step: meta.step, ...r };
  }
  if (meta.kind === 'policy') {
    if (!flags.split) throw new UsageError('--split is required for a policy checkpoint (e.g. refshapes/val)');
    const { dataset, split } = parseSplit(String(flags.split));
    await selectBackend({ backend: flags.backend as string | undefined });
    const t0 = performance.now();
    const { evaluatePolicy } = require('../../models/policy/eval') as typeof import('../../models/policy/eval');
    const { perSample, ...summary } = await evaluatePolicy(dir, {
      dataset, split, limit: flags.limit as number | undefined, temperature: (flags.temperature as number | undefined) ?? 0, G: (flags.group as number | undefined) ?? 1,
    }) as unknown as { perSample?: unknown } & Record<string, unknown>;
    void perSample;
    const out = { kind: meta.kind, size: meta.size, step: meta.step, ckpt: dir, dataset, split, seconds: Math.round((performance.now() - t0) / 100) / 10, ...summary };
    if (!flags.json) for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(18)} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : JSON.stringify(v)}`);
    return out;
  }
  if (meta.kind === 'coprs') {
    const { coprsEvalCommand } = require('./eval-coprs') as typeof import('./eval-coprs');
    return coprsEvalCommand(dir, meta, flags);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  throw new Error(`checkpoint ${dir} is a "${meta.kind}" checkpoint; coprs eval handles "sam", "policy" and "coprs" checkpoints`);
}
