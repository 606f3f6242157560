/**
 * `coprs train vision --preset tiny|small|base --sam DIR --out DIR [--resume] [--steps N] [--seed N]
 * [--config FILE] [--json] [--backend B]`: stage 1b, the vision pre-training of the policy's vision
 * stack (src/train/vision/): patch tower + projector trained alone, mini-SAM frozen, on per-token
 * scene-graph targets. `coprs train sft --vision OUT` starts stage 2 from it.
 */
import { selectBackend } from '../../backend/select';
import { resolveVisionConfig } from '../../train/vision/config';
import { trainVision } from '../../train/vision/trainer';
import { encoderFromFlag } from '../../train/sft/trainer';
import { FlagSpec, Flags, UsageError } from '../args';
import { applyStepsAndSeed, configFileOverrides, presetFlag, requireOut } from '../train-flags';

export const TRAIN_VISION_FLAGS: Record<string, FlagSpec> = {
  preset: { type: 'string', help: 'tiny (seconds, tests) | small (the shipped policy\'s vision stack) | base (GPU)', default: 'small' },
  sam: { type: 'string', help: 'the frozen mini-SAM checkpoint folder (e.g. data/checkpoints/sam-S) (required)' },
  out: { type: 'string', help: 'output folder: the vision checkpoint, log.jsonl, latest/ (required)' },
  resume: { type: 'boolean', help: 'continue from OUT/latest' },
  steps: { type: 'number', help: 'total optimizer steps (default: the preset\'s)' },
  seed: { type: 'number', help: 'seed of the initial weights (default 0, as stage 2)' },
  config: { type: 'string', help: 'JSON file of config overrides, e.g. {"batchSize": 16, "optim": {"lr": 0.001}}' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

export async function trainVisionCommand(flags: Flags): Promise<Record<string, unknown>> {
  const out = requireOut(flags, 'where the vision checkpoint, log.jsonl and latest/ go');
  const overrides = configFileOverrides(flags);
  applyStepsAndSeed(flags, overrides);
  const config = resolveVisionConfig(presetFlag(flags), overrides);
  if (typeof flags.sam !== 'string' || flags.sam === '') throw new UsageError('--sam DIR is required: the frozen mini-SAM checkpoint the policy reads (data/checkpoints/sam-S)');
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const enc = encoderFromFlag(flags.sam);
  try {
    const r = await trainVision(config, { out, encoder: enc.encoder, source: enc.source, resume: !!flags.resume, log: (l) => console.error(l) });
    return { ...r, backend: backend.name };
  } finally {
    enc.dispose();
  }
}
