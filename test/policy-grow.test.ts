/**
 * Depth growth (src/models/policy/grow.ts): the even plan, plan checks, a grown model with the
 * source's exact function (same log-probabilities, identity blocks with zero output projections),
 * the gradient that opens a new block, no leaked tensors, and a grown checkpoint that a stage-2
 * warm restart (`--init` with `model.layers`) accepts.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { StubImageEncoder } from '../src/models/policy/vision';
import { PolicyModel } from '../src/models/policy/model';
import { savePolicy, type EncoderSource } from '../src/models/policy/checkpoint';
import { evenGrowPlan, growPolicyCheckpoint, growPolicyDepth, parseGrowPlan, validateGrowPlan } from '../src/models/policy/grow';
import { disposeLogProbs, logProbs } from '../src/models/policy/logprobs';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';
import { resolveSftConfig } from '../src/train/sft/config';
import { trainSft } from '../src/train/sft/trainer';
import { PerceptionHead } from '../src/train/sft/perception';
import { loadCheckpoint } from '../src/train/checkpoint';

const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };
let encoder: StubImageEncoder;
const samples = [...trainStream('refshapes', { seed: 31 }).take(2), ...trainStream('reasonshapes', { seed: 31 }).take(1)];

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(64, 16, 128, 1);
});

/** Sum of the teacher-forced log-probabilities of the samples' chains, and their per-token values. */
function score(m: PolicyModel): { sum: tf.Scalar; values: Float32Array } {
  return tf.tidy(() => {
    const emb = m.embedImages(encoder, samples.map((s) => s.image));
    const vis = m.visionTokens(emb);
    const r = logProbs(m, samples.map((s) => encodePrompt(m.tokenizer, s.query, m.imageTokens)), samples.map((s) => encodeResponse(m.tokenizer, s.cot!.text)), vis);
    const lp = r.logProbs;
    const finite = tf.where(tf.isFinite(lp), lp, tf.zerosLike(lp));
    const out = { sum: finite.sum() as tf.Scalar, values: finite.dataSync() as Float32Array };
    disposeLogProbs(r);
    return out as unknown as tf.TensorContainer;
  }) as unknown as { sum: tf.Scalar; values: Float32Array };
}

test('evenGrowPlan spreads the new blocks (4 → 6: after layers 1 and 3; 4 → 8: after each); parse and checks', () => {
  assert.deepEqual(evenGrowPlan(4, 6), [0, 1, 'new', 2, 3, 'new']);
  assert.deepEqual(evenGrowPlan(4, 8), [0, 'new', 1, 'new', 2, 'new', 3, 'new']);
  assert.deepEqual(evenGrowPlan(2, 3), [0, 1, 'new']);
  assert.deepEqual(parseGrowPlan('0, new,1'), [0, 'new', 1]);
  assert.throws(() => parseGrowPlan('0,x'), /source layer indices or "new"/);
  assert.throws(() => evenGrowPlan(4, 3), /from ≤ to/);
  assert.throws(() => validateGrowPlan([1, 0, 'new'], 2), /once each and in order/);
  assert.throws(() => validateGrowPlan([0, 'new'], 2), /once each and in order/);
  assert.throws(() => validateGrowPlan([0, 1], 2), /adds no layer/);
});

test('a grown model computes what its source does: equal log-probabilities, copied weights, zero output projections in the new blocks, no leak', () => {
  const src = PolicyModel.create('tiny', encoder, { seed: 3 });
  try {
    const before = tf.memory().numTensors;
    const grown = growPolicyDepth(src, [0, 'new', 1, 'new'], 4);
    try {
      assert.equal(grown.config.layers, 4);
      const block = src.paramCount('decoder.layers.0');
      assert.equal(grown.paramCount(), src.paramCount() + 2 * block);
      const eq = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);
      assert.equal(eq(grown.params.get('decoder.layers.2.attn.qkv.w'), src.params.get('decoder.layers.1.attn.qkv.w')), 0);
      assert.equal(eq(grown.params.get('vision.fc1.w'), src.params.get('vision.fc1.w')), 0);
      for (const n of ['decoder.layers.1.attn.out.w', 'decoder.layers.3.mlp.down.w']) assert.equal(tf.tidy(() => tf.max(tf.abs(grown.params.get(n))).dataSync()[0]), 0, n);
      assert.ok(tf.tidy(() => tf.max(tf.abs(grown.params.get('decoder.layers.1.attn.qkv.w'))).dataSync()[0]) > 0, 'inner weights keep their init');
      const a = score(src);
      const g = score(grown);
      const diff = a.values.reduce((m, v, i) => Math.max(m, Math.abs(v - g.values[i])), 0);
      assert.ok(diff <= 1e-5, `max |Δ log p| ${diff}`);
      tf.dispose([a.sum, g.sum]);
    } finally {
      grown.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'growing and disposing leaks no tensors');
  } finally {
    src.dispose();
  }
});

test('the output projections of a new block get gradients at once; its inner weights get none until they move', () => {
  const src = PolicyModel.create('tiny', encoder, { seed: 3 });
  const grown = growPolicyDepth(src, [0, 1, 'new'], 4);
  try {
    const names = ['decoder.layers.2.attn.out.w', 'decoder.layers.2.mlp.down.w', 'decoder.layers.2.attn.qkv.w', 'decoder.layers.2.mlp.gateUp.w'];
    const vars = names.map((n) => grown.params.get(n));
    const norms = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const s = score(grown);
        return s.sum;
      }, vars);
      return vars.map((v) => tf.norm(grads[v.name]).dataSync()[0]);
    });
    assert.ok(norms[0] > 0 && norms[1] > 0, `output projections: ${norms.slice(0, 2)}`);
    assert.equal(norms[2], 0, 'qkv');
    assert.equal(norms[3], 0, 'gateUp');
  } finally {
    grown.dispose();
    src.dispose();
  }
});

test('growPolicyCheckpoint carries the perception head; a warm restart with model.layers starts from it, a mismatched layer count is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grow-'));
  try {
    const src = PolicyModel.create('tiny', encoder, { seed: 3 });
    const head = new PerceptionHead(src.config.dim, 0);
    const headShape = head.params.get('aux.perception.w').shape;
    await savePolicy(path.join(dir, 'src'), src, source, { step: 7, extraTensors: head.params.entries() });
    src.dispose();
    head.params.dispose();
    const before = tf.memory().numTensors;
    const r = await growPolicyCheckpoint(path.join(dir, 'src'), path.join(dir, 'grown'), 3);
    assert.equal(tf.memory().numTensors, before, 'growing a checkpoint leaks no tensors');
    assert.deepEqual(r.plan, [0, 1, 'new']);
    assert.equal(r.aux, true);
    const { meta, tensors } = loadCheckpoint(path.join(dir, 'grown'), { kind: 'policy' });
    assert.equal(meta.step, 7);
    assert.deepEqual(tensors.get('aux.perception.w')!.shape, headShape);
    assert.match(JSON.stringify(meta.config), /"grownFrom"/);
    tf.dispose([...tensors.values()]);
    const heldout = { samples: 1, every: 0, maxTokens: 4 };
    const out = path.join(dir, 'run');
    const lines: string[] = [];
    const res = await trainSft(resolveSftConfig('tiny', { steps: 1, heldout, model: { layers: 3 }, policyInit: { dir: path.join(dir, 'grown') } }), { out, log: (l) => lines.push(l), encoder: { encoder, source } });
    assert.equal(res.step, 1);
    assert.ok(lines.some((l) => /policy from .*grown \(its step 7; perception head too\)/.test(l)), lines.join('\n'));
    await assert.rejects(trainSft(resolveSftConfig('tiny', { steps: 1, heldout, policyInit: { dir: path.join(dir, 'grown') } }), { out: path.join(dir, 'run2'), log: null, encoder: { encoder, source } }), /is not this run's/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
