/**
 * `coprs train coprs --preset tiny|small|base --sam DIR --policy DIR --mode combined|rl|seg --out DIR
 * [--resume] [--set key=value[,key=value…]] [--config FILE] [--steps N] [--json] [--backend B]`:
 * stage 3, CoPRS unified training (src/train/coprs/). The preset's config
 * (src/train/coprs/config.ts) is merged with a JSON file of overrides, then the --set pairs, then
 * --mode/--steps; unknown keys are rejected. `--sam` is the stage-1 mini-SAM (a checkpoint folder or a
 * stage-1 run folder with best/), `--policy` the stage-2 policy checkpoint trained on that
 * mini-SAM. `--init DIR` starts a new run from a coprs checkpoint's weights instead (its model config
 * kept; the reference policy is its policy). With --resume the run continues from OUT/latest with its
 * saved config (only --steps may change it).
 */
import { selectBackend } from '../../backend/select';
import { parseOverrides } from '../../config/merge';
import { COPRS_MODES, resolveCoprsTrainConfig } from '../../train/coprs/config';
import { trainCoprs } from '../../train/coprs/trainer';
import { loadCoprs, readCoprsConfig, type CoprsSources } from '../../models/coprs/checkpoint';
import type { CoprsModel } from '../../models/coprs/model';
import { FlagSpec, Flags, UsageError } from '../args';
import { applyStepsAndSeed, configFileOverrides, presetFlag, requireOut } from '../train-flags';

export const TRAIN_COPRS_FLAGS: Record<string, FlagSpec> = {
  preset: { type: 'string', help: 'tiny (seconds, tests) | small (the CPU demo) | base (GPU)', default: 'small' },
  sam: { type: 'string', help: 'the stage-1 mini-SAM checkpoint folder (e.g. data/checkpoints/sam-S) (required for a new run)' },
  policy: { type: 'string', help: 'the stage-2 policy checkpoint folder, trained on that mini-SAM (e.g. data/checkpoints/policy-small) (required for a new run)' },
  mode: { type: 'string', help: `${COPRS_MODES.join(' | ')}: L_GRPO + λ_SEG·L_SEG, L_GRPO only, or L_SEG only (default: the preset's, combined)` },
  out: { type: 'string', help: 'output folder: the coprs checkpoint (best held-out step), log.jsonl, completions/, latest/ (required)' },
  init: { type: 'string', help: 'start a new run from a coprs checkpoint\'s weights (policy, head, prompt encoder, decoder; e.g. after coprs train head) instead of --sam/--policy; its model config (head, probe) is kept' },
  resume: { type: 'boolean', help: 'continue from OUT/latest (weights, reference policy, optimizer, step, RNG, data stream)' },
  set: { type: 'string', help: 'config overrides key=value, several separated by commas, e.g. --set grpo.G=8,batchSize=32,seg.preset=official-code,rewards.coprs=1' },
  config: { type: 'string', help: 'JSON file of config overrides, e.g. {"grpo": {"G": 8}, "optim": {"lr": 5e-5}}' },
  steps: { type: 'number', help: 'total optimizer steps (default: the preset\'s; with --resume, extends the run)' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

/** "a=1,b.c=x" → ["a=1", "b.c=x"]: split at commas (or semicolons) that start a new key=value pair, so JSON values keep theirs. */
export function splitSetPairs(value: string): string[] {
  return value.split(/[;,]\s*(?=[A-Za-z_][\w.-]*=)/).map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Deep merge of plain override objects (later wins). */
function mergeOverrides(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && v && typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev) && !Array.isArray(v) ? mergeOverrides(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export async function trainCoprsCommand(flags: Flags): Promise<Record<string, unknown>> {
  const out = requireOut(flags, 'where the coprs checkpoint, log.jsonl, completions/ and latest/ go');
  if (process.argv.filter((a) => a === '--set' || a.startsWith('--set=')).length > 1) {
    throw new UsageError('--set was given more than once (only the last would count); give every override in one --set, separated by commas: --set grpo.G=8,batchSize=32');
  }
  const preset = presetFlag(flags);
  let overrides = configFileOverrides(flags);
  if (typeof flags.set === 'string') {
    try {
      overrides = mergeOverrides(overrides, parseOverrides(splitSetPairs(flags.set)));
    } catch (e) {
      throw new UsageError(`--set: ${(e as Error).message}`);
    }
  }
  if (flags.mode !== undefined) {
    if (!(COPRS_MODES as readonly string[]).includes(String(flags.mode))) throw new UsageError(`--mode "${flags.mode}": expected one of ${COPRS_MODES.join(', ')}`);
    overrides.mode = flags.mode;
  }
  applyStepsAndSeed(flags, overrides);
  if (flags.resume) {
    const extra = Object.keys(overrides).filter((k) => k !== 'steps');
    if (extra.length > 0) throw new UsageError(`--resume continues with the config saved in OUT/latest; only --steps may be given with it (got ${extra.join(', ')})`);
  }
  if (flags.init && (flags.resume || flags.sam || flags.policy)) throw new UsageError('--init DIR starts a new run from a coprs checkpoint: give it without --resume, --sam and --policy');
  let initModel: { model: CoprsModel; sources: CoprsSources } | undefined;
  if (typeof flags.init === 'string') {
    const { config: initConfig } = readCoprsConfig(flags.init);
    overrides.model = initConfig.model; // the checkpoint's head and probe, whatever --set says
  }
  let config;
  try {
    config = resolveCoprsTrainConfig(preset, overrides);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!flags.resume && !flags.init) {
    if (!flags.sam) throw new UsageError('--sam DIR is required: the stage-1 mini-SAM checkpoint (e.g. data/checkpoints/sam-S)');
    if (!flags.policy) throw new UsageError('--policy DIR is required: the stage-2 policy checkpoint trained on that mini-SAM (e.g. data/checkpoints/policy-small)');
  }
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  if (typeof flags.init === 'string') {
    const loaded = loadCoprs(flags.init); // after the backend is chosen: the weights live on it
    initModel = { model: loaded.model, sources: loaded.config.sources };
  }
  const result = await trainCoprs(config, {
    out,
    sam: flags.sam as string | undefined,
    policy: flags.policy as string | undefined,
    model: initModel,
    resume: !!flags.resume,
    steps: flags.steps as number | undefined,
    log: (l) => console.error(l),
  });
  return { ...result, backend: backend.name };
}
