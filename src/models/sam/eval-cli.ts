/**
 * Evaluate a mini-SAM checkpoint on refshapes splits with ground-truth box and point prompts — what
 * `coprs eval --ckpt DIR` runs for a checkpoint of kind "sam":
 *
 *   coprs eval --ckpt data/checkpoints/sam-S [--split val,testA,testB] [--prompt box,point] [--limit N] [--multimask] [--json]
 *
 * `SAM_EVAL_FLAGS` and `samEvalCommand(flags)` follow the CLI's command convention (flags → result
 * object; with --json the result is the last stdout line).
 */
import { selectBackend } from '../../backend/select';
import { FlagSpec, Flags, UsageError } from '../../cli/args';
import { SAM_EVAL_PROMPTS, SAM_EVAL_SPLITS, SamEvalPrompt, SamEvalSplit, evaluateSam, loadSamCheckpoint } from './eval';

export const SAM_EVAL_FLAGS: Record<string, FlagSpec> = {
  ckpt: { type: 'string', help: 'mini-SAM checkpoint folder (checkpoint.json + weights.bin), e.g. data/checkpoints/sam-S' },
  splits: { type: 'string', help: `comma-separated refshapes splits (${SAM_EVAL_SPLITS.join(', ')})`, default: 'val,testA,testB' },
  prompts: { type: 'string', help: `comma-separated prompt kinds (${SAM_EVAL_PROMPTS.join(', ')})`, default: 'box,point' },
  limit: { type: 'number', help: 'only the first N samples of each split' },
  size: { type: 'string', help: 'expected size S | M | L (a checkpoint of another size is an error)' },
  multimask: { type: 'boolean', help: 'use the three disambiguation masks and keep the one of highest predicted IoU' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

function list<T extends string>(value: unknown, valid: readonly T[], flag: string): T[] {
  const items = String(value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of items) if (!(valid as readonly string[]).includes(s)) throw new UsageError(`--${flag}: unknown value "${s}"; expected ${valid.join(', ')}`);
  if (items.length === 0) throw new UsageError(`--${flag}: expected at least one of ${valid.join(', ')}`);
  return items as T[];
}

/** Evaluate every (split, prompt) pair; returns { ckpt, step, results: { [split]: { [prompt]: { mIoU, cIoU, count } } } }. */
export async function samEvalCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (typeof flags.ckpt !== 'string') throw new UsageError('--ckpt DIR is required');
  const splits = list<SamEvalSplit>(flags.splits ?? 'val,testA,testB', SAM_EVAL_SPLITS, 'splits');
  const prompts = list<SamEvalPrompt>(flags.prompts ?? 'box,point', SAM_EVAL_PROMPTS, 'prompts');
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const sam = loadSamCheckpoint(flags.ckpt, flags.size as string | undefined);
  const results: Record<string, Record<string, { mIoU: number; cIoU: number; count: number }>> = {};
  try {
    for (const split of splits) {
      results[split] = {};
      for (const prompt of prompts) {
        const r = await evaluateSam(sam, { split, prompt, limit: flags.limit as number | undefined, multimaskOutput: !!flags.multimask });
        results[split][prompt] = { mIoU: r.mIoU, cIoU: r.cIoU, count: r.count };
        if (!flags.json) console.log(`${split.padEnd(6)} ${prompt.padEnd(6)} mIoU ${r.mIoU.toFixed(4)}  cIoU ${r.cIoU.toFixed(4)}  (${r.count} samples, ${(r.ms / 1000).toFixed(1)} s)`);
      }
    }
  } finally {
    sam.dispose();
  }
  return { ckpt: flags.ckpt, backend: backend.name, multimask: !!flags.multimask, results };
}
