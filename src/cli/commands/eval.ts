/**
 * `coprs eval --ckpt DIR --split S [--json]`: evaluate a checkpoint of any kind on a frozen split.
 * The checkpoint's kind picks the evaluation: mini-SAM → mIoU / cIoU with ground-truth box or point
 * prompts; policy → format validity and target accuracy of its chains of thought.
 */
import { readCheckpointMeta } from '../../train/checkpoint';
import { selectBackend } from '../../backend/select';
import { UsageError } from '../args';
import type { FlagSpec, Flags } from '../args';

export const EVAL_FLAGS: Record<string, FlagSpec> = {
  ckpt: { type: 'string', help: 'checkpoint folder (mini-SAM or policy)' },
  split: { type: 'string', help: 'dataset/split, e.g. refshapes/testA or reasonshapes/val (a bare split means refshapes)' },
  prompt: { type: 'string', help: 'mini-SAM: box | point (default box)' },
  limit: { type: 'number', help: 'evaluate the first N samples only' },
  temperature: { type: 'number', help: 'policy: sampling temperature (default 0 = greedy)' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu' },
};

/** "refshapes/testA" → ['refshapes', 'testA']; a bare split name means refshapes. */
export function parseSplit(value: string): { dataset: string; split: string } {
  const parts = value.split('/');
  if (parts.length === 1) return { dataset: 'refshapes', split: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { dataset: parts[0], split: parts[1] };
  throw new UsageError(`--split "${value}": expected dataset/split, e.g. refshapes/testA`);
}

export async function evalCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (!flags.ckpt) throw new UsageError('--ckpt DIR is required');
  if (!flags.split) throw new UsageError('--split is required (e.g. refshapes/testA)');
  const dir = String(flags.ckpt);
  const meta = readCheckpointMeta(dir);
  const { dataset, split } = parseSplit(String(flags.split));
  await selectBackend({ backend: flags.backend as string | undefined });
  const limit = flags.limit as number | undefined;
  const t0 = performance.now();
  let result: Record<string, unknown>;
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (meta.kind === 'sam') {
    const prompt = String(flags.prompt ?? 'box');
    if (prompt !== 'box' && prompt !== 'point') throw new UsageError(`--prompt "${prompt}": expected box or point`);
    if (dataset !== 'refshapes' && dataset !== 'reasonshapes') throw new UsageError(`--split ${dataset}/${split}: expected a ShapeWorld-RS split`);
    const { evaluateSam } = require('../../models/sam/eval');
    result = await evaluateSam(dir, { dataset, split, prompt, limit });
  } else if (meta.kind === 'policy') {
    const { evaluatePolicy } = require('../../models/policy/eval');
    result = await evaluatePolicy(dir, { dataset, split, limit, temperature: (flags.temperature as number | undefined) ?? 0 });
  } else {
    throw new Error(`checkpoint ${dir} is a "${meta.kind}" checkpoint; coprs eval handles "sam" and "policy" checkpoints`);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { perSample, ...summary } = result as { perSample?: unknown } & Record<string, unknown>;
  void perSample;
  const out = { kind: meta.kind, size: meta.size, ckpt: dir, dataset, split, seconds: Math.round((performance.now() - t0) / 100) / 10, ...summary };
  if (!flags.json) {
    for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(18)} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : JSON.stringify(v)}`);
  }
  return out;
}
