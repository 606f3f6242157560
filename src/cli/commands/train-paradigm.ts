/**
 * `coprs train paradigm --paradigm <lisa|seg-zero|…> --preset tiny|small|base --sam DIR --policy DIR
 * --out DIR [--resume] [--steps N] [--set key=value,…] [--config FILE] [--json] [--backend B]`:
 * trains one registered paradigm (src/paradigms/) from the shipped stage-1 mini-SAM and stage-2
 * policy with the generic trainer (OUT: weights, log.jsonl, completions/, latest/). The preset
 * fixes the matched budget (steps, completions per step: src/paradigms/types.ts PARADIGM_BUDGET);
 * --steps changes it for this run. With --resume the run continues from OUT/latest with its saved
 * config (only --steps may change it).
 */
import { selectBackend } from '../../backend/select';
import { parseOverrides } from '../../config/merge';
import { getParadigm, paradigmNames } from '../../paradigms/registry';
import { trainParadigm } from '../../paradigms/trainer';
import { FlagSpec, Flags, UsageError } from '../args';
import { applyStepsAndSeed, configFileOverrides, presetFlag, requireOut } from '../train-flags';
import { splitSetPairs } from './train-coprs';

export const TRAIN_PARADIGM_FLAGS: Record<string, FlagSpec> = {
  paradigm: { type: 'string', help: 'the paradigm to train: lisa | seg-zero | … (coprs train paradigm --paradigm ? lists them) (required)' },
  preset: { type: 'string', help: 'tiny (seconds, tests) | small (the CPU demo) | base (GPU); fixes the matched budget', default: 'small' },
  sam: { type: 'string', help: 'the stage-1 mini-SAM checkpoint folder (e.g. data/checkpoints/sam-S) (required for a new run)' },
  policy: { type: 'string', help: 'the stage-2 policy checkpoint folder, trained on that mini-SAM (e.g. data/checkpoints/policy-small) (required for a new run)' },
  out: { type: 'string', help: 'output folder: the paradigm checkpoint, log.jsonl, completions/, latest/ (required)' },
  resume: { type: 'boolean', help: 'continue from OUT/latest (weights, optimizer, step, RNG, data stream, reference policy)' },
  set: { type: 'string', help: 'config overrides key=value, several separated by commas, e.g. --set optim.lr=3e-4,coldStart.steps=10' },
  config: { type: 'string', help: 'JSON file of config overrides' },
  steps: { type: 'number', help: 'total optimizer steps (default: the preset\'s matched budget; with --resume, extends the run)' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

/** Deep merge of plain override objects (later wins). */
function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && v && typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev) && !Array.isArray(v) ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export async function trainParadigmCommand(flags: Flags): Promise<Record<string, unknown>> {
  const name = String(flags.paradigm ?? '');
  if (!name) throw new UsageError(`--paradigm NAME is required; known paradigms: ${paradigmNames().join(', ')}`);
  try {
    getParadigm(name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = requireOut(flags, 'where the paradigm checkpoint, log.jsonl, completions/ and latest/ go');
  const preset = presetFlag(flags);
  let overrides = configFileOverrides(flags);
  if (typeof flags.set === 'string') {
    try {
      overrides = deepMerge(overrides, parseOverrides(splitSetPairs(flags.set)));
    } catch (e) {
      throw new UsageError(`--set: ${(e as Error).message}`);
    }
  }
  applyStepsAndSeed(flags, overrides);
  if (flags.resume) {
    const extra = Object.keys(overrides).filter((k) => k !== 'steps');
    if (extra.length > 0) throw new UsageError(`--resume continues with the config saved in OUT/latest; only --steps may be given with it (got ${extra.join(', ')})`);
  } else {
    try {
      getParadigm(name).resolveConfig(preset, overrides);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!flags.sam) throw new UsageError('--sam DIR is required: the stage-1 mini-SAM checkpoint (e.g. data/checkpoints/sam-S)');
    if (!flags.policy) throw new UsageError('--policy DIR is required: the stage-2 policy checkpoint trained on that mini-SAM (e.g. data/checkpoints/policy-small)');
  }
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const result = await trainParadigm(name, {
    out, preset, overrides, sam: flags.sam as string | undefined, policy: flags.policy as string | undefined,
    resume: !!flags.resume, steps: flags.steps as number | undefined, log: (l) => console.error(l),
  });
  return { ...result, backend: backend.name };
}
