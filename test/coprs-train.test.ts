/**
 * Stage 3 (src/train/coprs): one step in each mode (combined, rl, seg) with the TRL-named log
 * record, no leaked tensors per step, all-equal rewards (zero advantages, no NaN), a non-finite loss
 * refused without touching the weights (stop or skip), the loop's run folder (JSONL log,
 * completions CSV through danfojs, checkpoints of kind coprs), and the CLI: train, eval (with
 * per-sample rows), infer (and a corrupt image: clear error, no output), wrong checkpoint kinds.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { saveImagePng } from '../src/io/image';
import { JsonlLog } from '../src/train/jsonl';
import { readCheckpointMeta } from '../src/train/checkpoint';
import { resolveCoprsTrainConfig, type CoprsTrainConfig } from '../src/train/coprs/config';
import { CoprsTrainer, NonFiniteStepError, trainCoprs } from '../src/train/coprs/trainer';
import { plainCsv, writeCompletionsCsv } from '../src/train/coprs/completions';
import type { CoprsSources } from '../src/models/coprs/checkpoint';
import { runCli } from './helpers/cli';
import { tinyCoprs, tmpDir, writeParts } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

const sources: CoprsSources = { sam: { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 }, policy: null };
const trainer = (over: Record<string, unknown> = {}) => new CoprsTrainer(resolveCoprsTrainConfig('tiny', over), tinyCoprs(), sources);
const snapshot = (vars: [string, tf.Variable][]) => vars.map(([, v]) => Array.from(v.dataSync()));

const TRL_KEYS = ['reward', 'reward_std', 'frac_reward_zero_std', 'rewards/mask/mean', 'rewards/mask/std', 'rewards/format-paper/mean', 'rewards/format-paper/std',
  'completions/mean_length', 'kl', 'clip_ratio', 'loss/bce', 'loss/dice', 'loss/focal', 'one_minus_bce', 'one_minus_dice', 'step_time', 'grad_norm', 'learning_rate'];

for (const mode of ['combined', 'rl', 'seg'] as const) {
  test(`mode ${mode}: a step updates what the mode trains, logs TRL names, and leaks no tensors`, () => {
    const t = trainer({ mode });
    const head = snapshot(t.model.partParams('heatmapHead'));
    const policy = snapshot(t.model.partParams('policy'));
    const encoder = snapshot(t.model.sam.params.entries('imageEncoder'));
    const r = t.trainStep(); // warm-up (kernels, caches)
    assert.equal(r.skipped, false);
    assert.ok(Number.isFinite(r.loss), `loss ${r.loss}`);
    for (const k of TRL_KEYS) assert.ok(k in r.record, `record has ${k}`);
    assert.equal(r.completions.length, 4);
    assert.ok('advantage' in r.completions[0] && 'rewards/mask' in r.completions[0]);
    const changed = (a: number[][], b: number[][]) => a.some((x, i) => x.some((v, j) => v !== b[i][j]));
    assert.ok(changed(policy, snapshot(t.model.partParams('policy'))), 'the policy moves in every mode (seg: through e_conc)');
    assert.equal(changed(head, snapshot(t.model.partParams('heatmapHead'))), mode !== 'rl', 'rl leaves the heatmap head as it is');
    assert.equal(changed(encoder, snapshot(t.model.sam.params.entries('imageEncoder'))), false, 'the image encoder is frozen');
    if (mode === 'seg') {
      assert.equal(t.ref, null);
      assert.equal(r.record.kl, null);
      assert.equal(r.record['loss/grpo'], null);
    } else {
      assert.ok(t.ref != null && Number.isFinite(r.record.kl as number));
    }
    if (mode === 'rl') assert.equal(r.record['loss/seg'], null);
    const n = tf.memory().numTensors;
    t.trainStep();
    assert.equal(tf.memory().numTensors, n, 'a stage-3 step leaves no tensors behind');
    t.dispose();
  });
}

test('all-equal rewards in every group: zero advantages, zero-std fraction 1, a finite loss (no NaN)', () => {
  const t = trainer({ rewards: { mask: 0, 'format-paper': 1 } }); // a random policy never writes the format: every reward 0
  const r = t.trainStep();
  assert.equal(r.record.frac_reward_zero_std, 1);
  assert.equal(r.record.reward, 0);
  assert.ok(r.completions.every((c) => c.advantage === 0));
  assert.ok(Number.isFinite(r.loss));
  t.dispose();
});

test('μ = 2 updates per rollout batch: two optimizer steps on the same rollouts, old log-probs fixed at the first', () => {
  const t = trainer({ grpo: { mu: 2 } });
  const r = t.trainStep();
  assert.equal(t.optimizer.step, 2);
  assert.equal(t.step, 1);
  assert.ok(Number.isFinite(r.loss) && Number.isFinite(r.record.clip_ratio as number));
  t.dispose();
});

test('a non-finite loss refuses the step: no weight changes; the run stops (default) or skips the step', () => {
  const poison = (t: CoprsTrainer) => {
    const [, w] = t.model.partParams('heatmapHead')[0];
    tf.tidy(() => w.assign(tf.fill(w.shape, NaN)));
  };
  const t = trainer();
  poison(t);
  const policy = snapshot(t.model.partParams('policy'));
  assert.throws(() => t.trainStep(), (e: Error) => e instanceof NonFiniteStepError && /step 1: non-finite loss NaN .*refused and no weights were changed.*onNonFinite=skip/.test(e.message));
  assert.deepEqual(snapshot(t.model.partParams('policy')), policy);
  assert.equal(t.optimizer.step, 0);
  assert.equal(t.step, 0);
  t.dispose();
  const s = trainer({ onNonFinite: 'skip' });
  poison(s);
  const before = snapshot(s.model.partParams('policy'));
  const n = tf.memory().numTensors;
  const r = s.trainStep();
  assert.equal(r.skipped, true);
  assert.match(r.reason!, /non-finite loss/);
  assert.equal(s.step, 1);
  assert.equal(s.optimizer.step, 0);
  assert.deepEqual(snapshot(s.model.partParams('policy')), before);
  assert.equal(tf.memory().numTensors, n, 'a refused step leaks nothing either');
  s.dispose();
});

test('completions table: CSV through danfojs, commas and quotes kept', () => {
  const dir = tmpDir();
  const rows = [{ step: 1, completion: 'a, "quoted" one', reward: 0.5, ok: true, missing: null }, { step: 1, completion: 'plain', reward: -1, ok: false, missing: 2 }];
  const file = path.join(dir, 'c.csv');
  const w = writeCompletionsCsv(file, rows);
  assert.equal(w.writer, 'danfojs');
  const text = fs.readFileSync(file, 'utf8');
  assert.equal(text, plainCsv(rows, ['step', 'completion', 'reward', 'ok', 'missing']));
  assert.match(text, /"a, ""quoted"" one"/);
});

test('the loop: OUT is a coprs checkpoint, with log.jsonl (TRL names), completions/*.csv and latest/', async () => {
  const root = tmpDir();
  const parts = await writeParts(root);
  const out = path.join(root, 'run');
  const cfg: CoprsTrainConfig = resolveCoprsTrainConfig('tiny', { steps: 2, completionsEvery: 2, heldout: { samples: 2, every: 0 } });
  const r = await trainCoprs(cfg, { out, sam: parts.sam, policy: parts.policy, log: null });
  assert.equal(r.step, 2);
  assert.equal(readCheckpointMeta(out).kind, 'coprs');
  assert.equal(readCheckpointMeta(path.join(out, 'latest')).step, 2);
  assert.equal(r.best?.metric, 'heldout.gIoU');
  const log = JsonlLog.read(path.join(out, 'log.jsonl'));
  assert.deepEqual(log.map((x) => x.event), ['start', 'train', 'train', 'heldout', 'end']);
  assert.ok(typeof log[1].reward === 'number' && 'rewards/mask/mean' in log[1] && 'one_minus_dice' in log[1]);
  const csv = fs.readFileSync(path.join(out, 'completions', 'step_000002.csv'), 'utf8');
  assert.match(csv.split('\n')[0], /"completion".*"reward".*"advantage"/);
  await assert.rejects(trainCoprs(cfg, { out, sam: parts.sam, policy: parts.policy, log: null }), /already holds a run \(latest\/\); pass --resume/);
});

test('CLI: train coprs, eval (kind coprs, per-sample rows), infer on an image file; wrong kinds and corrupt images are clear errors', async () => {
  const root = tmpDir();
  const parts = await writeParts(root);
  const out = path.join(root, 'run');
  const bad = runCli(['train', 'coprs', '--preset', 'tiny', '--sam', parts.policy, '--policy', parts.policy, '--out', out, '--backend', 'wasm']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--sam .*is a "policy" checkpoint; this command needs a "sam" checkpoint/);
  const badSet = runCli(['train', 'coprs', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--out', out, '--set', 'grpo.G=3']);
  assert.equal(badSet.code, 2);
  assert.match(badSet.stderr, /batchSize 4 \(completions per step\) must be divisible by grpo.G 3/);
  const tr = runCli(['train', 'coprs', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--mode', 'combined', '--out', out, '--steps', '1', '--set', 'rollout.maxTokens=6,seg.preset=official-code', '--json', '--backend', 'wasm']);
  assert.equal(tr.code, 0, tr.stderr);
  assert.equal(tr.json?.step, 1);
  const rows = path.join(root, 'rows.jsonl');
  const ev = runCli(['eval', '--ckpt', out, '--split', 'refshapes/testA,reasonshapes/test', '--limit', '2', '--rows', rows, '--json', '--backend', 'wasm']);
  assert.equal(ev.code, 0, ev.stderr);
  const results = ev.json?.results as Record<string, unknown>[];
  assert.equal(results.length, 2);
  for (const k of ['gIoU', 'cIoU', 'heatmap', 'formatRate', 'n']) assert.ok(k in results[0], k);
  const lines = fs.readFileSync(rows, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  for (const k of ['id', 'priorIoU', 'maskIoU', 'response', 'format']) assert.ok(k in lines[0], k);
  const img = path.join(root, 'scene.png');
  await saveImagePng(trainStream('refshapes', { seed: 4 }).next().image, img);
  const inf = path.join(root, 'infer');
  const r = runCli(['infer', '--ckpt', out, '--image', img, '--query', 'the red circle', '--out', inf, '--json', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['response.txt', 'prior.png', 'mask.png', 'overlay.png']) assert.ok(fs.existsSync(path.join(inf, f)), f);
  const corrupt = path.join(root, 'corrupt.png');
  fs.writeFileSync(corrupt, Buffer.concat([fs.readFileSync(img).subarray(0, 40), Buffer.from('garbage')]));
  const inf2 = path.join(root, 'infer2');
  const c = runCli(['infer', '--ckpt', out, '--image', corrupt, '--query', 'the red circle', '--out', inf2, '--backend', 'wasm']);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /cannot read image .*corrupt\.png/);
  assert.equal(fs.existsSync(inf2), false, 'no partial output');
  const wrongKind = runCli(['infer', '--ckpt', parts.policy, '--image', img, '--query', 'x', '--out', inf2]);
  assert.equal(wrongKind.code, 1);
  assert.match(wrongKind.stderr, /is a "policy" checkpoint; coprs infer needs a "coprs" checkpoint/);
});

test('SEG warm-up: the first warmup.steps steps are teacher-forced on ground-truth chains of thought (no rollouts, no GRPO), then GRPO starts', () => {
  const t = trainer({ warmup: { steps: 1 }, mode: 'rl' });
  const head = snapshot(t.model.partParams('heatmapHead'));
  const w = t.trainStep();
  assert.equal(w.record.warmup, true);
  assert.equal(w.record['loss/grpo'], null, 'no policy-gradient term in a warm-up step');
  assert.equal(w.completions.length, 4, 'batchSize samples, one ground-truth response each');
  assert.ok(w.completions.every((c) => c.ref_pos_found === true && String(c.completion).startsWith('<think>The query asks for')));
  assert.ok(snapshot(t.model.partParams('heatmapHead')).some((x, i) => x.some((v, j) => v !== head[i][j])), 'the warm-up trains the heatmap head even in mode rl');
  const r = t.trainStep();
  assert.equal(r.record.warmup, undefined);
  assert.ok(Number.isFinite(r.record['loss/grpo'] as number));
  t.dispose();
  assert.throws(() => resolveCoprsTrainConfig('tiny', { warmup: { steps: 4 } }), /leaves no GRPO step/);
});

test('50 consecutive stage-3 steps keep tf.memory().numTensors constant', () => {
  const t = trainer({ steps: 60, warmup: { steps: 5 } });
  t.trainStep();
  const n = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) t.trainStep();
  assert.equal(tf.memory().numTensors, n);
  t.dispose();
});
