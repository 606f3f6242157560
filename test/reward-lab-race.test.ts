/**
 * Reward race (src/analysis/reward-race.ts) on the tiny preset from the shipped stage-1/2
 * checkpoints: two runs of 2 GRPO steps after a shared 1-step SEG warm-up, the challenger's map
 * replacing the default one (defaults kept at weight 0 and logged), the same first-step rollouts in
 * both runs (same seed and weights), per-step logs for both, run folders, no tensors left behind;
 * and the option errors.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { challengerRewardMap, coprsRewardOf, raceFigure, rewardRace } from '../src/analysis/reward-race';
import { registerReward, rewardNames, type RewardFn } from '../src/rewards/registry';
import { tmpDir } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

/** A user reward: hard IoU at 0.5, paid only above 0.5 (an IoU-thresholded reward). */
const gatedIoU: RewardFn = (ctx) => ctx.masks!.map((pair) => {
  if (!pair) return null;
  let i = 0;
  let u = 0;
  pair.pred.forEach((p, k) => {
    if (pair.valid && !pair.valid[k]) return;
    const a = p >= 0.5;
    const b = pair.gt[k] >= 0.5;
    if (a && b) i++;
    if (a || b) u++;
  });
  const iou = u === 0 ? 1 : i / u;
  return iou >= 0.5 ? iou : 0;
});

test('the challenger map replaces the default map; defaults stay at weight 0 so both runs log them', () => {
  assert.deepEqual(challengerRewardMap({ 'x-reward': 1 }), { mask: 0, 'format-paper': 0, 'x-reward': 1 });
  assert.deepEqual(challengerRewardMap({ mask: 1 }), { mask: 1, 'format-paper': 0 });
  assert.throws(() => challengerRewardMap({}), /non-empty map of reward name → weight/);
  assert.equal(coprsRewardOf({ 'rewards/mask/mean': 0.5, 'rewards/format-paper/mean': 1 }), 0.7 * 0.5 + 0.3);
  assert.throws(() => coprsRewardOf({ 'rewards/mask/mean': 0.5 }), /no rewards\/format-paper\/mean/);
});

test('race on the tiny preset: 2 steps each from the shipped checkpoints, same first rollouts, logs side by side, no leaked tensors', async () => {
  if (!rewardNames().includes('race-test/gated-iou')) registerReward('race-test/gated-iou', gatedIoU);
  const root = tmpDir('reward-race-');
  const n0 = tf.memory().numTensors;
  const steps: string[] = [];
  const r = await rewardRace({
    preset: 'tiny', name: 'gated', rewards: { 'race-test/gated-iou': 0.7, 'format-paper': 0.3 }, out: root, log: null,
    onStep: (run, s) => steps.push(`${run}:${s.step}`),
  });
  assert.equal(tf.memory().numTensors, n0, 'every model, reference policy and optimizer state is disposed');
  assert.deepEqual(steps, ['default:1', 'default:2', 'gated:1', 'gated:2']);
  const [def, ch] = r.runs;
  assert.equal(def.name, 'default');
  assert.deepEqual(def.rewards, { mask: 0.7, 'format-paper': 0.3 });
  assert.deepEqual(ch.rewards, { mask: 0, 'format-paper': 0.3, 'race-test/gated-iou': 0.7 });
  assert.equal(r.warmup.steps, 1);
  for (const run of r.runs) {
    assert.equal(run.steps.length, 2);
    for (const s of run.steps) for (const v of [s.reward, s.coprsReward, s.maskIoU, s.loss, s.zeroStdFraction, s.kl!]) assert.ok(Number.isFinite(v), `${run.name} step ${s.step}: ${JSON.stringify(s)}`);
    assert.ok(fs.existsSync(path.join(run.out, 'log.jsonl')) && fs.existsSync(path.join(run.out, 'checkpoint.json')));
  }
  assert.ok('race-test/gated-iou' in ch.steps[0].rewards && 'mask' in ch.steps[0].rewards, 'the challenger logs its reward and the default ones');
  assert.ok(!('race-test/gated-iou' in def.steps[0].rewards));
  // same seed, same warm-up weights: the first step's rollouts and masks are the same in both runs
  assert.equal(ch.steps[0].rolloutsDigest, def.steps[0].rolloutsDigest);
  assert.match(def.steps[0].rolloutsDigest, /^[0-9a-f]{16}$/);
  assert.equal(ch.steps[0].maskIoU, def.steps[0].maskIoU);
  assert.equal(ch.steps[0].coprsReward, def.steps[0].coprsReward);
  assert.equal(def.steps[0].reward, def.steps[0].coprsReward, 'the default run optimises the CoPRS reward');
  assert.ok(fs.existsSync(path.join(root, 'warmup', 'checkpoint.json')));
  const saved = JSON.parse(fs.readFileSync(path.join(root, 'race.json'), 'utf8'));
  assert.deepEqual(saved.runs.map((x: { steps: unknown[] }) => x.steps.length), [2, 2], 'race.json holds both runs');
  const fig = raceFigure(r);
  assert.equal(fig.data.length, 12, 'six panels × two runs');
  fs.rmSync(root, { recursive: true, force: true });
});

test('race options: bad names, steps and overrides give clear errors before any training', async () => {
  await assert.rejects(rewardRace({ preset: 'tiny', rewards: { mask: 1 }, name: 'default' }), /must be lower-case .* not "default" or "warmup"/);
  await assert.rejects(rewardRace({ preset: 'tiny', rewards: { mask: 1 }, steps: 0 }), /steps must be an integer ≥ 1/);
  await assert.rejects(rewardRace({ preset: 'tiny', rewards: { mask: 1 }, overrides: { steps: 3 } }), /pass steps as the race's own option/);
  await assert.rejects(rewardRace({ preset: 'tiny', rewards: { 'no-such-reward': 1 }, out: tmpDir('reward-race-bad-') }), /rewards.no-such-reward: unknown reward/);
  await assert.rejects(rewardRace({ preset: 'huge', rewards: { mask: 1 } }), /unknown preset "huge"/);
});
