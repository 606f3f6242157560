/**
 * `coprs sweep --ablation NAME --preset tiny|small|base --out DIR [--steps N] [--seeds 0,1]
 * [--set k=v,...] [--option k=v] [--limit N|all] [--sam-steps N] [--sft-steps N] [--max-points N]
 * [--publish DIR] [--json] [--backend B]`: run an ablation sweep (src/sweep/): every grid point is a stage-3 run in
 * DIR/<point>_s<seed>/ followed by greedy evaluation on refshapes val/testA/testB and reasonshapes
 * val/test; results in DIR/results.csv (danfojs) and DIR/results.json. Re-running the same command
 * skips finished points and resumes an interrupted one.
 */
import { selectBackend } from '../../backend/select';
import { parseOverrides } from '../../config/merge';
import * as fs from 'fs';
import * as path from 'path';
import { publishResults } from '../../sweep/committed';
import { ablationNames, getAblation } from '../../sweep/registry';
import '../../paradigms/sweep-ablation'; // registers `--ablation paradigm`
import { runSweep, type SweepResult } from '../../sweep/runner';
import { FlagSpec, Flags, UsageError } from '../args';
import { presetFlag, requireOut } from '../train-flags';
import { splitSetPairs } from './train-coprs';

export const SWEEP_FLAGS: Record<string, FlagSpec> = {
  ablation: { type: 'string', help: `which ablation: ${ablationNames().join(' | ')}` },
  preset: { type: 'string', help: 'tiny (seconds, CI) | small (the CPU runs behind the committed results) | base (GPU)', default: 'small' },
  out: { type: 'string', help: 'the sweep folder: sweep.json, parts/, <point>_s<seed>/, results.csv, results.json (required)' },
  steps: { type: 'number', help: 'stage-3 steps of every point (default: the preset\'s; warm-up and switch step scale with it)' },
  seeds: { type: 'string', help: 'stage-3 seeds, comma-separated (default: the preset\'s, 0); each point runs once per seed' },
  set: { type: 'string', help: 'stage-3 overrides for every point, key=value separated by commas (as `coprs train coprs --set`)' },
  option: { type: 'string', help: 'ablation options key=value, e.g. --option budget=prompts (group-size)' },
  limit: { type: 'string', help: 'samples per evaluation split: a number, or all (default: tiny 2, small/base all)' },
  'sam-steps': { type: 'number', help: 'steps of the stage-1 mini-SAMs the size ablations train (default: the preset\'s)' },
  'sft-steps': { type: 'number', help: 'steps of the stage-2 policies the size ablations train (default: the preset\'s)' },
  publish: { type: 'string', help: 'when the sweep is complete, copy results.csv/json, sweep.json and command.json (command line, wall time) here, e.g. data/results/ablations/NAME' },
  'max-points': { type: 'number', help: 'stop after finishing this many points in this call (re-run to continue)' },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

const posInt = (flags: Flags, name: string, min = 1): number | undefined => {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < min) throw new UsageError(`--${name} expects an integer ≥ ${min}, got ${v}`);
  return v as number;
};

export async function sweepCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (typeof flags.ablation !== 'string' || flags.ablation === '') throw new UsageError(`--ablation NAME is required; known ablations: ${ablationNames().join(', ')}`);
  try {
    getAblation(flags.ablation);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = requireOut(flags, 'the sweep folder');
  const preset = presetFlag(flags);
  let seeds: number[] | undefined;
  if (flags.seeds !== undefined) {
    const parts = String(flags.seeds).split(',').map((s) => s.trim()).filter((s) => s !== '');
    seeds = parts.map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n)) throw new UsageError(`--seeds expects integers separated by commas, got "${flags.seeds}" ("${s}" is not an integer)`);
      return n;
    });
    if (seeds.length === 0) throw new UsageError(`--seeds expects integers separated by commas, got "${flags.seeds}"`);
    if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds lists a seed twice: "${flags.seeds}"`);
  }
  const pairs = (name: string): Record<string, unknown> | undefined => {
    if (typeof flags[name] !== 'string') return undefined;
    try {
      return parseOverrides(splitSetPairs(flags[name] as string));
    } catch (e) {
      throw new UsageError(`--${name}: ${(e as Error).message}`);
    }
  };
  let evalLimit: number | null | undefined;
  if (flags.limit !== undefined) {
    const s = String(flags.limit);
    if (s === 'all') evalLimit = null;
    else if (/^\d+$/.test(s) && Number(s) >= 1) evalLimit = Number(s);
    else throw new UsageError(`--limit expects a positive number of samples per split, or "all"; got "${s}"`);
  }
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  let result: SweepResult;
  try {
    result = await runSweep({
      ablation: flags.ablation, preset, out, steps: posInt(flags, 'steps'), seeds, overrides: pairs('set'), options: pairs('option'), evalLimit,
      samSteps: posInt(flags, 'sam-steps'), sftSteps: posInt(flags, 'sft-steps'), maxPoints: posInt(flags, 'max-points', 0),
      log: (l) => console.error(l),
    });
  } catch (e) {
    const msg = (e as Error).message;
    // config errors (bad --set, --steps, --option) are usage errors; anything else is a failure
    if (/^(ablation |sweep:|coprs train config|coprs\.train|coprs\.rewards)/.test(msg) || /holds a sweep with/.test(msg)) throw new UsageError(msg);
    throw e;
  }
  let published: string[] | null = null;
  if (typeof flags.publish === 'string') {
    if (!result.complete) {
      console.error(`[sweep] not published to ${flags.publish}: ${result.pending.length} points pending (re-run the same command to finish them)`);
    } else {
      const pointSeconds = result.rows.reduce((a, r) => {
        const f = path.join(result.out, `${r.point}_s${r.seed}`, 'result.json');
        return a + (fs.existsSync(f) ? Number((JSON.parse(fs.readFileSync(f, 'utf8')) as { seconds?: number }).seconds ?? 0) : 0);
      }, 0);
      published = publishResults(result.out, flags.publish, { command: ['node bin/coprs.js', ...process.argv.slice(2)].join(' '), seconds: Number(result.seconds.toFixed(1)), pointSeconds: Number(pointSeconds.toFixed(1)) });
      console.error(`[sweep] published ${published.length} files to ${flags.publish}`);
    }
  }
  const keep = ['point', 'label', 'value', 'seed', 'final_reward', 'final_mask_iou', 'conv_samples', 'params_total', 'refshapes_val_ciou', 'refshapes_testA_ciou', 'refshapes_testB_ciou', 'reasonshapes_val_ciou', 'reasonshapes_test_ciou'];
  return {
    ok: true, backend: backend.name, ablation: result.ablation, preset: result.preset, out: result.out, csv: result.csv, json: result.json,
    points: result.rows.length + result.pending.length, finished: result.rows.length, ran: result.ran, resumed: result.resumed, skipped: result.skipped,
    pending: result.pending, complete: result.complete, seconds: Number(result.seconds.toFixed(1)), published,
    summary: result.rows.map((r) => Object.fromEntries(keep.map((k) => [k, r[k] ?? null]))),
  };
}
