/**
 * Stage 3's losses, config and optimizer, by hand: the SEG loss terms (BCE on the prior, dice and
 * focal on the mask, heatmap dice, the valid region), the λ_d/λ_f switch, the paper and
 * official-code presets, config invariants with errors that say what to change, and AdamW with the
 * four CoPRS groups (×1, ×25, ×10, ×5), OneCycle from the peak to peak/6.7, global clip 1.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { segLoss, segLossWeights, SEG_LOSS_PRESETS } from '../src/train/coprs/losses';
import { COPRS_TRAIN_PRESETS, resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { coprsOptimizer, coprsSchedule, trainedParts } from '../src/train/coprs/optimizer';
import { lrFactor } from '../src/train/schedule';
import type { CoprsModel } from '../src/models/coprs/model';
import { assertNear } from './helpers/compare';

tf.setBackend('cpu');

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const bce = (x: number, t: number) => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
const focal = (x: number, t: number) => {
  const p = sig(x);
  const pt = p * t + (1 - p) * (1 - t);
  return (0.25 * t + 0.75 * (1 - t)) * bce(x, t) * (1 - pt) ** 2;
};

test('SEG loss by hand: BCE(prior) + λ_d·dice(mask) + λ_f·focal(mask), per image then averaged; the valid region; heatmap dice', () => {
  // one image, 2 x 2, the last column padding
  const prior = [2, -1, 0.5, 3];
  const mask = [1, -2, -0.5, 4];
  const target = [1, 0, 0.5, 1];
  const valid = [1, 0, 1, 0];
  const t = (v: number[]) => tf.tensor3d(v, [1, 2, 2]);
  const w = { lambdaD: 1.5, lambdaF: 10, lambdaHeatDice: 0 };
  const cfg = { ignorePadding: true, focalAlpha: 0.25, focalGamma: 2 };
  const inside = [0, 2];
  const meanOver = (f: (i: number) => number, idx: number[]) => idx.reduce((a, i) => a + f(i), 0) / idx.length;
  const dice = (logits: number[], idx: number[]) => {
    const pt = idx.reduce((a, i) => a + sig(logits[i]) * target[i], 0);
    const ps = idx.reduce((a, i) => a + sig(logits[i]), 0);
    const ts = idx.reduce((a, i) => a + target[i], 0);
    return 1 - (2 * pt + 1) / (ps + ts + 1); // smooth 1 (SAM / DETR)
  };
  const eBce = meanOver((i) => bce(prior[i], target[i]), inside);
  const eDice = dice(mask, inside);
  const eFocal = meanOver((i) => focal(mask[i], target[i]), inside);
  tf.tidy(() => {
    const out = segLoss({ prior: t(prior), masks: t(mask), targets: t(target), valid: t(valid) }, cfg, w);
    assertNear(out.bce.dataSync()[0], eBce, 1e-5, 'bce');
    assertNear(out.dice.dataSync()[0], eDice, 1e-5, 'dice');
    assertNear(out.focal.dataSync()[0], eFocal, 1e-6, 'focal');
    assertNear(out.total.dataSync()[0], eBce + 1.5 * eDice + 10 * eFocal, 1e-5, 'total');
    // ignorePadding off: every pixel counts
    const all = [0, 1, 2, 3];
    const off = segLoss({ prior: t(prior), masks: t(mask), targets: t(target), valid: t(valid) }, { ...cfg, ignorePadding: false }, w);
    assertNear(off.bce.dataSync()[0], meanOver((i) => bce(prior[i], target[i]), all), 1e-5, 'bce, all pixels');
    assertNear(off.dice.dataSync()[0], dice(mask, all), 1e-5, 'dice, all pixels');
    // heatmap dice (official code): λ_hd · (1 − dice(σ(prior)))
    const hd = segLoss({ prior: t(prior), masks: t(mask), targets: t(target), valid: t(valid) }, cfg, { ...w, lambdaHeatDice: 0.8 });
    assertNear(hd.heatmapDice.dataSync()[0], dice(prior, inside), 1e-5, 'heatmap dice');
    assertNear(hd.total.dataSync()[0], eBce + 1.5 * eDice + 10 * eFocal + 0.8 * dice(prior, inside), 1e-5, 'total with heatmap dice');
    // two images: the mean of the per-image totals
    const two = segLoss({ prior: tf.tensor3d([...prior, ...prior.map((x) => -x)], [2, 2, 2]), masks: tf.tensor3d([...mask, ...mask], [2, 2, 2]), targets: tf.tensor3d([...target, ...target], [2, 2, 2]) }, { ...cfg, ignorePadding: false }, w);
    const b2 = meanOver((i) => bce(-prior[i], target[i]), all);
    const per = (b: number) => b + 1.5 * dice(mask, all) + 10 * meanOver((i) => focal(mask[i], target[i]), all);
    assertNear(two.total.dataSync()[0], (per(meanOver((i) => bce(prior[i], target[i]), all)) + per(b2)) / 2, 1e-5, 'mean over images');
  });
});

test('λ_d / λ_f switch schedule and the two presets', () => {
  const paper = { ...SEG_LOSS_PRESETS.paper, switchStep: 1500 };
  assert.deepEqual(segLossWeights(paper, 0), { lambdaD: 1.5, lambdaF: 0, lambdaHeatDice: 0 });
  assert.deepEqual(segLossWeights(paper, 1499), { lambdaD: 1.5, lambdaF: 0, lambdaHeatDice: 0 });
  assert.deepEqual(segLossWeights(paper, 1500), { lambdaD: 3, lambdaF: 10, lambdaHeatDice: 0 });
  const code = { ...SEG_LOSS_PRESETS['official-code'], switchStep: 300 };
  assert.deepEqual(segLossWeights(code, 10), { lambdaD: 0.8, lambdaF: 0, lambdaHeatDice: 0.8 });
  assert.deepEqual(segLossWeights(code, 300), { lambdaD: 2, lambdaF: 5, lambdaHeatDice: 2 });
  const c = resolveCoprsTrainConfig('small');
  assert.equal(c.seg.preset, 'paper');
  assert.equal(c.seg.lambdaSeg, 0.3);
  assert.equal(c.seg.ignorePadding, true);
  const o = resolveCoprsTrainConfig('small', { seg: { preset: 'official-code', lambdaFAfter: 4 } });
  assert.equal(o.seg.ignorePadding, false);
  assert.equal(o.seg.lambdaD, 0.8);
  assert.equal(o.seg.lambdaFAfter, 4, 'later seg overrides apply on top of the preset');
  assert.equal(o.seg.switchStep, c.seg.switchStep);
  assert.throws(() => resolveCoprsTrainConfig('small', { seg: { preset: 'nope' } }), /unknown SEG loss preset "nope"; expected one of paper, official-code/);
});

test('config: presets resolve; invariants are checked when built, with errors that say what to change', () => {
  for (const p of ['tiny', 'small', 'base']) assert.equal(resolveCoprsTrainConfig(p).preset, p);
  assert.equal(COPRS_TRAIN_PRESETS.small.grpo.beta, 0.2);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { grpo: { G: 1 } }), /grpo.G must be an integer ≥ 2 .*set grpo.G=2 or more/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { batchSize: 6, grpo: { G: 4 } }), /batchSize 6 \(completions per step\) must be divisible by grpo.G 4; use batchSize=4 or 8/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { lr: 1 }), /coprs\.train\.tiny\.lr: unknown key/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { grpo: { lossType: 'ppo' } }), /unknown loss type "ppo"; expected one of grpo, dr_grpo, dapo, gspo/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { mode: 'both' }), /mode must be one of combined, rl, seg/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { rollout: { temperature: 0 } }), /identical, so every advantage is 0/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { rewards: { nope: 1 } }), /rewards.nope: unknown reward; registered rewards: .*coprs/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { heldout: { seed: 1 } }), /must differ from dataSeed/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { grpo: { epsilonHigh: 0.1 } }), /epsilonHigh \(0.1\) must be ≥ grpo.epsilon/);
  // rewards merge by name: the preset's mask + format-paper, plus any registered reward
  const r = resolveCoprsTrainConfig('tiny', { rewards: { coprs: 1, mask: 0 } });
  assert.deepEqual(r.rewards, { mask: 0, 'format-paper': 0.3, coprs: 1 });
  assert.equal(resolveCoprsTrainConfig('tiny', { mode: 'seg', rollout: { temperature: 0 } }).mode, 'seg');
});

test('AdamW with the CoPRS groups: one step by hand (×1, ×25, ×10, ×5, decoupled decay 0.01), OneCycle to peak/6.7, global clip 1', () => {
  const parts = ['policy', 'heatmapHead', 'promptEncoder', 'maskDecoder'] as const;
  const vars = Object.fromEntries(parts.map((p, i) => [p, tf.variable(tf.tensor1d([1, -2]), true, `v-${p}-${i}-${Date.now()}`)]));
  const fake = { partParams: (p: (typeof parts)[number]) => [[`${p}.w`, vars[p]]] } as unknown as CoprsModel;
  const cfg = resolveCoprsTrainConfig('small', { optim: { clipNorm: 0 } });
  const opt = coprsOptimizer(fake, cfg.optim);
  assert.deepEqual(opt.groups.map((g) => [g.name, g.lrScale, g.weightDecay]), [['policy', 1, 0.01], ['heatmapHead', 25, 0.01], ['promptEncoder', 10, 0.01], ['maskDecoder', 5, 0.01]]);
  const sched = coprsSchedule(cfg);
  assert.equal(lrFactor(sched, 0), 1, 'OneCycle starts at the peak (no warmup)');
  assertNear(lrFactor(sched, cfg.steps - 1), 1 / 6.7, 1e-12);
  const lr = cfg.optim.lr * lrFactor(sched, 0);
  const grads = Object.fromEntries(parts.map((p) => [`${p}.w`, tf.tensor1d([0.5, -0.25])]));
  opt.apply(grads, lr);
  // first step: m̂ = g, v̂ = g² → update = g / (|g| + ε) ≈ sign(g); θ ← θ(1 − lr·s·wd) − lr·s·sign(g)
  for (const p of parts) {
    const s = cfg.optim.lrScale[p];
    const got = vars[p].dataSync();
    assertNear(got[0], 1 * (1 - lr * s * 0.01) - lr * s * (0.5 / (0.5 + 1e-8)), 1e-7, `${p}[0]`);
    assertNear(got[1], -2 * (1 - lr * s * 0.01) + lr * s * (0.25 / (0.25 + 1e-8)), 1e-7, `${p}[1]`);
  }
  opt.dispose();
  // global clip: the norm over ALL groups, one factor for every gradient
  const clipped = coprsOptimizer(fake, { ...cfg.optim, clipNorm: 1 });
  const stats = clipped.apply(Object.fromEntries(parts.map((p) => [`${p}.w`, tf.tensor1d([3, 4])])), lr);
  assertNear(stats.gradNorm, Math.sqrt(4 * 25), 1e-5);
  assertNear(stats.clipScale, 1 / (10 + 1e-6), 1e-9);
  clipped.dispose();
  tf.dispose([...Object.values(vars), ...Object.values(grads)]);
  assert.deepEqual(trainedParts('rl'), ['policy']);
  assert.deepEqual(trainedParts('seg'), parts);
});
