/**
 * Sweeps (src/sweep/), the parts that need no training: grid expansion of every ablation, the
 * config overrides of each point (hand-checked), unknown names rejected with the known ones
 * listed (API and CLI), registerAblation, samples-to-convergence on hand-made loss curves, the
 * results CSV columns (written and read back through danfojs), and the figure/table builders.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ablationNames, getAblation, registerAblation } from '../src/sweep/registry';
import { budgetOverrides, planSweep } from '../src/sweep/runner';
import { convergence, convergenceWindow, fluctuation, samplesToConvergence } from '../src/sweep/convergence';
import { EVAL_SPLITS, RESULT_COLUMNS, readResultsCsv, resultColumns, splitCells, writeResults, type ResultRow } from '../src/sweep/results';
import { figGroupSize, figMode, figRewardCoef, figSegLoss, sizeTable, summarizePoints } from '../src/sweep/figures';
import { partColumns, policyPartConfig, samPartConfig } from '../src/sweep/parts';
import { CPU_SWEEP_SETTINGS, sweepCommandLine } from '../src/sweep/committed';
import { ablationFinding } from '../src/sweep/findings';
import { runCli } from './helpers/cli';
import { tmpDir } from './coprs-fixtures';

const BUILTIN = ['group-size', 'mode', 'reward-coef', 'seg-loss', 'policy-size', 'encoder-size'];

test('the six built-in ablations are registered, in order', () => {
  assert.deepEqual(ablationNames().slice(0, 6), BUILTIN);
});

test('an unknown ablation is rejected with the known names listed (API and CLI)', () => {
  assert.throws(() => getAblation('group'), /unknown ablation "group"; known ablations: group-size, mode, reward-coef, seg-loss, policy-size, encoder-size/);
  assert.throws(() => planSweep('nope', 'tiny'), /unknown ablation "nope"; known ablations: .*encoder-size/);
  const r = runCli(['sweep', '--ablation', 'nope', '--preset', 'tiny', '--out', path.join(tmpDir('sweep-cli-'), 'x')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /unknown ablation "nope"; known ablations: group-size, mode, reward-coef, seg-loss, policy-size, encoder-size/);
  const r2 = runCli(['sweep', '--preset', 'tiny', '--out', 'x']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--ablation NAME is required; known ablations: group-size/);
  const r3 = runCli(['sweep', '--ablation', 'mode', '--preset', 'tiny', '--out', path.join(tmpDir('sweep-cli-'), 'x'), '--seeds', '0,a']);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /--seeds expects integers .* \("a" is not an integer\)/);
});

test('registerAblation: a hook for more ablations (bad names and duplicates refused)', () => {
  registerAblation('test-hook', { title: 't', paper: '-', axis: 'x', points: () => [{ id: 'a', label: 'a', value: 1, overrides: { grpo: { G: 2 } } }] });
  assert.ok(ablationNames().includes('test-hook'));
  assert.equal(planSweep('test-hook', 'tiny').planned[0].config.grpo.G, 2);
  assert.throws(() => registerAblation('test-hook', { title: 't', paper: '-', axis: 'x', points: () => [] }), /already registered/);
  assert.throws(() => registerAblation('Bad Name', { title: 't', paper: '-', axis: 'x', points: () => [] }), /lower-case letters, digits and dashes.*"Bad Name"/);
  registerAblation('test-dup-ids', { title: 't', paper: '-', axis: 'x', points: () => [{ id: 'a', label: 'a', value: 1, overrides: {} }, { id: 'a', label: 'b', value: 2, overrides: {} }] });
  assert.throws(() => planSweep('test-dup-ids', 'tiny'), /point id "a" appears twice/);
});

test('group-size: G = 2, 4, 8, 16; completions per step fixed (default) or prompts per step fixed', () => {
  // tiny: batch 4 with G 2 (2 prompts); small: batch 16 with G 4 (4 prompts)
  const tinyC = planSweep('group-size', 'tiny').planned;
  assert.deepEqual(tinyC.map((p) => p.name), ['G-2_s0', 'G-4_s0', 'G-8_s0', 'G-16_s0']);
  assert.deepEqual(tinyC.map((p) => [p.config.grpo.G, p.config.batchSize]), [[2, 16], [4, 16], [8, 16], [16, 16]]);
  assert.deepEqual(tinyC.map((p) => p.point.overrides), [{ grpo: { G: 2 }, batchSize: 16 }, { grpo: { G: 4 }, batchSize: 16 }, { grpo: { G: 8 }, batchSize: 16 }, { grpo: { G: 16 }, batchSize: 16 }]);
  assert.deepEqual(tinyC.map((p) => !!p.point.isDefault), [true, false, false, false]);
  const smallC = planSweep('group-size', 'small').planned;
  assert.deepEqual(smallC.map((p) => [p.config.grpo.G, p.config.batchSize]), [[2, 16], [4, 16], [8, 16], [16, 16]]);
  assert.deepEqual(smallC.map((p) => !!p.point.isDefault), [false, true, false, false]);
  const smallP = planSweep('group-size', 'small', { options: { budget: 'prompts' } }).planned;
  assert.deepEqual(smallP.map((p) => [p.config.grpo.G, p.config.batchSize]), [[2, 8], [4, 16], [8, 32], [16, 64]]);
  const baseC = planSweep('group-size', 'base').planned;
  assert.deepEqual(baseC.map((p) => p.config.batchSize), [64, 64, 64, 64]);
  assert.throws(() => planSweep('group-size', 'tiny', { options: { budget: 'tokens' } }), /budget must be one of completions, prompts, got "tokens"/);
  assert.throws(() => planSweep('mode', 'tiny', { options: { budget: 'prompts' } }), /ablation mode: unknown option "budget"; it takes no options/);
});

test('mode and reward-coef: the overrides of each point', () => {
  const m = planSweep('mode', 'small').planned;
  assert.deepEqual(m.map((p) => p.point.overrides), [{ mode: 'rl' }, { mode: 'seg' }, { mode: 'combined' }]);
  assert.deepEqual(m.map((p) => p.config.mode), ['rl', 'seg', 'combined']);
  assert.deepEqual(m.map((p) => !!p.point.isDefault), [false, false, true]);
  const r = planSweep('reward-coef', 'small').planned;
  assert.deepEqual(r.map((p) => p.name), ['mask-0.0_s0', 'mask-0.3_s0', 'mask-0.5_s0', 'mask-0.7_s0', 'mask-1.0_s0']);
  assert.deepEqual(r.map((p) => p.config.rewards), [
    { mask: 0, 'format-paper': 1 }, { mask: 0.3, 'format-paper': 0.7 }, { mask: 0.5, 'format-paper': 0.5 }, { mask: 0.7, 'format-paper': 0.3 }, { mask: 1, 'format-paper': 0 },
  ]);
  assert.deepEqual(r.map((p) => !!p.point.isDefault), [false, false, false, true, false]);
});

test('seg-loss: BCE weight 1 and the dice/focal combinations, switch step kept', () => {
  const s = planSweep('seg-loss', 'small').planned;
  assert.deepEqual(s.map((p) => p.point.id), ['bce', 'bce-dice', 'bce-focal', 'bce-dice-focal', 'bce-dice-focal-2-5']);
  const w = (p: (typeof s)[number]) => [p.config.seg.lambdaD, p.config.seg.lambdaF, p.config.seg.lambdaDAfter, p.config.seg.lambdaFAfter];
  assert.deepEqual(s.map(w), [[0, 0, 0, 0], [1.5, 0, 3, 0], [0, 0, 0, 10], [1.5, 0, 3, 10], [0.8, 0, 2, 5]]);
  for (const p of s) {
    assert.equal(p.config.seg.switchStep, 30, 'the small preset\'s switch step');
    assert.equal(p.config.seg.ignorePadding, true, 'the paper\'s valid region in every point');
    assert.equal(p.config.seg.heatmapDiceRate, 0);
  }
  assert.deepEqual(s.map((p) => !!p.point.isDefault), [false, false, false, true, false]);
});

test('policy-size and encoder-size: parts per point, stage-3 config unchanged; part budgets', () => {
  const p = planSweep('policy-size', 'small').planned;
  assert.deepEqual(p.map((x) => x.parts), [{ sam: 'S', policy: 'tiny' }, { sam: 'S', policy: 'small' }, { sam: 'S', policy: 'base' }]);
  const e = planSweep('encoder-size', 'small').planned;
  assert.deepEqual(e.map((x) => x.parts), [{ sam: 'S', policy: 'small' }, { sam: 'M', policy: 'small' }, { sam: 'L', policy: 'small' }]);
  for (const x of [...p, ...e]) assert.deepEqual(x.point.overrides, {});
  // stage-2 budget of the sweep preset at the point's size, with that size's learning rate
  const c = policyPartConfig('small', 'base');
  assert.equal(c.model.dim, 256);
  assert.deepEqual([c.steps, c.batchSize, c.workers, c.optim.lr, c.optim.warmup], [2000, 16, 2, 1e-3, 50]);
  const t = policyPartConfig('tiny', 'base', 3);
  assert.deepEqual([t.steps, t.batchSize, t.heldout.maxTokens], [3, 4, 24]);
  const m = samPartConfig('small', 'M');
  assert.deepEqual([m.size, m.steps, m.imagesPerStep], ['M', 1500, 8]);
});

test('size ablations: option sizes picks a subset in grid order; bad names say what exists', () => {
  const ids = (a: string, sizes: unknown) => planSweep(a, 'small', { options: { sizes } }).planned.map((x) => x.point.id);
  assert.deepEqual(ids('policy-size', 'small,tiny'), ['policy-tiny', 'policy-small']);
  assert.deepEqual(ids('encoder-size', ['L', 'S']), ['encoder-S', 'encoder-L']);
  assert.deepEqual(ids('encoder-size', 'M'), ['encoder-M']);
  assert.throws(() => ids('policy-size', 'tiny,huge'), /policy-size: option sizes names "huge"; the sizes are tiny, small, base/);
  assert.throws(() => ids('encoder-size', 'S,S'), /encoder-size: option sizes names a size twice: S, S/);
  assert.throws(() => ids('encoder-size', ''), /encoder-size: option sizes is empty/);
  assert.throws(() => planSweep('mode', 'small', { options: { sizes: 'S' } }), /ablation mode: unknown option "sizes"; it takes no options/);
});

test('steps, seeds and --set reach every point; warm-up and switch step scale with steps', () => {
  assert.deepEqual(budgetOverrides('small', 30), { logEvery: 1, steps: 30, warmup: { steps: 10 }, seg: { switchStep: 10 } });
  assert.deepEqual(budgetOverrides('tiny'), { logEvery: 1 });
  const { planned } = planSweep('mode', 'small', { steps: 30, seeds: [0, 1], overrides: { optim: { lr: 5e-5 } } });
  assert.deepEqual(planned.map((p) => p.name), ['rl_s0', 'rl_s1', 'seg_s0', 'seg_s1', 'combined_s0', 'combined_s1']);
  for (const p of planned) {
    assert.deepEqual([p.config.steps, p.config.warmup.steps, p.config.seg.switchStep, p.config.optim.lr, p.config.logEvery], [30, 10, 10, 5e-5, 1]);
  }
  assert.deepEqual(planned.map((p) => p.config.seed), [0, 1, 0, 1, 0, 1]);
  assert.throws(() => planSweep('mode', 'small', { overrides: { grpo: { Gee: 2 } } }), /sweep: the base config \(preset small with --steps\/--set\): .*grpo\.Gee: unknown key/);
  assert.throws(() => planSweep('mode', 'small', { steps: 0 }), /steps must be a positive integer, got 0/);
});

test('fluctuation and convergence on hand-made loss curves', () => {
  assert.equal(fluctuation([1, 1, 1]), 0);
  assert.ok(Math.abs(fluctuation([1, 1.05, 1]) - 0.05 / (3.05 / 3)) < 1e-12);
  assert.equal(fluctuation([-1, 1]), Infinity);
  assert.throws(() => fluctuation([1, NaN]), /non-finite loss NaN/);
  // decays, then settles within 5%: windows of 3 starting at 0, 1, 2 fluctuate, from 3 on they do not
  const decay = [10, 5, 2, 1.0, 1.05, 1.0, 1.02, 1.0];
  const c = convergence(decay, { window: 3 });
  assert.equal(c.index, 3);
  assert.equal(c.fluctuations.length, 6);
  const s = samplesToConvergence([31, 32, 33, 34, 35, 36, 37, 38], decay, 16, { window: 3, firstGrpoStep: 31 });
  assert.deepEqual([s.step, s.samples], [34, 64]); // steps 31..34 = 4 GRPO steps × 16 completions
  // a late spike restarts the count: windows starting at 2, 3, 4 hold it
  assert.equal(convergence([1, 1, 1, 1, 2, 1, 1, 1], { window: 3 }).index, 5);
  // oscillation never settles; a spike in the last window means not converged (yet)
  assert.equal(convergence([1, 2, 1, 2, 1, 2], { window: 2 }).index, null);
  assert.equal(convergence([1, 1, 1, 1, 1, 3], { window: 3 }).index, null);
  assert.equal(samplesToConvergence([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 3], 4, { window: 3 }).samples, null);
  // flat from the start: converged at the first step; a curve shorter than the window: not converged
  assert.deepEqual(samplesToConvergence([1, 2, 3], [2, 2, 2], 8, { window: 2 }), { step: 1, samples: 8, finalFluctuation: 0, window: 2 });
  const short = convergence([1, 2], { window: 3 });
  assert.equal(short.index, null);
  assert.ok(Number.isNaN(short.finalFluctuation));
  // the tolerance is strict: exactly 10% is a fluctuation
  assert.equal(convergence([1, 1.1, 1, 1.1], { window: 2, tolerance: 0.5 }).index, 0);
  assert.equal(convergence([0.95, 1.05, 0.95, 1.05], { window: 2, tolerance: 0.1 }).index, null);
  assert.throws(() => convergence([1, 2], { window: 1 }), /window must be an integer ≥ 2 steps, got 1/);
  assert.deepEqual([convergenceWindow(4), convergenceWindow(60), convergenceWindow(2700)], [2, 6, 270]);
});

const fakeRow = (ablation: string, point: string, value: number | string, extra: Record<string, number | string | boolean | null> = {}): ResultRow => {
  const row: ResultRow = { ablation, point, label: `${point}, with a comma`, value, is_default: point === 'G-8', seed: 0, preset: 'tiny', conv_samples: null, final_reward: 0.5, params_total: 2_000_000, params_policy: 1_000_000, params_image_encoder: 500_000, ...extra };
  let k = 0;
  for (const [d, s] of EVAL_SPLITS) Object.assign(row, splitCells(`${d}/${s}`, { n: 10, gIoU: 0.1 * ++k, cIoU: 0.1 * k + 0.01, heatmapGIoU: 0.05, heatmapCIoU: 0.06, formatRate: 1 }));
  return row;
};

test('results CSV: fixed columns in order, written by danfojs and read back (strings with commas, empty cells)', async () => {
  const dir = tmpDir('sweep-csv-');
  const rows = [fakeRow('group-size', 'G-2', 2, { conv_samples: 96 }), fakeRow('group-size', 'G-8', 8)];
  const w = writeResults(dir, rows, { ablation: 'group-size' });
  assert.equal(w.writer, 'danfojs');
  const cols = resultColumns(rows);
  const fixed = Object.keys(RESULT_COLUMNS);
  assert.deepEqual(cols.slice(0, fixed.length), fixed);
  assert.deepEqual(cols.slice(fixed.length, fixed.length + 6), ['refshapes_val_n', 'refshapes_val_giou', 'refshapes_val_ciou', 'refshapes_val_heatmap_giou', 'refshapes_val_heatmap_ciou', 'refshapes_val_format']);
  assert.equal(cols.length, fixed.length + 30);
  for (const c of ['ablation', 'point', 'value', 'seed', 'G', 'batch_size', 'mode', 'mask_weight', 'format_weight', 'lambda_d', 'lambda_f', 'params_total', 'final_reward', 'conv_step', 'conv_samples', 'reasonshapes_test_ciou']) assert.ok(cols.includes(c), c);
  const header = fs.readFileSync(w.csv, 'utf8').split('\n')[0];
  assert.equal(header, cols.map((c) => `"${c}"`).join(','));
  const back = await readResultsCsv(w.csv);
  assert.equal(back.length, 2);
  assert.deepEqual(Object.keys(back[0]), cols);
  assert.equal(back[0].label, 'G-2, with a comma');
  assert.equal(back[0].conv_samples, 96);
  assert.equal(back[1].conv_samples, null);
  assert.equal(back[1].refshapes_testA_ciou, 0.21);
  assert.equal(JSON.parse(fs.readFileSync(w.json, 'utf8')).rows.length, 2);
  await assert.rejects(readResultsCsv(path.join(dir, 'none.csv')), /no results CSV at .*none\.csv; run the sweep first/);
});

test('figures and tables from rows: Fig. 6a–d specs, typed Tables 4–5 rows, seeds averaged', () => {
  const g = [fakeRow('group-size', 'G-2', 2, { conv_samples: 96, conv_window: 6 }), fakeRow('group-size', 'G-8', 8)];
  const fa = figGroupSize(g);
  assert.equal(fa.data.length, 5); // 3 refshapes splits + reward + convergence bars
  const bars = fa.data[4] as { y: number[]; text: string[] };
  assert.deepEqual(bars.y, [96, 0]);
  assert.deepEqual(bars.text, ['96', 'not converged']);
  assert.deepEqual((fa.layout!.xaxis as { ticktext: string[] }).ticktext, ['G-2, with a comma', '<b>G-8, with a comma</b>']);
  const modes = ['rl', 'seg', 'combined'].map((m) => fakeRow('mode', m, m));
  assert.deepEqual(figMode(modes).data.map((d) => d.name), ['refshapes testA', 'refshapes testB', 'reasonshapes test']);
  assert.deepEqual((figMode(modes).data[0] as { y: number[] }).y, [0.21, 0.21, 0.21]);
  assert.equal(figRewardCoef([fakeRow('reward-coef', 'mask-0.7', 0.7)]).data.length, 3);
  assert.equal(figSegLoss([fakeRow('seg-loss', 'bce', 'BCE')]).data.length, 3);
  assert.throws(() => figMode(g), /no result rows for ablation "mode"/);
  // two seeds of one point are averaged
  const two = [fakeRow('policy-size', 'policy-tiny', 'tiny', { seed: 0, params_total: 1_000_000 }), fakeRow('policy-size', 'policy-tiny', 'tiny', { seed: 1, params_total: 3_000_000 })];
  assert.equal(summarizePoints(two)[0].seeds, 2);
  const t = sizeTable(two, 'policy-size');
  assert.equal(t.length, 1);
  assert.equal(t[0]['total params (M)'], 2);
  assert.equal(t[0].policy, 'tiny');
  for (const v of Object.values(t[0])) assert.ok(['string', 'number', 'boolean'].includes(typeof v), `typed cell ${v}`);
  const e = sizeTable([fakeRow('encoder-size', 'encoder-S', 'S')], 'encoder-size');
  assert.equal(e[0]['encoder params (M)'], 0.5);
  assert.equal(e[0]['mini-SAM val mIoU'], undefined, 'no part columns in the rows: none in the table');
  const withParts = sizeTable([fakeRow('encoder-size', 'encoder-M', 'M', { sam_steps: 500, sam_best: 0.81234, policy_steps: 600, policy_best: 0.25 })], 'encoder-size');
  assert.deepEqual([withParts[0]['stage-1 steps'], withParts[0]['mini-SAM val mIoU'], withParts[0]['stage-2 steps'], withParts[0]['policy held-out target acc.']], [500, 0.812, 600, 0.25]);
});

test('sweepCommandLine: the committed small size sweeps carry their CPU settings', () => {
  assert.match(sweepCommandLine('policy-size'), /--preset small --option sizes=tiny,small --out runs\/sweep-policy-size-small/);
  assert.match(sweepCommandLine('encoder-size'), /--preset small --sam-steps 500 --sft-steps 600 --out/);
  assert.equal(sweepCommandLine('mode'), 'node bin/coprs.js sweep --ablation mode --preset small --out runs/sweep-mode-small --publish data/results/ablations/mode --json');
  assert.doesNotMatch(sweepCommandLine('policy-size', 'base'), /sizes/);
  // the settings are valid sweep settings
  assert.deepEqual(planSweep('policy-size', 'small', CPU_SWEEP_SETTINGS['policy-size'].opts).planned.map((p) => p.point.id), ['policy-tiny', 'policy-small']);
});

test('partColumns: each part\'s steps and best metric from its checkpoint; unreadable parts give nulls', () => {
  const c = partColumns({ sam: 'data/checkpoints/sam-S', policy: 'data/checkpoints/policy-small' });
  assert.equal(c.sam_steps, 1500);
  assert.equal(c.sam_best_metric, 'val.mIoU(box,point)');
  assert.ok(typeof c.sam_best === 'number' && c.sam_best > 0.8);
  assert.equal(c.policy_steps, 2000);
  assert.equal(c.policy_best_metric, 'heldout.targetAccuracy');
  assert.deepEqual(partColumns({ sam: '/nonexistent', policy: '/nonexistent' }), { sam_steps: null, sam_best_metric: null, sam_best: null, policy_steps: null, policy_best_metric: null, policy_best: null });
});

test('findings: each paper claim checked against results (ties do not reproduce)', () => {
  const withCiou = (ablation: string, point: string, value: number | string, c: number) => {
    const r = fakeRow(ablation, point, value);
    for (const [d, s] of EVAL_SPLITS) r[`${d}_${s}_ciou`] = c;
    return r;
  };
  const modes = [withCiou('mode', 'rl', 'rl', 0.2), withCiou('mode', 'seg', 'seg', 0.3), withCiou('mode', 'combined', 'combined', 0.35)];
  assert.equal(ablationFinding('mode', modes).reproduced, 'yes');
  modes[2] = withCiou('mode', 'combined', 'combined', 0.3);
  assert.equal(ablationFinding('mode', modes).reproduced, 'no', 'a tie with seg is not a win');
  const coef = [0, 0.3, 0.5, 0.7, 1].map((w, i) => withCiou('reward-coef', `mask-${w.toFixed(1)}`, w, [0.1, 0.2, 0.3, 0.4, 0.38][i]));
  assert.equal(ablationFinding('reward-coef', coef).reproduced, 'yes');
  assert.match(ablationFinding('reward-coef', coef).measured, /0\.7: 0\.400, 1\.0: 0\.380/);
  const g = [2, 4, 8, 16].map((G, i) => withCiou('group-size', `G-${G}`, G, [0.1, 0.12, 0.11, 0.2][i]));
  assert.equal(ablationFinding('group-size', g).reproduced, 'partly');
  const seg = [withCiou('seg-loss', 'bce-dice', 'BCE + dice', 0.3), withCiou('seg-loss', 'bce-dice-focal', 'BCE + dice + focal (paper)', 0.31)];
  assert.equal(ablationFinding('seg-loss', seg).reproduced, 'yes');
  const sizes = ['tiny', 'small', 'base'].map((p, i) => withCiou('policy-size', `policy-${p}`, p, 0.1 * (i + 1)));
  assert.equal(ablationFinding('policy-size', sizes).reproduced, 'yes');
  assert.throws(() => ablationFinding('test-hook', [fakeRow('test-hook', 'a', 1)]), /no finding is defined for ablation "test-hook"/);
});

test('findings compare means at their printed precision: the committed small reward-coef sweep (every point 0.223, 1.0 below 0.7 in the 4th decimal) does not reproduce', async () => {
  const rows = await readResultsCsv(path.join(__dirname, '..', 'data', 'results', 'ablations', 'reward-coef', 'results.csv'));
  const f = ablationFinding('reward-coef', rows);
  assert.match(f.measured, /0\.7: 0\.223, 1\.0: 0\.223/);
  assert.equal(f.reproduced, 'no');
});
