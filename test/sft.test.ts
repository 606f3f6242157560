/**
 * Stage 2, the policy cold start (src/train/sft): config invariants, the data stream (buckets,
 * restorable state, training scenes only), the response-only loss, a leak test for one training
 * step, resuming a run exactly, the CLI's errors, and the benchmark hooks.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { shapeWorldMeta } from '../src/data/shapeworld/index';
import { resolveSftConfig } from '../src/train/sft/config';
import { SftData, makeBatch } from '../src/train/sft/data';
import { SftTrainer, sftLoss, trainSft } from '../src/train/sft/trainer';
import { JsonlLog } from '../src/train/jsonl';
import { loadCheckpoint, readCheckpointMeta } from '../src/train/checkpoint';
import { Tokenizer, EOS, REF_POS, THINK } from '../src/models/policy/tokenizer';
import { PolicyModel } from '../src/models/policy/model';
import { StubImageEncoder } from '../src/models/policy/vision';
import { benchRollouts, benchSftStep } from '../src/models/policy/bench';
import type { EncoderSource } from '../src/models/policy/checkpoint';
import { runCli } from './helpers/cli';

const tok = Tokenizer.default();
let encoder: StubImageEncoder;
const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(64, 16, 128, 1);
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sft-'));

test('sft config: presets resolve; unknown keys and broken invariants are errors naming the key', () => {
  assert.equal(resolveSftConfig('small').model.dim, 128);
  assert.equal(resolveSftConfig('tiny', { model: { layers: 3 } }).model.layers, 3);
  assert.throws(() => resolveSftConfig('tiny', { lr: 1 }), /sft\.lr: unknown key/);
  assert.throws(() => resolveSftConfig('tiny', { reasonFraction: 2 }), /reasonFraction/);
  assert.throws(() => resolveSftConfig('tiny', { heldout: { seed: 1 } }), /must differ from sft.dataSeed/);
  assert.throws(() => resolveSftConfig('tiny', { model: { heads: 3 } }), /divisible/);
});

test('sft data: both training streams (training scenes only), length buckets, and a restorable state', () => {
  const opts = { seed: 3, dataSeed: 5, batchSize: 4, reasonFraction: 0.5, bucketBatches: 3, imageTokens: 16 };
  const a = new SftData(tok, opts);
  const first = [a.next(), a.next()];
  const state = a.getState();
  const rest = [a.next(), a.next(), a.next()];
  const b = new SftData(tok, opts);
  b.setState(JSON.parse(JSON.stringify(state)));
  const again = [b.next(), b.next(), b.next()];
  assert.deepEqual(again.map((x) => x.samples.map((s) => s.id)), rest.map((x) => x.samples.map((s) => s.id)));
  const all = [...first, ...rest];
  const ids = all.flatMap((x) => x.samples);
  assert.ok(ids.some((s) => s.dataset === 'refshapes') && ids.some((s) => s.dataset === 'reasonshapes'));
  for (const s of ids) {
    assert.equal(s.split, 'train');
    assert.equal(shapeWorldMeta(s).sceneSeed >>> 31, 0, `${s.id} must be a training scene`);
  }
  for (const x of all) {
    x.responses.forEach((r) => {
      assert.equal(r[0], THINK);
      assert.deepEqual(r.slice(-2), [REF_POS, EOS]);
    });
  }
  // within a bucket, batches are cut from the length-sorted samples
  const lens = first.concat(rest[0]).map((x) => x.prompts.map((p, i) => p.length + x.responses[i].length));
  const spans = lens.map((l) => [Math.min(...l), Math.max(...l)]).sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `bucket batches overlap: ${JSON.stringify(spans)}`);
});

test('the loss is the mean over response tokens of the batch; padding does not change it', () => {
  const model = PolicyModel.create('tiny', encoder, { seed: 2 });
  const s = new SftData(tok, { seed: 1, dataSeed: 2, batchSize: 2, reasonFraction: 0, bucketBatches: 1, imageTokens: model.imageTokens }).next();
  const emb = model.embedImages(encoder, s.samples.map((x) => x.image));
  tf.tidy(() => {
    const l2 = sftLoss(model, s, emb).dataSync()[0];
    const one = makeBatch(tok, s.samples.slice(0, 1), model.imageTokens);
    const e1 = emb.slice([0], [1]) as tf.Tensor4D;
    const l1 = sftLoss(model, one, e1).dataSync()[0];
    const two = makeBatch(tok, s.samples.slice(1, 2), model.imageTokens);
    const lb = sftLoss(model, two, emb.slice([1], [1]) as tf.Tensor4D).dataSync()[0];
    const n1 = one.responseTokens;
    const n2 = two.responseTokens;
    assert.ok(Math.abs(l2 - (l1 * n1 + lb * n2) / (n1 + n2)) < 1e-4, 'token-mean over the batch, padding ignored');
    assert.ok(Number.isFinite(l2) && l2 > 0);
  });
  emb.dispose();
  model.dispose();
});

test('leak test: one stage-2 training step allocates no lasting tensors', async () => {
  const trainer = new SftTrainer(resolveSftConfig('tiny'), encoder, source);
  await trainer.trainStep();
  const before = tf.memory().numTensors;
  const r = await trainer.trainStep();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(r.loss) && r.gradNorm > 0);
  trainer.dispose();
});

test('a run resumed from OUT/latest ends with the same weights as an uninterrupted run', async () => {
  const cfg = resolveSftConfig('tiny', { steps: 4, checkpointEvery: 2, heldout: { samples: 1, every: 0, maxTokens: 4 } });
  const a = tmp();
  const b = tmp();
  const quiet = { log: null, encoder: { encoder, source } };
  const ra = await trainSft(cfg, { out: a, ...quiet });
  await trainSft(resolveSftConfig('tiny', { ...cfg, steps: 2 }), { out: b, ...quiet });
  const rb = await trainSft(cfg, { out: b, resume: true, steps: 4, ...quiet });
  assert.equal(ra.step, 4);
  assert.equal(rb.step, 4);
  const wa = loadCheckpoint(path.join(a, 'latest'), { kind: 'policy', size: 'tiny' });
  const wb = loadCheckpoint(path.join(b, 'latest'), { kind: 'policy', size: 'tiny' });
  assert.deepEqual(wa.meta.extra.data, wb.meta.extra.data);
  for (const [name, t] of wa.tensors) {
    const d = tf.tidy(() => tf.max(tf.abs(t.sub(wb.tensors.get(name)!))).dataSync()[0]);
    assert.ok(d < 1e-6, `${name} differs by ${d}`);
  }
  tf.dispose([...wa.tensors.values(), ...wb.tensors.values()]);
  // the run folder is itself a policy checkpoint, with its log and the resolved config
  const meta = readCheckpointMeta(a, { kind: 'policy', size: 'tiny' });
  assert.equal((meta.config as { train: { steps: number } }).train.steps, 4);
  assert.equal(meta.best?.metric, 'heldout.targetAccuracy');
  const events = JsonlLog.read(path.join(b, 'log.jsonl')).map((r) => r.event);
  assert.deepEqual([events[0], events.includes('resume'), events[events.length - 1]], ['start', true, 'end']);
  await assert.rejects(() => trainSft(cfg, { out: a, ...quiet }), /already holds a run/);
  await assert.rejects(() => trainSft(cfg, { out: tmp(), resume: true, ...quiet }), /no checkpoint at/);
  for (const d of [a, b]) fs.rmSync(d, { recursive: true, force: true });
});

test('coprs train sft: a missing --sam or --out is a usage error that says what to pass', () => {
  const r = runCli(['train', 'sft', '--preset', 'tiny', '--out', path.join(os.tmpdir(), 'never')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--sam DIR is required.*data\/checkpoints\/sam-S.*--sam stub/s);
  const r2 = runCli(['train', 'sft', '--preset', 'tiny', '--sam', 'stub']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--out DIR is required/);
  const r3 = runCli(['train', 'sft', '--preset', 'tiny', '--sam', path.join(os.tmpdir(), 'no-such-sam'), '--out', path.join(os.tmpdir(), 'never2'), '--backend', 'cpu']);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /no mini-SAM checkpoint there/);
});

test('benchmark hooks: ms per stage-2 step, and rollout tokens/s with and without the KV cache (same tokens)', async () => {
  const s = await benchSftStep('tiny', { steps: 1, warmup: 1, encoder });
  assert.ok(s.msPerStep > 0 && s.tokensPerStep > 0);
  const r = benchRollouts({ prompts: 2, G: 2, maxTokens: 6, preset: 'tiny', encoder });
  assert.ok(r.identical);
  assert.equal(r.tokens, 2 * 2 * 6);
  assert.ok(r.cached.tokensPerSec > 0 && r.noCache.tokensPerSec > 0);
});

test('two worker threads (data parallelism) take the same steps as one thread', async () => {
  const cfg = (workers: number) => resolveSftConfig('tiny', { workers, steps: 2, heldout: { samples: 0 } });
  const one = new SftTrainer(cfg(1), encoder, source);
  const two = new SftTrainer(cfg(2), encoder, source);
  try {
    await two.startWorkers();
    for (let i = 0; i < 2; i++) {
      const a = await one.trainStep();
      const b = await two.trainStep();
      assert.ok(Math.abs(a.loss - b.loss) < 1e-4, `loss ${a.loss} vs ${b.loss}`);
      assert.ok(b.workerMs > 0);
    }
    for (const [name, v] of one.model.params.entries()) {
      const d = tf.tidy(() => tf.max(tf.abs(v.sub(two.model.params.get(name)))).dataSync()[0]);
      assert.ok(d < 1e-4, `${name} differs by ${d}`);
    }
  } finally {
    one.dispose();
    two.dispose();
  }
});

test('perception labels: each vision token gets the colour, shape and size of the object covering most of it, else background', async () => {
  const { tokenLabels, PerceptionHead, PERCEPTION_CLASSES } = await import('../src/train/sft/perception');
  const { COLORS, SHAPES, SIZES } = await import('../src/data/shapeworld/index');
  const s = new SftData(tok, { seed: 1, dataSeed: 2, batchSize: 1, reasonFraction: 0, bucketBatches: 1, imageTokens: 64 }).next().samples[0];
  const labels = tokenLabels(s, 8)!;
  const scene = shapeWorldMeta(s).scene;
  for (const o of scene.objects.filter((x) => x.visibleFraction > 0.9 && x.size === 'large')) {
    const t = Math.floor(o.centroid[1] / 16) * 8 + Math.floor(o.centroid[0] / 16);
    assert.deepEqual([...labels.slice(t * 3, t * 3 + 3)], [COLORS.indexOf(o.color), SHAPES.indexOf(o.shape), SIZES.indexOf(o.size)]);
  }
  const bg = [COLORS.length, SHAPES.length, SIZES.length];
  assert.ok([...Array(64).keys()].some((t) => labels[t * 3] === bg[0] && labels[t * 3 + 1] === bg[1] && labels[t * 3 + 2] === bg[2]), 'some token is background');
  assert.equal(tokenLabels({ ...s, meta: {} }, 8), null);
  const head = new PerceptionHead(8, 1);
  tf.tidy(() => {
    const l = head.lossSum(tf.zeros([1, 64, 8]) as tf.Tensor3D, labels).dataSync()[0];
    const uniform = (Math.log(PERCEPTION_CLASSES[0]) + Math.log(PERCEPTION_CLASSES[1]) + Math.log(PERCEPTION_CLASSES[2])) / 3;
    assert.ok(Math.abs(l / 64 - uniform) < 1e-4, 'zero features give the uniform cross-entropy');
  });
  head.dispose();
});

test('re-spreading collapsed word embeddings: a collapsed group gets its deviations scaled up to the mean\'s norm, the group mean stays, other groups are left alone', async () => {
  const { respreadEmbeddings, respreadGroups } = await import('../src/train/sft/respread');
  const model = new PolicyModel(resolveSftConfig('tiny').model, Tokenizer.default(), encoder, 3);
  try {
    const tok = model.tokenizer;
    const shapeIds = respreadGroups().shapes.map((w) => tok.encode(w)[0]);
    const E = model.params.get('embed.table');
    const d = E.shape[1]!;
    // collapse the shape nouns: a shared direction of norm 1 plus small distinct parts
    tf.tidy(() => {
      const shared = tf.ones([1, d]).div(Math.sqrt(d));
      const rows = shared.add(tf.randomNormal([shapeIds.length, d], 0, 0.02, 'float32', 5));
      E.assign(tf.tensorScatterUpdate(E, tf.tensor2d(shapeIds, [shapeIds.length, 1], 'int32'), rows));
    });
    const colorsBefore = tf.tidy(() => tf.gather(E, respreadGroups().colors.map((w) => tok.encode(w)[0])).arraySync());
    const meanBefore = tf.tidy(() => tf.gather(E, shapeIds).mean(0).arraySync() as number[]);
    const rep = respreadEmbeddings(model, 0.75);
    const shapes = rep.find((r) => r.table === 'embed.table' && r.group === 'shapes')!;
    assert.ok(shapes.applied && shapes.before > 0.95, `collapsed before: ${shapes.before}`);
    assert.ok(shapes.after < 0.6, `spread after: ${shapes.after}`);
    const meanAfter = tf.tidy(() => tf.gather(E, shapeIds).mean(0).arraySync() as number[]);
    meanAfter.forEach((v, i) => assert.ok(Math.abs(v - meanBefore[i]) < 1e-5));
    assert.equal(rep.find((r) => r.table === 'embed.table' && r.group === 'colors')!.applied, false);
    assert.deepEqual(tf.tidy(() => tf.gather(E, respreadGroups().colors.map((w) => tok.encode(w)[0])).arraySync()), colorsBefore);
  } finally {
    model.dispose();
  }
});
