/**
 * Committed sweep results (data/results/ablations/<name>/): what notebook 07 shows under the
 * `small` preset without re-running hours of training. A finished sweep is published there with
 * `coprs sweep ... --publish data/results/ablations/<name>` (results.csv, results.json, sweep.json
 * and command.json: the command line and the wall time). `ablationResults` reads them when they
 * exist for the preset asked for, and otherwise runs the sweep (resumably) and reads its results —
 * or, with `missing: 'skip'`, returns no rows (a published notebook shows the command instead).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { PresetName } from '../config/preset';
import { writeFileAtomic } from '../util/atomic';
import { DATA_DIR, PACKAGE_ROOT } from '../util/paths';
import { readResultsCsv, type ResultRow } from './results';
import { runSweep, type SweepOptions } from './runner';

export const COMMITTED_DIR = path.join(DATA_DIR, 'results', 'ablations');

/**
 * Settings the committed `small` sweeps use beyond the preset, where the preset's full grid or
 * budget does not fit this 2-core CPU machine (each flag is said in README and the results'
 * command.json): `policy-size` drops the `base` policy (its stage 2 at the small batch runs out of
 * the wasm heap); `encoder-size` trains every mini-SAM size for 500 stage-1 steps and its policy for
 * 600 stage-2 steps (the full 1500 + 2000 per size is ~6 CPU-hours), the same for all three sizes.
 */
export const CPU_SWEEP_SETTINGS: Record<string, { flags: string; opts: Pick<SweepOptions, 'options' | 'samSteps' | 'sftSteps'> }> = {
  'policy-size': { flags: '--option sizes=tiny,small', opts: { options: { sizes: 'tiny,small' } } },
  'encoder-size': { flags: '--sam-steps 500 --sft-steps 600', opts: { samSteps: 500, sftSteps: 600 } },
};

/** The command that produces the committed results of an ablation (with the CPU settings at `small`). */
export function sweepCommandLine(ablation: string, preset: PresetName = 'small'): string {
  const extra = preset === 'small' && CPU_SWEEP_SETTINGS[ablation] ? ` ${CPU_SWEEP_SETTINGS[ablation].flags}` : '';
  return `node bin/coprs.js sweep --ablation ${ablation} --preset ${preset}${extra} --out runs/sweep-${ablation}-${preset} --publish data/results/ablations/${ablation} --json`;
}

/** Copy a finished sweep's results into `dir` with the command line and wall time (command.json). */
export function publishResults(sweepDir: string, dir: string, info: { command: string; seconds: number; pointSeconds: number }): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const f of ['results.csv', 'results.json', 'sweep.json']) {
    const src = path.join(sweepDir, f);
    if (!fs.existsSync(src)) throw new Error(`publish: ${src} is missing; the sweep has not written its results`);
    writeFileAtomic(path.join(dir, f), fs.readFileSync(src));
    files.push(path.join(dir, f));
  }
  const cmd = path.join(dir, 'command.json');
  writeFileAtomic(cmd, `${JSON.stringify({ ...info, written: new Date().toISOString() }, null, 2)}\n`);
  files.push(cmd);
  return files;
}

export interface AblationResults {
  rows: ResultRow[];
  /**
   * 'committed': read from data/results/ablations; 'ran': this call ran (or finished) the sweep;
   * 'missing': nothing committed for the preset and `missing: 'skip'` was asked (rows empty).
   */
  source: 'committed' | 'ran' | 'missing';
  /** The results CSV read. */
  csv: string;
  /** How to regenerate them. */
  command: string;
  /** command.json of committed results (command line, wall time), when there. */
  info: Record<string, unknown> | null;
}

/**
 * The results of an ablation for a preset: the committed ones when data/results/ablations/<name>
 * holds results of that preset (and `rerun` is not set), else a sweep run into `out`.
 */
export async function ablationResults(ablation: string, opts: Omit<SweepOptions, 'ablation' | 'out'> & { out: string; rerun?: boolean; committedDir?: string; missing?: 'run' | 'skip' }): Promise<AblationResults> {
  const preset = String(opts.preset) as PresetName;
  const dir = path.join(opts.committedDir ?? COMMITTED_DIR, ablation);
  const csv = path.join(dir, 'results.csv');
  const command = sweepCommandLine(ablation, preset);
  if (!opts.rerun && fs.existsSync(csv)) {
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { preset?: string };
    if (spec.preset === preset) {
      const infoFile = path.join(dir, 'command.json');
      const info = fs.existsSync(infoFile) ? (JSON.parse(fs.readFileSync(infoFile, 'utf8')) as Record<string, unknown>) : null;
      return { rows: await readResultsCsv(csv), source: 'committed', csv: path.relative(PACKAGE_ROOT, csv), command, info };
    }
  }
  if (opts.missing === 'skip') return { rows: [], source: 'missing', csv: path.relative(PACKAGE_ROOT, csv), command, info: null };
  const { rerun: _rerun, committedDir: _dir, missing: _missing, ...sweep } = opts;
  void _rerun;
  void _dir;
  void _missing;
  const cpu = preset === 'small' ? CPU_SWEEP_SETTINGS[ablation]?.opts ?? {} : {};
  const r = await runSweep({ ...cpu, ...sweep, ablation });
  return { rows: await readResultsCsv(r.csv), source: 'ran', csv: r.csv, command, info: null };
}
