/**
 * `coprs train sft --preset tiny|small|base --sam DIR --out DIR [--resume] [--steps N] [--seed N]
 * [--vision DIR] [--vision-lr F] [--init DIR] [--config FILE] [--json] [--backend B]`: stage 2, the policy cold start (src/train/sft/). The
 * preset's config (src/train/sft/config.ts) is merged with a JSON file of overrides and the flags
 * (unknown keys rejected). `--sam` names the frozen mini-SAM checkpoint (a folder with
 * checkpoint.json, or a stage-1 run folder with best/); `--sam stub` uses a random stub encoder
 * (development only). With --resume the run continues from OUT/latest with the config and encoder
 * saved there (only --steps may change it).
 */
import { selectBackend } from '../../backend/select';
import { resolveSftConfig } from '../../train/sft/config';
import { encoderFromFlag, trainSft } from '../../train/sft/trainer';
import { FlagSpec, Flags, UsageError } from '../args';
import { applyStepsAndSeed, configFileOverrides, presetFlag, requireOut } from '../train-flags';

export const TRAIN_SFT_FLAGS: Record<string, FlagSpec> = {
  preset: { type: 'string', help: 'tiny (seconds, tests) | small (the shipped CPU policy) | base (GPU)', default: 'small' },
  sam: { type: 'string', help: 'the frozen mini-SAM checkpoint folder (e.g. data/checkpoints/sam-S); "stub" = random stub encoder, development only' },
  out: { type: 'string', help: 'output folder: the policy checkpoint (best held-out step), log.jsonl, latest/ (required)' },
  resume: { type: 'boolean', help: 'continue from OUT/latest (weights, optimizer, step, RNG, data streams)' },
  vision: { type: 'string', help: 'start the vision stack from a `coprs train vision` checkpoint (stage 1b) instead of from scratch' },
  init: { type: 'string', help: 'start the whole policy from a stage-2 checkpoint (a warm restart: new optimizer and schedule; give a new dataSeed in --config)' },
  'vision-lr': { type: 'number', help: 'learning-rate factor of the vision stack (default 1; 0 freezes it)' },
  steps: { type: 'number', help: 'total optimizer steps (default: the preset\'s; with --resume, extends the run)' },
  seed: { type: 'number', help: 'seed of the initial weights and of the batch order (default 0)' },
  config: { type: 'string', help: 'JSON file of config overrides, e.g. {"batchSize": 8, "optim": {"lr": 0.001}, "model": {"layers": 3}}' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

export async function trainSftCommand(flags: Flags): Promise<Record<string, unknown>> {
  const out = requireOut(flags, 'where the policy checkpoint, log.jsonl and latest/ go');
  const preset = presetFlag(flags);
  const overrides = configFileOverrides(flags);
  applyStepsAndSeed(flags, overrides);
  if (flags.vision !== undefined || flags['vision-lr'] !== undefined) {
    const vi = { ...((overrides.visionInit as object) ?? {}) } as Record<string, unknown>;
    if (flags.vision !== undefined) vi.dir = String(flags.vision);
    if (flags['vision-lr'] !== undefined) vi.lrScale = flags['vision-lr'];
    overrides.visionInit = vi;
  }
  if (flags.init !== undefined) overrides.policyInit = { dir: String(flags.init) };
  if (flags.resume && (overrides.seed !== undefined || flags.config !== undefined || overrides.visionInit !== undefined || overrides.policyInit !== undefined)) {
    throw new UsageError('--resume continues with the config saved in OUT/latest; only --steps may be given with it');
  }
  const config = resolveSftConfig(preset, overrides);
  if (!flags.resume && (flags.sam === undefined || flags.sam === '')) {
    throw new UsageError('--sam DIR is required: the frozen mini-SAM checkpoint the policy reads (the shipped one is data/checkpoints/sam-S, once stage 1 has produced it); `--sam stub` trains against a random stub encoder, for development only');
  }
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const enc = flags.sam !== undefined ? encoderFromFlag(String(flags.sam)) : null;
  try {
    const result = await trainSft(config, {
      out,
      resume: !!flags.resume,
      steps: flags.steps as number | undefined,
      encoder: enc ? { encoder: enc.encoder, source: enc.source } : undefined,
      log: (l) => console.error(l),
    });
    return { ...result, backend: backend.name };
  } finally {
    enc?.dispose();
  }
}
