/**
 * `coprs train sam --preset tiny|small|base --size S|M|L --out DIR [--resume] [--steps N] [--until N]
 * [--seed N] [--config FILE] [--json] [--backend B]`: stage 1, mini-SAM pretraining (src/train/sam/). The
 * preset's config (src/train/sam/config.ts) is merged with a JSON file of overrides and the flags
 * (unknown keys rejected). With --resume the run continues from OUT/latest with the config saved
 * there (only --steps may change it).
 */
import { selectBackend } from '../../backend/select';
import { parseSamSize } from '../../models/sam/config';
import { resolveSamTrainConfig } from '../../train/sam/config';
import { trainSam } from '../../train/sam/trainer';
import { FlagSpec, Flags, UsageError } from '../args';
import { applyStepsAndSeed, configFileOverrides, presetFlag, requireOut } from '../train-flags';

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
  const out = requireOut(flags, 'where log.jsonl, latest/ and best/ go');
  const preset = presetFlag(flags);
  const overrides = configFileOverrides(flags);
  if (flags.size !== undefined) {
    try {
      overrides.size = parseSamSize(flags.size);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  applyStepsAndSeed(flags, overrides);
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
