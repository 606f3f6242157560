/**
 * Head pre-training on cached e_conc (src/train/coprs/head-pretrain.ts, a departure): the cache's
 * shapes, the parts it trains (head, prompt encoder, decoder — never the policy or the image
 * encoder), no tensor leaks, and the CLI end to end on a tiny checkpoint.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { loadCoprs, saveCoprs, type CoprsSources } from '../src/models/coprs/checkpoint';
import { resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { cacheHeadInputs, disposeHeadCache, pretrainHead } from '../src/train/coprs/head-pretrain';
import { runCli } from './helpers/cli';
import { tinyCoprs, tmpDir } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
});

const snapshot = (vars: [string, tf.Variable][]) => vars.map(([, v]) => Array.from(v.dataSync()));
const changed = (a: number[][], b: number[][]) => a.some((x, i) => x.some((v, j) => v !== b[i][j]));

test('cached head pre-training: cache shapes, trains head / prompt encoder / decoder only, no tensors leak', () => {
  const model = tinyCoprs();
  const samples = trainStream('refshapes', { seed: 11 }).take(5);
  const cache = cacheHeadInputs(model, samples, 2); // chunks of 2, 2, 1
  const r = model.maskSize;
  assert.deepEqual(cache.eConc.shape, [5, model.policy.config.dim]);
  assert.deepEqual(cache.E.shape.slice(0, 1), [5]);
  assert.deepEqual(cache.valid.shape, [5, r, r]);
  assert.deepEqual(cache.targets.shape, [5, r, r]);
  const cfg = resolveCoprsTrainConfig('tiny');
  const before = { policy: snapshot(model.partParams('policy')), head: snapshot(model.partParams('heatmapHead')), pe: snapshot(model.partParams('promptEncoder')), dec: snapshot(model.partParams('maskDecoder')), enc: snapshot(model.sam.params.entries('imageEncoder')) };
  const logs: number[] = [];
  pretrainHead(model, cache, cfg, { steps: 2, batchSize: 3, lr: 1e-3, seed: 0, every: 1, onLog: (s, p) => { assert.ok(Number.isFinite(p.loss)); logs.push(s); } });
  assert.deepEqual(logs, [1, 2]);
  assert.ok(changed(before.head, snapshot(model.partParams('heatmapHead'))), 'the head trains');
  assert.ok(changed(before.pe, snapshot(model.partParams('promptEncoder'))), 'the prompt encoder trains');
  assert.ok(changed(before.dec, snapshot(model.partParams('maskDecoder'))), 'the mask decoder trains');
  assert.equal(changed(before.policy, snapshot(model.partParams('policy'))), false, 'the policy is frozen');
  assert.equal(changed(before.enc, snapshot(model.sam.params.entries('imageEncoder'))), false, 'the image encoder is frozen');
  const n = tf.memory().numTensors;
  pretrainHead(model, cache, cfg, { steps: 2, batchSize: 3, lr: 1e-3, seed: 1 });
  assert.equal(tf.memory().numTensors, n, 'a pre-training run leaves no tensors behind');
  disposeHeadCache(cache);
  assert.throws(() => cacheHeadInputs(model, [{ ...samples[0], cot: undefined }]), /no ground-truth chain of thought/);
  model.dispose();
});

test('CLI: coprs train head writes a coprs checkpoint that loads, with the pre-training recorded; coprs train coprs --init continues from it', async () => {
  const root = tmpDir('head-pretrain');
  const model = tinyCoprs();
  const sources: CoprsSources = { sam: { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 }, policy: null };
  await saveCoprs(path.join(root, 'ckpt'), model, sources, { size: 'tiny', step: 4, train: resolveCoprsTrainConfig('tiny') });
  model.dispose();
  const r = runCli(['train', 'head', '--ckpt', path.join(root, 'ckpt'), '--out', path.join(root, 'out'), '--steps', '2', '--samples', '3', '--batch', '2', '--json', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.steps, 2);
  const loaded = loadCoprs(path.join(root, 'out'));
  assert.equal((loaded.meta.extra.headPretrain as { samples: number }).samples, 3);
  loaded.model.dispose();
  // stage 3 continues from it: --init starts a new run from a coprs checkpoint's weights
  const cont = runCli(['train', 'coprs', '--preset', 'tiny', '--init', path.join(root, 'out'), '--out', path.join(root, 'grpo'), '--steps', '1', '--json', '--backend', 'wasm']);
  assert.equal(cont.code, 0, cont.stderr);
  assert.equal(cont.json?.step, 1);
  const both = runCli(['train', 'coprs', '--preset', 'tiny', '--init', path.join(root, 'out'), '--sam', root, '--out', path.join(root, 'y'), '--backend', 'wasm']);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /--init DIR starts a new run/);
  const bad = runCli(['train', 'head', '--ckpt', path.join(root, 'ckpt'), '--out', path.join(root, 'x'), '--steps', '0', '--backend', 'wasm']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--steps must be a positive integer/);
});
