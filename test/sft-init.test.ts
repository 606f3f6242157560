/**
 * Stage 2's warm restart (`sft.policyInit`, `coprs train sft --init DIR`): a new run starts from a
 * stage-2 checkpoint's weights (and perception head when OUT/latest is given) with a new optimizer
 * and schedule; mismatched model, encoder or a combined --vision are errors; loading leaks nothing.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { StubImageEncoder } from '../src/models/policy/vision';
import type { EncoderSource } from '../src/models/policy/checkpoint';
import { loadCheckpoint } from '../src/train/checkpoint';
import { JsonlLog } from '../src/train/jsonl';
import { resolveSftConfig } from '../src/train/sft/config';
import { SftTrainer, trainSft } from '../src/train/sft/trainer';
import { runCli } from './helpers/cli';

const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };
let encoder: StubImageEncoder;
let first: string;

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(64, 16, 128, 1);
  first = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-init-a-'));
  const cfg = resolveSftConfig('tiny', { steps: 2, heldout: { samples: 1, every: 0, maxTokens: 4 } });
  await trainSft(cfg, { out: first, log: null, encoder: { encoder, source } });
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);

test('policyInit from OUT/latest: every policy weight and the perception head equal the checkpoint; optimizer and step start anew', () => {
  const cfg = resolveSftConfig('tiny', { dataSeed: 2, policyInit: { dir: path.join(first, 'latest') } });
  const t = new SftTrainer(cfg, encoder, source);
  try {
    const before = tf.memory().numTensors;
    const r = t.loadPolicyInit(cfg.policyInit.dir!);
    assert.equal(tf.memory().numTensors, before, 'loading leaks no tensors');
    assert.deepEqual(r, { step: 2, aux: true });
    const { tensors } = loadCheckpoint(path.join(first, 'latest'), { kind: 'policy' });
    for (const [name, v] of [...t.model.params.entries(''), ...t.aux!.params.entries('')]) assert.equal(maxDiff(v, tensors.get(name)!), 0, name);
    tf.dispose([...tensors.values()]);
    assert.equal(t.step, 0);
    assert.equal(t.optimizer.step, 0);
  } finally {
    t.dispose();
  }
});

test('policyInit from a best-model folder: the policy is loaded, the perception head starts fresh', () => {
  const cfg = resolveSftConfig('tiny', { policyInit: { dir: first } });
  const t = new SftTrainer(cfg, encoder, source);
  try {
    assert.equal(t.loadPolicyInit(first).aux, false);
  } finally {
    t.dispose();
  }
});

test('trainSft with policyInit: a new run from the checkpoint, its start logged and its config recorded', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-init-b-'));
  const lines: string[] = [];
  const heldout = { samples: 1, every: 0, maxTokens: 4 };
  const r = await trainSft(resolveSftConfig('tiny', { steps: 1, heldout, policyInit: { dir: path.join(first, 'latest') } }), { out, log: (l) => lines.push(l), encoder: { encoder, source } });
  assert.equal(r.step, 1);
  assert.ok(lines.some((l) => /policy from .*latest \(its step 2; perception head too\)/.test(l)), lines.join('\n'));
  const start = JsonlLog.read(path.join(out, 'log.jsonl'))[0] as { config: { policyInit: { dir: string } } };
  assert.match(start.config.policyInit.dir, /latest$/);
  fs.rmSync(out, { recursive: true, force: true });
});

test('policyInit errors: with --vision, an empty dir, another model size, another encoder', () => {
  assert.throws(() => resolveSftConfig('tiny', { policyInit: { dir: first }, visionInit: { dir: first, lrScale: 1 } }), /exclude each other/);
  assert.throws(() => resolveSftConfig('tiny', { policyInit: { dir: '' } }), /policyInit.dir/);
  const wide = resolveSftConfig('tiny', { model: { dim: 48, mlpHidden: 96 }, policyInit: { dir: first } });
  const t = new SftTrainer(wide, encoder, source);
  assert.throws(() => t.loadPolicyInit(first), /is not this run's/);
  t.dispose();
  const other: EncoderSource = { ...source, seed: 9 };
  const t2 = new SftTrainer(resolveSftConfig('tiny'), encoder, other);
  assert.throws(() => t2.loadPolicyInit(first), /trained on the encoder stub/);
  t2.dispose();
});

test('coprs train sft --init: end to end through the CLI (1 step, stub encoder); with --resume a usage error', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-init-cli-'));
  fs.rmSync(out, { recursive: true });
  const r = runCli(['train', 'sft', '--preset', 'tiny', '--sam', 'stub', '--init', path.join(first, 'latest'), '--steps', '1', '--out', out, '--json', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json?.step, 1);
  assert.match(r.stderr, /policy from .*its step 2/);
  const bad = runCli(['train', 'sft', '--preset', 'tiny', '--resume', '--init', first, '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /only --steps may be given/);
  fs.rmSync(out, { recursive: true, force: true });
});
