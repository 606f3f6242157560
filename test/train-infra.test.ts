/** The training infrastructure: seeded parameters, AdamW (hand-computed), schedules, checkpoints, config merge. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Params, normal, zeros } from '../src/nn/params';
import { Linear, LayerNorm, RMSNorm, MLP, Embedding, Conv2d, ConvTranspose2d, gelu } from '../src/nn/layers';
import { AdamW } from '../src/train/adamw';
import { lrFactor } from '../src/train/schedule';
import { saveCheckpoint, loadCheckpoint, assignParams, readCheckpointMeta } from '../src/train/checkpoint';
import { JsonlLog } from '../src/train/jsonl';
import { mergeConfig, parseOverrides } from '../src/config/merge';
import { assertNear } from './helpers/compare';

test('Params: same seed and name give the same values; names are scoped; counts add up', () => {
  const a = Params.create(7);
  const b = Params.create(7);
  const wa = a.scope('enc').scope(0).add('w', [3, 4], normal(0.02));
  const wb = b.scope('enc').scope(0).add('w', [3, 4], normal(0.02));
  assert.deepEqual(Array.from(wa.dataSync()), Array.from(wb.dataSync()));
  assert.ok(a.has('enc.0.w'));
  a.add('bias', [4], zeros);
  assert.equal(a.count(), 16);
  assert.equal(a.count('enc'), 12);
  assert.throws(() => a.add('bias', [4], zeros), /parameter "bias" already exists/);
  const other = Params.create(8).add('enc.0.w', [3, 4], normal(0.02));
  assert.notDeepEqual(Array.from(other.dataSync()), Array.from(wa.dataSync()));
  a.dispose();
  b.dispose();
  other.dispose();
});

test('layers: output shapes, LayerNorm statistics, GELU values', () => {
  const p = Params.create(1);
  tf.tidy(() => {
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 3);
    assert.deepEqual(new Linear(p.scope('l'), 8, 3).apply(x).shape, [2, 5, 3]);
    const ln = new LayerNorm(p.scope('ln'), 8).apply(x);
    assertNear(ln.mean(-1).abs().max().dataSync()[0], 0, 1e-5, 'LayerNorm mean');
    assertNear(ln.square().mean(-1).mean().dataSync()[0], 1, 1e-3, 'LayerNorm variance');
    const rms = new RMSNorm(p.scope('rms'), 8).apply(x);
    assertNear(rms.square().mean(-1).mean().dataSync()[0], 1, 1e-3, 'RMSNorm mean square');
    assert.deepEqual(new MLP(p.scope('mlp'), [8, 16, 4]).apply(x).shape, [2, 5, 4]);
    assert.deepEqual(new Embedding(p.scope('emb'), 10, 6).apply(tf.tensor2d([[1, 2], [3, 9]], [2, 2], 'int32')).shape, [2, 2, 6]);
    const img = tf.zeros([1, 16, 16, 4]) as tf.Tensor4D;
    assert.deepEqual(new Conv2d(p.scope('c'), 4, 6, 2, { stride: 2, pad: 'valid' }).apply(img).shape, [1, 8, 8, 6]);
    assert.deepEqual(new ConvTranspose2d(p.scope('ct'), 4, 2, 2, 2).apply(img).shape, [1, 32, 32, 2]);
    // GELU(x) = x Φ(x): GELU(1) = 0.8413447, GELU(-1) = -0.1586553
    const g = gelu(tf.tensor1d([1, -1, 0])).dataSync();
    assertNear(g[0], 0.8413447, 1e-5);
    assertNear(g[1], -0.1586553, 1e-5);
    assertNear(g[2], 0, 1e-7);
  });
  p.dispose();
});

test('AdamW: one step by hand (decoupled decay, bias correction), groups scale the learning rate', () => {
  // θ = 1, g = 0.5, lr = 0.1, wd = 0.01, β = (0.9, 0.999), ε = 1e-8, step 1:
  // m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, update = 0.5 / (0.5 + 1e-8) ≈ 1
  // θ ← 1·(1 − 0.1·0.01) − 0.1·1 = 0.999 − 0.1 = 0.899
  const a = tf.variable(tf.scalar(1));
  const b = tf.variable(tf.scalar(1));
  const opt = new AdamW([{ name: 'base', vars: [['a', a]] }, { name: 'head', vars: [['b', b]], lrScale: 10, weightDecay: 0 }], { weightDecay: 0.01 });
  const g = { a: tf.scalar(0.5), b: tf.scalar(0.5) };
  const stats = opt.apply(g, 0.1);
  assertNear(a.dataSync()[0], 0.899, 1e-6, 'θ after one step');
  // head: lr 1.0, no decay: 1 − 1.0·1 = 0
  assertNear(b.dataSync()[0], 0, 1e-6, 'scaled group');
  assertNear(stats.gradNorm, Math.sqrt(0.5), 1e-6, 'global grad norm');
  assert.equal(opt.step, 1);
  tf.dispose([a, b, g.a, g.b]);
  opt.dispose();
});

test('AdamW: global norm clipping, and a non-finite gradient throws before any change', () => {
  const a = tf.variable(tf.tensor1d([0, 0]));
  const opt = new AdamW([{ name: 'g', vars: [['a', a]] }], { weightDecay: 0, clipNorm: 1 });
  const g = tf.tensor1d([3, 4]);
  const s = opt.apply({ a: g }, 0.1);
  assertNear(s.gradNorm, 5, 1e-6);
  assertNear(s.clipScale, 0.2, 1e-6);
  const before = Array.from(a.dataSync());
  const bad = tf.tensor1d([NaN, 1]);
  assert.throws(() => opt.apply({ a: bad }, 0.1), /non-finite gradient .* in a; no weights were changed/);
  assert.deepEqual(Array.from(a.dataSync()), before);
  tf.dispose([a, g, bad]);
  opt.dispose();
});

test('AdamW leaks no tensors per step', () => {
  const a = tf.variable(tf.randomNormal([4, 4]));
  const opt = new AdamW([{ name: 'g', vars: [['a', a]] }], { clipNorm: 1 });
  const step = () => {
    const grads = tf.tidy(() => ({ a: tf.ones([4, 4]) }));
    opt.apply(grads, 0.01);
    tf.dispose(grads.a);
  };
  step();
  const n = tf.memory().numTensors;
  step();
  step();
  assert.equal(tf.memory().numTensors, n);
  a.dispose();
  opt.dispose();
});

test('schedules: OneCycle from the peak (pct_start 0) cosine down to peak/6.7; warmup-cosine', () => {
  const s = { kind: 'onecycle' as const, total: 101, finalDiv: 6.7 };
  assertNear(lrFactor(s, 0), 1, 1e-12);
  assertNear(lrFactor(s, 50), (1 + 1 / 6.7) / 2, 1e-9, 'midpoint');
  assertNear(lrFactor(s, 100), 1 / 6.7, 1e-12);
  const w = { kind: 'warmup-cosine' as const, warmup: 10, total: 110, minFactor: 0.1 };
  assertNear(lrFactor(w, 0), 0.1, 1e-12);
  assertNear(lrFactor(w, 9), 1, 1e-12);
  assertNear(lrFactor(w, 109), 0.1, 1e-9);
});

test('checkpoints: round trip, kind/size checks, truncated and corrupt weights are refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
  const ck = path.join(dir, 'latest');
  const p = Params.create(3);
  new Linear(p.scope('lin'), 3, 2);
  const ids = tf.tensor1d([1, 2, 3], 'int32');
  await saveCheckpoint(ck, { kind: 'sam', size: 'S', config: { a: 1 }, step: 12, tensors: [...p.entries(), ['counter', ids]], best: { metric: 'mIoU', value: 0.5, step: 10 }, rng: { data: [1, 2, 3, 4] } });
  assert.deepEqual(fs.readdirSync(dir), ['latest'], 'no temporary folder left');
  const q = Params.create(99);
  new Linear(q.scope('lin'), 3, 2);
  const { meta, tensors } = loadCheckpoint(ck, { kind: 'sam', size: 'S' });
  assignParams(q, tensors);
  assert.deepEqual(Array.from(q.get('lin.w').dataSync()), Array.from(p.get('lin.w').dataSync()));
  assert.deepEqual(Array.from(tensors.get('counter')!.dataSync()), [1, 2, 3]);
  assert.equal(meta.step, 12);
  assert.deepEqual(meta.rng.data, [1, 2, 3, 4]);
  assert.throws(() => readCheckpointMeta(ck, { kind: 'policy' }), /is a "sam" checkpoint; this command needs a "policy" checkpoint/);
  assert.throws(() => readCheckpointMeta(ck, { size: 'L' }), /holds size "S"; expected size "L"/);
  const r = Params.create(1);
  new Linear(r.scope('lin'), 4, 2);
  assert.throws(() => assignParams(r, tensors), /has shape \[3,2\], the model's "lin.w" has \[4,2\]/);
  const s = Params.create(1);
  new Linear(s.scope('other'), 3, 2);
  assert.throws(() => assignParams(s, tensors), /checkpoint lacks 2 parameters/);
  // Overwrite: the new checkpoint replaces the old one atomically.
  await saveCheckpoint(ck, { kind: 'sam', size: 'S', config: {}, step: 13, tensors: p.entries() });
  assert.equal(readCheckpointMeta(ck).step, 13);
  // Truncated weights.
  const wfile = path.join(ck, 'weights.bin');
  const full = fs.readFileSync(wfile);
  fs.writeFileSync(wfile, full.subarray(0, full.length - 5));
  assert.throws(() => loadCheckpoint(ck), /weights.bin has \d+ bytes, expected \d+ \(truncated/);
  // Corrupt weights (same size).
  const flipped = Buffer.from(full);
  flipped[0] ^= 0xff;
  fs.writeFileSync(wfile, flipped);
  assert.throws(() => loadCheckpoint(ck), /sha256 .* differs/);
  fs.writeFileSync(path.join(ck, 'checkpoint.json'), '{"format": "coprs-ck');
  assert.throws(() => readCheckpointMeta(ck), /not valid JSON/);
  assert.throws(() => readCheckpointMeta(path.join(dir, 'nope')), /no checkpoint at/);
  for (const t of tensors.values()) t.dispose();
  [p, q, r, s].forEach((x) => x.dispose());
  ids.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('JSONL log: appends records; a line cut off by a crash is skipped on read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsonl-'));
  const file = path.join(dir, 'log.jsonl');
  const log = new JsonlLog(file);
  log.write({ step: 1, loss: 0.5 });
  log.write({ step: 2, loss: 0.4 });
  log.close();
  fs.appendFileSync(file, '{"step": 3, "lo');
  const rows = JsonlLog.read(file);
  assert.deepEqual(rows.map((r) => r.step), [1, 2]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('config merge: unknown keys and wrong types are rejected with the path; overrides parse', () => {
  const d = { lr: 1e-3, model: { depth: 2, act: 'gelu' }, sizes: [1, 2] };
  assert.deepEqual(mergeConfig(d, { model: { depth: 4 } }), { lr: 1e-3, model: { depth: 4, act: 'gelu' }, sizes: [1, 2] });
  assert.throws(() => mergeConfig(d, { modle: {} }), /config.modle: unknown key; valid keys: lr, model, sizes/);
  assert.throws(() => mergeConfig(d, { model: { depth: 'deep' } }), /config.model.depth: expected a number, got "deep"/);
  assert.throws(() => mergeConfig(d, { lr: NaN }), /expected a finite number/);
  assert.throws(() => mergeConfig(d, { sizes: 3 }), /config.sizes: expected an array/);
  assert.deepEqual(parseOverrides(['model.depth=3', 'lr=0.01', 'model.act=relu']), { model: { depth: 3, act: 'relu' }, lr: 0.01 });
  assert.throws(() => parseOverrides(['depth']), /expected key=value/);
  // merge does not mutate the defaults
  assert.equal(d.model.depth, 2);
});

test('creating and disposing parameters and an optimizer leaves no tensor behind', () => {
  const n = tf.memory().numTensors;
  const p = Params.create(4);
  new Linear(p.scope('a'), 8, 8);
  const opt = new AdamW([{ name: 'all', vars: p.entries() }]);
  assert.equal(tf.memory().numTensors, n + 2 + 4, 'two variables and their two moments each');
  opt.dispose();
  p.dispose();
  assert.equal(tf.memory().numTensors, n);
});
