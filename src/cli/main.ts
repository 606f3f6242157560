/**
 * `coprs` command line. Each subcommand is a function from parsed flags to a result object; with
 * `--json` the result is printed as one JSON object on the last line of stdout (logs go to stderr).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { FlagSpec, Flags, UsageError, formatHelp, parseFlags } from './args';
import { explainError } from './error-hint';

interface Command {
  summary: string;
  /** Option specs, or a function that loads them with the command's module. */
  flags: Record<string, FlagSpec> | (() => Record<string, FlagSpec>);
  run: (flags: Flags, positional: string[]) => Promise<Record<string, unknown> | void>;
}

const json: FlagSpec = { type: 'boolean', help: 'print one JSON object as the last line' };
const backend: FlagSpec = { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' };

/* eslint-disable @typescript-eslint/no-require-imports -- commands load lazily so `coprs --help` is instant */
const COMMANDS: Record<string, Command> = {
  info: {
    summary: 'backend in use and why, available backends, versions, training-kernel completeness',
    flags: { json, backend },
    run: (f) => require('./commands/info').infoCommand(f),
  },
  bench: {
    summary: 'GFLOP/s of 256²/512² matmul and conv2d fwd+bwd on every available backend, stage 1/2/3 step times and rollout tokens/s (with and without the KV cache), in one run',
    flags: { json, backend, quick: { type: 'boolean', help: 'shorter timing loops, tiny models' }, 'ops-only': { type: 'boolean', help: 'only the op benchmarks (no training steps or rollouts)' } },
    run: (f) => require('./commands/bench').benchCommand(f),
  },
  'data build': {
    summary: 'regenerate the frozen ShapeWorld-RS splits bit-identically and check them against the manifest',
    flags: { json, out: { type: 'string', help: 'output directory (default data/shapeworld; the manifest is rewritten only there with --update-manifest)' }, 'update-manifest': { type: 'boolean', help: 'write a new manifest instead of checking against it' } },
    run: (f) => require('./commands/data').dataBuildCommand(f),
  },
  'data stats': {
    summary: 'counts per split and subset, scene and query statistics',
    flags: { json },
    run: (f) => require('./commands/data').dataStatsCommand(f),
  },
  'data verify': {
    summary: 'check data/shapeworld against its manifest (no regeneration)',
    flags: { json },
    run: (f) => require('./commands/data').dataVerifyCommand(f),
  },
  'train sam': {
    summary: 'stage 1: train the mini-SAM (random point, box and mask prompts on ShapeWorld-RS train scenes)',
    flags: () => require('./commands/train-sam').TRAIN_SAM_FLAGS,
    run: (f) => require('./commands/train-sam').trainSamCommand(f),
  },
  'train vision': {
    summary: 'stage 1b: pre-train the policy\'s vision stack (patch tower + projector) on per-token scene-graph targets, mini-SAM frozen',
    flags: () => require('./commands/train-vision').TRAIN_VISION_FLAGS,
    run: (f) => require('./commands/train-vision').trainVisionCommand(f),
  },
  'train sft': {
    summary: 'stage 2: cold-start the policy on ground-truth chains of thought',
    flags: () => require('./commands/train-sft').TRAIN_SFT_FLAGS,
    run: (f) => require('./commands/train-sft').trainSftCommand(f),
  },
  'train coprs': {
    summary: 'stage 3: CoPRS unified training (GRPO + SEG loss in one backward pass; modes combined | rl | seg)',
    flags: () => require('./commands/train-coprs').TRAIN_COPRS_FLAGS,
    run: (f) => require('./commands/train-coprs').trainCoprsCommand(f),
  },
  'train head': {
    summary: 'head pre-training on cached e_conc (a departure for the kit\'s step budget): the heatmap head, prompt encoder and decoder of a coprs checkpoint, its policy frozen',
    flags: () => require('./commands/train-head').TRAIN_HEAD_FLAGS,
    run: (f) => require('./commands/train-head').trainHeadCommand(f),
  },
  'train paradigm': {
    summary: 'train another paradigm (lisa | seg-zero | …) at the matched budget from the shipped mini-SAM and policy (src/paradigms/)',
    flags: () => require('./commands/train-paradigm').TRAIN_PARADIGM_FLAGS,
    run: (f) => require('./commands/train-paradigm').trainParadigmCommand(f),
  },
  infer: {
    summary: 'run a CoPRS checkpoint on an image file and a query: response, prior heatmap, mask and overlay PNGs',
    flags: () => require('./commands/infer').INFER_FLAGS,
    run: (f) => require('./commands/infer').inferCommand(f),
  },
  eval: {
    summary: 'evaluate a checkpoint (mini-SAM, policy or CoPRS) on frozen splits',
    flags: () => require('./commands/eval').EVAL_FLAGS,
    run: (f) => require('./commands/eval').evalCommand(f),
  },
  'eval-paradigm': {
    summary: 'evaluate a paradigm checkpoint: gIoU/cIoU on refshapes val/testA/testB and reasonshapes val/test (short/long), time per sample',
    flags: () => require('./commands/eval-paradigm').EVAL_PARADIGM_FLAGS,
    run: (f) => require('./commands/eval-paradigm').evalParadigmCommand(f),
  },
  'check-backend': {
    summary: 'numerical agreement of one stage-3 training step on two backends (same seed): loss and gradient relative errors',
    flags: () => require('./commands/check-backend').CHECK_BACKEND_FLAGS,
    run: (f) => require('./commands/check-backend').checkBackendCommand(f),
  },
  sweep: {
    summary: 'an ablation sweep (group-size | mode | reward-coef | seg-loss | policy-size | encoder-size): stage-3 runs per grid point, evaluation, results CSV; resumable',
    flags: () => require('./commands/sweep').SWEEP_FLAGS,
    run: (f) => require('./commands/sweep').sweepCommand(f),
  },
  figures: {
    summary: 'the paper\'s analysis figures for a CoPRS checkpoint (Fig. 3, 4, 5, 7, 8, Table 3 analogs) and the numbers behind them',
    flags: () => require('./commands/figures').FIGURES_FLAGS,
    run: (f) => require('./commands/figures').figuresCommand(f),
  },
  start: {
    summary: 'the main job on the embedded default (what `npm start` runs)',
    flags: {
      json, backend,
      'skip-train': { type: 'boolean', help: 'stop after the data check and the tour figures (no stage 3)' },
      steps: { type: 'number', help: 'stage-3 steps (default: the small preset\'s)' },
      mode: { type: 'string', help: 'stage-3 mode: combined (default) | rl | seg' },
    },
    run: (f) => require('./commands/start').startCommand(f),
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

function usage(): string {
  const lines = ['usage: coprs <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', 'coprs <command> --help shows its options.');
  return lines.join('\n');
}

/** Find the longest command name that prefixes argv ("data build" before "data"). */
function findCommand(argv: string[]): { name: string; rest: string[] } | null {
  for (const n of [2, 1]) {
    const name = argv.slice(0, n).join(' ');
    if (COMMANDS[name]) return { name, rest: argv.slice(n) };
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    console.error(`coprs: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${usage()}`);
    return 2;
  }
  const cmd = COMMANDS[found.name];
  const specs = typeof cmd.flags === 'function' ? cmd.flags() : cmd.flags;
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    console.log(`coprs ${found.name}: ${cmd.summary}\n\noptions:\n${formatHelp(specs)}`);
    return 0;
  }
  try {
    const { flags, positional } = parseFlags(found.rest, specs);
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}" for "coprs ${found.name}"`);
    const result = await cmd.run(flags, positional);
    if (flags.json) console.log(JSON.stringify(result ?? {}));
    const failed = result && (result as { ok?: unknown }).ok === false;
    return failed ? 1 : 0;
  } catch (e) {
    console.error(`coprs ${found.name}: ${explainError((e as Error).message)}`);
    if (process.env.COPRS_DEBUG) console.error((e as Error).stack);
    return e instanceof UsageError ? 2 : 1;
  } finally {
    const { closeBrowser } = require('../notebook/chromium') as typeof import('../notebook/chromium');
    await closeBrowser();
  }
}
