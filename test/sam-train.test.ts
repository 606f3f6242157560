/**
 * Stage-1 training (src/train/sam/): a leak test for one training step, a tiny run that lowers the
 * loss, resume = uninterrupted run, checkpoint kind / size errors, config errors, evaluation on a few
 * samples, the CLI's flag checks, and the bench hook.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { resolveSamTrainConfig, SAM_TRAIN_PRESETS } from '../src/train/sam/config';
import { SamTrainer, benchSamStep, trainSam } from '../src/train/sam/trainer';
import { evaluateSam, loadSamCheckpoint } from '../src/models/sam/eval';
import { saveCheckpoint, readCheckpointMeta } from '../src/train/checkpoint';
import { JsonlLog } from '../src/train/jsonl';
import { TRAIN_SAM_FLAGS, trainSamCommand } from '../src/cli/commands/train-sam';
import { UsageError } from '../src/cli/args';
import { samEvalCommand } from '../src/models/sam/eval-cli';
import { PACKAGE_ROOT } from '../src/util/paths';
import { runCli } from './helpers/cli';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-sam-'));

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

after(() => fs.rmSync(TMP, { recursive: true, force: true }));

test('one stage-1 training step leaks no tensors (warm up, count, run again)', () => {
  const trainer = new SamTrainer(resolveSamTrainConfig('tiny'));
  try {
    trainer.trainStep();
    const n = tf.memory().numTensors;
    const r = trainer.trainStep();
    assert.equal(tf.memory().numTensors, n);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0);
    assert.equal(r.roundIoU.length, 3, 'first prompt, one refinement round, one mask-only round');
    assert.equal(trainer.step, 2);
    assert.equal(trainer.optimizer.step, 2);
  } finally {
    trainer.dispose();
  }
});

test('tiny preset: a few steps lower the loss; log, latest/ and best/ are written', async () => {
  const out = path.join(TMP, 'run');
  const r = await trainSam(resolveSamTrainConfig('tiny', { steps: 6 }), { out, log: null });
  assert.equal(r.step, 6);
  assert.ok(r.lastLoss! < r.firstLoss!, `loss ${r.firstLoss} -> ${r.lastLoss}`);
  const log = JsonlLog.read(path.join(out, 'log.jsonl'));
  const train = log.filter((l) => l.type === 'train');
  assert.equal(train.length, 6);
  for (const k of ['step', 'loss', 'focal', 'dice', 'iou', 'lr', 'gradNorm', 'msPerStep']) assert.ok(k in train[0], `log has ${k}`);
  assert.ok(log.some((l) => l.type === 'val' && typeof l.boxMIoU === 'number' && typeof l.pointMIoU === 'number'));
  const meta = readCheckpointMeta(path.join(out, 'latest'), { kind: 'sam', size: 'S' });
  assert.equal(meta.step, 6);
  assert.equal((meta.config as { train: { preset: string } }).train.preset, 'tiny');
  assert.ok(meta.best && meta.best.metric.startsWith('val.'));
  assert.ok(meta.tensors.some((t) => t.name.startsWith('adamw.m.')), 'latest holds the optimizer state');
  const best = readCheckpointMeta(path.join(out, 'best'), { kind: 'sam' });
  assert.ok(!best.tensors.some((t) => t.name.startsWith('adamw.')), 'best holds weights only');
  // Starting again into the same folder without --resume is refused.
  await assert.rejects(trainSam(resolveSamTrainConfig('tiny'), { out, log: null }), /already holds a checkpoint; pass --resume/);
});

test('resume continues from the saved step and matches an uninterrupted run', async () => {
  const cfg = resolveSamTrainConfig('tiny', { steps: 4, val: { limit: 2 } });
  const full = await trainSam(cfg, { out: path.join(TMP, 'full'), log: null });
  const first = await trainSam(cfg, { out: path.join(TMP, 'split'), log: null, untilStep: 2 });
  assert.equal(first.step, 2);
  const second = await trainSam(cfg, { out: path.join(TMP, 'split'), resume: true, log: null });
  assert.equal(second.startStep, 2);
  assert.equal(second.step, 4);
  assert.equal(second.lastLoss, full.lastLoss, 'same weights, optimizer state, RNG and data after resume');
  const a = loadSamCheckpoint(path.join(TMP, 'full', 'latest'));
  const b = loadSamCheckpoint(path.join(TMP, 'split', 'latest'));
  for (const [name, v] of a.params.entries()) assert.deepEqual(Array.from(v.dataSync()), Array.from(b.params.get(name).dataSync()), name);
  a.dispose();
  b.dispose();
  await assert.rejects(trainSam(cfg, { out: path.join(TMP, 'nothing'), resume: true, log: null }), /no checkpoint at .*latest; start a new run without --resume/);
});

test('checkpoints of another kind or size fail with a clear error', async () => {
  const dir = path.join(TMP, 'run', 'best');
  assert.throws(() => loadSamCheckpoint(dir, 'M'), /holds size "S"; expected size "M"/);
  const policy = path.join(TMP, 'policy');
  await saveCheckpoint(policy, { kind: 'policy', size: 'small', config: {}, step: 0, tensors: [['w', tf.zeros([2])]] });
  assert.throws(() => loadSamCheckpoint(policy), /is a "policy" checkpoint; this command needs a "sam" checkpoint/);
  const sam = loadSamCheckpoint(dir, 'S');
  assert.equal(sam.embedDim, 64);
  sam.dispose();
});

test('evaluateSam: box and point prompts on a few val samples, from a model or a checkpoint folder', async () => {
  const dir = path.join(TMP, 'run', 'best');
  const n = tf.memory().numTensors;
  const box = await evaluateSam(dir, { split: 'val', prompt: 'box', limit: 3, perSample: true });
  assert.equal(box.count, 3);
  assert.equal(box.perSample!.length, 3);
  assert.ok(box.mIoU >= 0 && box.mIoU <= 1 && box.cIoU >= 0 && box.cIoU <= 1);
  assert.equal(box.mIoU, box.gIoU);
  assert.ok('box' in box.perSample![0].prompt);
  // The loaded model is disposed. (Params.add keeps each variable's initial tensor alive, one per
  // parameter: a known leak outside this module, so allow at most that many.)
  const params = loadSamCheckpoint(dir);
  const perModel = params.params.entries().length;
  params.dispose();
  assert.ok(tf.memory().numTensors - n <= 2 * perModel, `${tf.memory().numTensors - n} tensors left after two loads`);
  const sam = loadSamCheckpoint(dir);
  const point = await evaluateSam(sam, { split: 'testA', prompt: 'point', limit: 2, multimaskOutput: true });
  assert.equal(point.count, 2);
  sam.dispose();
  await assert.rejects(evaluateSam(dir, { split: 'train' as 'val' }), /unknown split "train": expected one of val, testA, testB/);
});

test('config: presets, overrides merged, unknown keys and bad values rejected with the key path', () => {
  assert.deepEqual(Object.keys(SAM_TRAIN_PRESETS), ['tiny', 'small', 'base']);
  const c = resolveSamTrainConfig('small', { optim: { lr: 1e-3 }, size: 'm' });
  assert.equal(c.optim.lr, 1e-3);
  assert.equal(c.size, 'M');
  assert.equal(c.loss.focal, 20);
  assert.throws(() => resolveSamTrainConfig('small', { optim: { learningRate: 1 } }), /sam\.train\.small\.optim\.learningRate: unknown key/);
  assert.throws(() => resolveSamTrainConfig('small', { steps: 0 }), /steps must be an integer >= 1, got 0/);
  assert.throws(() => resolveSamTrainConfig('huge'), /unknown preset "huge"/);
  assert.throws(() => resolveSamTrainConfig('tiny', { size: 'XL' }), /unknown mini-SAM size "XL"/);
});

test('CLI: flags, --out required, --resume takes only --steps', async () => {
  for (const k of ['preset', 'size', 'out', 'resume', 'steps', 'json', 'backend', 'seed']) assert.ok(k in TRAIN_SAM_FLAGS, `--${k}`);
  await assert.rejects(trainSamCommand({ preset: 'tiny' }), (e: Error) => e instanceof UsageError && /--out DIR is required/.test(e.message));
  await assert.rejects(trainSamCommand({ preset: 'tiny', out: path.join(TMP, 'x'), resume: true, size: 'M' }), /only --steps may be given/);
  await assert.rejects(trainSamCommand({ preset: 'tiny', out: path.join(TMP, 'x'), size: 'Q' }), /unknown mini-SAM size "Q"/);
});

test('benchSamStep: a few timed steps of a preset', async () => {
  const b = await benchSamStep('tiny', 'S', { steps: 1 });
  assert.ok(b.msPerStep > 0);
  assert.equal(b.size, 'S');
  assert.equal(b.imagesPerStep, 2);
});

test('the shipped mini-SAM S (data/checkpoints/sam-S) loads and segments testA from box and point prompts', async () => {
  const dir = path.join(PACKAGE_ROOT, 'data', 'checkpoints', 'sam-S');
  const meta = readCheckpointMeta(dir, { kind: 'sam', size: 'S' });
  assert.equal((meta.config as { train: { preset: string } }).train.preset, 'small');
  const r = await samEvalCommand({ ckpt: dir, splits: 'testA', prompts: 'box,point', limit: 16, json: true, backend: 'wasm' });
  const res = r.results as Record<string, Record<string, { mIoU: number; count: number }>>;
  assert.equal(res.testA.box.count, 16);
  assert.ok(res.testA.box.mIoU > 0.85, `box mIoU ${res.testA.box.mIoU}`);
  assert.ok(res.testA.point.mIoU > 0.75, `point mIoU ${res.testA.point.mIoU}`);
  await assert.rejects(samEvalCommand({ ckpt: dir, splits: 'test' }), /--splits: unknown value "test"; expected val, testA, testB/);
});

test('coprs train sam runs end to end as a subprocess and prints its result as JSON', () => {
  const out = path.join(TMP, 'cli');
  const r = runCli(['train', 'sam', '--preset', 'tiny', '--size', 'S', '--out', out, '--steps', '2', '--json', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json?.step, 2);
  assert.equal(r.json?.backend, 'wasm');
  assert.ok(fs.existsSync(path.join(out, 'latest', 'weights.bin')));
  const bad = runCli(['train', 'sam', '--preset', 'tiny', '--out', out, '--sizes', 'S']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option --sizes/);
});
