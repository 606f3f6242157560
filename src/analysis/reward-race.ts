/**
 * A reward race (notebook 08): two short stage-3 runs that differ ONLY in their reward map — the
 * default (`mask` 0.7 + `format-paper` 0.3, the CoPRS reward) and a challenger — from the same
 * starting weights, on the same seed (same training prompts in the same order, same rollout RNG, so
 * the first step's rollouts are identical), with their per-step logs for side-by-side curves.
 *
 *   1. Shared SEG warm-up (`warmup` steps, 0 = none): one teacher-forced SEG-only run from the
 *      shipped stage-1/2 checkpoints (buildCoprsFromParts; a new heatmap head from the config's
 *      seed), written to OUT/warmup. It is reward-free, so running it once for both entrants is the
 *      same as running it in each; it gives the prior a meaning before GRPO scores masks. Its
 *      stream seed is `dataSeed + 1000`, so the race does not replay the warm-up's prompts.
 *   2. For each entrant a model built fresh (loadCoprs of the warm-up checkpoint, or
 *      buildCoprsFromParts without warm-up), then trainCoprs for `steps` GRPO steps into
 *      OUT/default and OUT/<name>. The challenger's map REPLACES the default map: a preset reward
 *      it does not name gets weight 0, so it is still computed and logged (TRL's
 *      `rewards/<name>/mean`), and both runs report the CoPRS reward of their rollouts on the same
 *      yardstick (`coprsReward` below) beside their own optimised reward.
 *   3. OUT/race.json: the result (both runs' per-step rows, the resolved config, wall times).
 *
 * Per step: the run's own reward (mean over rollouts), the CoPRS reward of the same rollouts, the
 * rollouts' hard mask IoU (mask logit ≥ 0 vs target ≥ 0.5, the trainer's `mask_iou`), the loss, and
 * every logged reward's mean. The stage-3 config is the `small` preset with `mainJobOverrides`
 * (tiny: 4 completions per step, as notebook 04), the race's steps, no warm-up inside the runs, and
 * the caller's overrides.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parsePresetName, type PresetName } from '../config/preset';
import { SHIPPED, mainJobOverrides } from '../cli/commands/main-job';
import { buildCoprsFromParts, loadCoprs, type CoprsSources } from '../models/coprs/checkpoint';
import type { CoprsModel } from '../models/coprs/model';
import { resolveCoprsTrainConfig, type CoprsTrainConfig } from '../train/coprs/config';
import { trainCoprs, type CoprsStepReport } from '../train/coprs/trainer';
import type { PlotlyFigure } from '../notebook/plotly';
import { PACKAGE_ROOT } from '../util/paths';
import { writeFileAtomic } from '../util/atomic';

/** Default GRPO steps per entrant and shared warm-up steps, per kit preset. */
export const RACE_DEFAULTS: Record<PresetName, { steps: number; warmup: number }> = {
  tiny: { steps: 2, warmup: 1 },
  small: { steps: 25, warmup: 20 },
  base: { steps: 300, warmup: 300 },
};

export interface RewardRaceOptions {
  /** The challenger's reward map (replaces the default map; see the module comment). */
  rewards: Record<string, number>;
  /** The challenger's label and run-folder name (default "challenger"). */
  name?: string;
  /** Kit preset: tiny (CI smoke), small (the short race), base. */
  preset: PresetName | string;
  /** GRPO steps per entrant, shared warm-up steps (defaults: RACE_DEFAULTS). */
  steps?: number;
  warmup?: number;
  /** Seed of both runs (heatmap-head init, rollouts); default the preset's. */
  seed?: number;
  /** Further stage-3 overrides, applied to both runs (not `rewards`, `steps`, `warmup`). */
  overrides?: Record<string, unknown>;
  /** Stage-1/2 checkpoint folders (default the shipped ones). */
  sam?: string;
  policy?: string;
  /** Root of the run folders (default runs/reward-race-<preset>); it is replaced. */
  out?: string;
  /** Progress lines (default stderr); null for silence. */
  log?: ((line: string) => void) | null;
  /** Called after every step of either run. */
  onStep?: (run: string, row: RaceStep) => void;
}

export interface RaceStep {
  step: number;
  /** The run's own reward: mean over rollouts of its weighted sum. */
  reward: number;
  /** The default CoPRS reward (0.7 mask + 0.3 format-paper) of the same rollouts. */
  coprsReward: number;
  /** Mean hard IoU of the rollouts' masks (mask logit ≥ 0 vs target ≥ 0.5). */
  maskIoU: number;
  loss: number;
  /** Fraction of prompts whose G rollouts got the same reward (zero advantage: no GRPO signal from them). */
  zeroStdFraction: number;
  /** k3 KL to the reference policy (null without one). */
  kl: number | null;
  /** Mean of every logged reward (weight 0 included). */
  rewards: Record<string, number | null>;
  /** sha256 (16 hex digits) of the step's completion texts in order: equal digits = the same rollouts. */
  rolloutsDigest: string;
  seconds: number;
}

export interface RaceRun {
  name: string;
  rewards: Record<string, number>;
  out: string;
  steps: RaceStep[];
  /** Training wall time of the run (s) and mean s per step. */
  seconds: number;
  secondsPerStep: number;
  /** Greedy held-out gIoU at the end (null when the preset has no held-out samples). */
  heldoutGIoU: number | null;
}

export interface RaceResult {
  preset: PresetName;
  seed: number;
  /** The default run's resolved config (the challenger's differs only in `rewards`). */
  config: CoprsTrainConfig;
  warmup: { steps: number; seconds: number; out: string | null };
  runs: [RaceRun, RaceRun];
  /** Wall time of the whole race (warm-up, both runs, checkpoints, held-out evaluation), s. */
  seconds: number;
}

/** The default reward map: the preset's (`mask` 0.7, `format-paper` 0.3). */
export function defaultRewardMap(): Record<string, number> {
  return { ...resolveCoprsTrainConfig('small').rewards };
}

/** The challenger's full map: every default reward at weight 0 unless named, then the given weights. */
export function challengerRewardMap(rewards: Record<string, number>): Record<string, number> {
  if (rewards == null || typeof rewards !== 'object' || Array.isArray(rewards) || Object.keys(rewards).length === 0) {
    throw new Error(`reward race: rewards must be a non-empty map of reward name → weight, e.g. {"my-reward": 0.7, "format-paper": 0.3}, got ${JSON.stringify(rewards)}`);
  }
  return { ...Object.fromEntries(Object.keys(defaultRewardMap()).map((k) => [k, 0])), ...rewards };
}

/** The CoPRS reward from a step record's per-reward means (the default weights; a missing part counts 0). */
export function coprsRewardOf(record: Record<string, unknown>): number {
  let total = 0;
  for (const [name, w] of Object.entries(defaultRewardMap())) {
    const v = record[`rewards/${name}/mean`];
    if (typeof v !== 'number') throw new Error(`reward race: the step record has no rewards/${name}/mean; the run must log the default rewards`);
    total += w * v;
  }
  return total;
}

function raceStep(r: CoprsStepReport): RaceStep {
  const x = r.record;
  const rewards: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(x)) {
    const m = /^rewards\/(.+)\/mean$/.exec(k);
    if (m) rewards[m[1]] = typeof v === 'number' ? v : null;
  }
  return {
    step: r.step, reward: r.reward, coprsReward: coprsRewardOf(x), maskIoU: x.mask_iou as number, loss: r.loss,
    zeroStdFraction: x.frac_reward_zero_std as number, kl: typeof x.kl === 'number' ? x.kl : null, rewards,
    rolloutsDigest: createHash('sha256').update(JSON.stringify(r.completions.map((c) => c.completion))).digest('hex').slice(0, 16), seconds: r.ms / 1000,
  };
}

const RUN_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Run the race (see the module comment). */
export async function rewardRace(opts: RewardRaceOptions): Promise<RaceResult> {
  const t0 = Date.now();
  const preset = parsePresetName(opts.preset);
  const name = opts.name ?? 'challenger';
  if (!RUN_NAME.test(name) || name === 'default' || name === 'warmup') throw new Error(`reward race: name "${name}" must be lower-case letters, digits, - and _, and not "default" or "warmup" (it names a run folder)`);
  const steps = opts.steps ?? RACE_DEFAULTS[preset].steps;
  const warmup = opts.warmup ?? RACE_DEFAULTS[preset].warmup;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`reward race: steps must be an integer ≥ 1, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`reward race: warmup must be an integer ≥ 0, got ${warmup}`);
  for (const k of ['rewards', 'steps', 'warmup'] as const) {
    if (opts.overrides && k in opts.overrides) throw new Error(`reward race: pass ${k} as the race's own option, not in overrides`);
  }
  const say = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  const challenger = challengerRewardMap(opts.rewards);
  const base: Record<string, unknown> = { ...mainJobOverrides(preset), ...(opts.overrides ?? {}), steps, warmup: { steps: 0 } };
  if (opts.seed != null) base.seed = opts.seed;
  const config = resolveCoprsTrainConfig('small', base);
  const challengerConfig = resolveCoprsTrainConfig('small', { ...base, rewards: challenger }); // validates the names
  const samDir = opts.sam ?? path.join(PACKAGE_ROOT, SHIPPED.sam);
  const policyDir = opts.policy ?? path.join(PACKAGE_ROOT, SHIPPED.policy);
  const root = path.resolve(opts.out ?? path.join(PACKAGE_ROOT, 'runs', `reward-race-${preset}`));
  fs.rmSync(root, { recursive: true, force: true }); // a race is one fresh set of runs

  let warmDir: string | null = null;
  let warmSeconds = 0;
  if (warmup > 0) {
    warmDir = path.join(root, 'warmup');
    const wcfg = resolveCoprsTrainConfig('small', { ...mainJobOverrides(preset), ...(opts.overrides ?? {}), ...(opts.seed != null ? { seed: opts.seed } : {}), mode: 'seg', steps: warmup, warmup: { steps: warmup }, dataSeed: config.dataSeed + 1000, heldout: { samples: 0, every: 0 } });
    say?.(`[race] shared SEG warm-up: ${warmup} teacher-forced steps of ${wcfg.batchSize} samples -> ${path.relative(PACKAGE_ROOT, warmDir)}`);
    const w = await trainCoprs(wcfg, { out: warmDir, model: buildCoprsFromParts(samDir, policyDir, wcfg.model), log: say ? (l) => say(l) : null });
    warmSeconds = w.seconds;
  }
  const fresh = (): { model: CoprsModel; sources: CoprsSources } => {
    if (!warmDir) return buildCoprsFromParts(samDir, policyDir, config.model);
    const { model, config: c } = loadCoprs(warmDir);
    return { model, sources: c.sources };
  };
  const runs: RaceRun[] = [];
  for (const [runName, cfg] of [['default', config], [name, challengerConfig]] as const) {
    const out = path.join(root, runName);
    const rows: RaceStep[] = [];
    say?.(`[race] ${runName}: ${steps} GRPO steps, rewards ${JSON.stringify(cfg.rewards)}, seed ${cfg.seed} -> ${path.relative(PACKAGE_ROOT, out)}`);
    const t = await trainCoprs(cfg, {
      out, model: fresh(), log: say ? (l) => say(l) : null,
      onStep: (r) => {
        if (r.skipped) return;
        const row = raceStep(r);
        rows.push(row);
        opts.onStep?.(runName, row);
      },
    });
    const h = t.heldout as { gIoU: number } | null;
    runs.push({ name: runName, rewards: cfg.rewards, out, steps: rows, seconds: t.seconds, secondsPerStep: t.msPerStep / 1000, heldoutGIoU: h ? h.gIoU : null });
  }
  const result: RaceResult = { preset, seed: config.seed, config, warmup: { steps: warmup, seconds: warmSeconds, out: warmDir }, runs: [runs[0], runs[1]], seconds: (Date.now() - t0) / 1000 };
  writeFileAtomic(path.join(root, 'race.json'), `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

/** Six panels, the two runs side by side in each, against the step: own reward, CoPRS reward, mask IoU, loss, zero-std groups, KL. */
export function raceFigure(result: RaceResult, opts: { title?: string } = {}): PlotlyFigure {
  const panels: [string, (s: RaceStep) => number | null][] = [
    ['own reward (what the run optimises)', (s) => s.reward],
    ['CoPRS reward 0.7·mask + 0.3·format', (s) => s.coprsReward],
    ['rollout mask IoU', (s) => s.maskIoU],
    ['loss', (s) => s.loss],
    ['groups with zero reward std', (s) => s.zeroStdFraction],
    ['KL to the reference', (s) => s.kl],
  ];
  const colors = ['#1f77b4', '#d62728'];
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? `reward race (${result.preset}, seed ${result.seed})` },
    grid: { rows: 2, columns: 3, pattern: 'independent', ygap: 0.3 },
    legend: { orientation: 'h', y: -0.12 },
    margin: { t: 70, l: 55, r: 20, b: 60 },
    annotations: [] as Record<string, unknown>[],
  };
  panels.forEach(([title, f], p) => {
    const ax = p === 0 ? '' : String(p + 1);
    result.runs.forEach((run, j) => {
      data.push({
        type: 'scatter', mode: 'lines+markers', name: run.name, legendgroup: run.name, showlegend: p === 0,
        x: run.steps.map((s) => s.step), y: run.steps.map(f), xaxis: `x${ax}`, yaxis: `y${ax}`,
        // the challenger dashed over a wider default line, so identical curves stay visible as two
        line: j === 0 ? { color: colors[0], width: 5 } : { color: colors[1], width: 2, dash: 'dash' },
        marker: j === 0 ? { size: 7 } : { size: 5, symbol: 'circle-open' },
      });
    });
    layout[`xaxis${ax}`] = { title: { text: 'GRPO step' }, dtick: Math.max(1, Math.ceil(Math.max(...result.runs.map((r) => r.steps.length)) / 10)) };
    layout[`yaxis${ax}`] = {};
    (layout.annotations as Record<string, unknown>[]).push({ text: `<b>${title}</b>`, xref: `x${ax} domain`, yref: `y${ax} domain`, x: 0.02, y: 1.0, showarrow: false, xanchor: 'left', yanchor: 'bottom' });
  });
  return { data, layout };
}
