/**
 * `coprs train sam --preset tiny|small|base --size S|M|L --out DIR [--resume] [--steps N] [--until N]
 * [--seed N] [--config FILE] [--json] [--backend B]`: stage 1, mini-SAM pretraining (src/train/sam/). The
 * preset's config (src/train/sam/config.ts) is merged with a JSON file of overrides and the flags
 * (unknown keys rejected). With --resume the run continues from OUT/latest with the config saved
 * there (only --steps may change it).
 */
import * as fs from 'fs';
import { selectBackend } from '../../backend/select';
import { parsePresetName } from '../../config/preset';
import { parseSamSize } from '../../models/sam/config';
import { resolveSamTrainConfig } from '../../train/sam/config';
import { trainSam } from '../../train/sam/trainer';
import { FlagSpec, Flags, UsageError } from '../args';

export const TRAIN_SAM_FLAGS: Record<string, FlagSpec> = {
  preset: { type: 'string', help: 'tiny (seconds, tests) | small (the shipped CPU run) | base (GPU)', default: 'small' },
  size: { type: 'string', help: 'mini-SAM size S | M | L (default S)' },
  out: { type: 'string', help: 'output folder: log.jsonl, latest/, best/ (required)' },
  resume: { type: 'boolean', help: 'continue from OUT/latest (weights, optimizer, step, RNG, data stream)' },
  steps: { type: 'number', help: 'total optimizer steps (default: the preset\'s; with --resume, extends the run)' },
  until: { type: 'number', help: 'stop this run at step N (the schedule still spans --steps); continue later with --resume' },
  seed: { type: 'number', help: 'seed of the initial weights and of prompt sampling (default 0)' },
  config: { type: 'string', help: 'JSON file of config overrides, e.g. {"imagesPerStep": 4, "optim": {"lr": 0.001}}' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

export async function trainSamCommand(flags: Flags): Promise<Record<string, unknown>> {
  const out = flags.out;
  if (typeof out !== 'string' || out.trim() === '') throw new UsageError('--out DIR is required (where log.jsonl, latest/ and best/ go)');
  let preset;
  try {
    preset = parsePresetName(flags.preset as string | undefined);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const overrides: Record<string, unknown> = {};
  if (typeof flags.config === 'string') {
    let text: string;
    try {
      text = fs.readFileSync(flags.config, 'utf8');
    } catch (e) {
      throw new UsageError(`--config ${flags.config}: cannot read it (${(e as Error).message})`);
    }
    try {
      Object.assign(overrides, JSON.parse(text));
    } catch (e) {
      throw new UsageError(`--config ${flags.config}: not valid JSON (${(e as Error).message})`);
    }
  }
  if (flags.size !== undefined) {
    try {
      overrides.size = parseSamSize(flags.size);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (flags.steps !== undefined) {
    if (!Number.isInteger(flags.steps) || (flags.steps as number) < 1) throw new UsageError(`--steps expects a positive integer, got ${flags.steps}`);
    overrides.steps = flags.steps;
  }
  if (flags.seed !== undefined) {
    if (!Number.isInteger(flags.seed)) throw new UsageError(`--seed expects an integer, got ${flags.seed}`);
    overrides.seed = flags.seed;
  }
  if (flags.resume && (overrides.size !== undefined || overrides.seed !== undefined || flags.config !== undefined)) {
    throw new UsageError('--resume continues with the config saved in OUT/latest; only --steps may be given with it');
  }
  if (flags.until !== undefined && (!Number.isInteger(flags.until) || (flags.until as number) < 1)) throw new UsageError(`--until expects a positive integer step, got ${flags.until}`);
  const config = resolveSamTrainConfig(preset, overrides);
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const result = await trainSam(config, {
    out, resume: !!flags.resume, steps: flags.steps as number | undefined, untilStep: flags.until as number | undefined, log: (l) => console.error(l),
  });
  return { ...result, backend: backend.name };
}
