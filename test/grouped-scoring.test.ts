/**
 * Grouped teacher-forced scoring (src/models/policy/grouped-scoring.ts: each prompt run once, its
 * cache shared by its G responses) against `scoreResponses` on rows with the prompt repeated:
 * log-probs, entropy, hidden states, e_conc (incl. its two fallbacks), image states and the
 * gradients of every parameter, ≤ 1e-4; on wasm and cpu; no tensors leak.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { Tokenizer, REF_POS, EOS } from '../src/models/policy/tokenizer';
import { encodePrompt, encodeResponse } from '../src/models/policy/prompt';
import { PolicyModel } from '../src/models/policy/model';
import { packForScoring, scoreResponses, disposeLogProbs, type LogProbsResult } from '../src/models/policy/logprobs';
import { scoreGrouped } from '../src/models/policy/grouped-scoring';
import { StubImageEncoder } from '../src/models/policy/vision';
import { assertClose } from './helpers/compare';

before(async () => {
  for (const b of ['cpu', 'wasm'] as const) {
    const a = await prepareBackend(b);
    assert.ok(a.ok, `${b} must start: ${a.detail}`);
  }
});

const tok = Tokenizer.default();
const samples = trainStream('refshapes', { seed: 31 }).take(2); // different query lengths
const G = 3;
// per group: a full chain with <REF_POS>, one without (fallback: last token), and an empty response
const responses = samples.flatMap((s) => [
  encodeResponse(tok, s.cot!.text),
  [...tok.encode(`<think> ${s.query} </think>`), EOS],
  [],
]);
responses[4] = [...encodeResponse(tok, 'the red one'), REF_POS, ...tok.encode('is it'), EOS]; // <REF_POS> not last

function both(model: PolicyModel, vis: tf.Tensor3D, prompts: number[][]): { grouped: LogProbsResult; plain: LogProbsResult } {
  const opts = { withHidden: true, withEntropy: true, withImageHidden: true, temperature: 0.7 };
  const grouped = scoreGrouped(model, prompts, responses, vis, G, opts);
  const rowPrompts = responses.map((_, i) => prompts[Math.floor(i / G)]);
  const visRep = tf.tidy(() => tf.gather(vis, tf.tensor1d(responses.map((_, i) => Math.floor(i / G)), 'int32')) as tf.Tensor3D);
  const plain = scoreResponses(model, packForScoring(model, rowPrompts, responses), visRep, opts);
  visRep.dispose();
  return { grouped, plain };
}

for (const backend of ['wasm', 'cpu']) {
  test(`grouped scoring equals per-row scoring on ${backend}: values and parameter gradients`, async () => {
    await tf.setBackend(backend);
    const encoder = new StubImageEncoder(16, 16, 128, 3);
    const model = PolicyModel.create('tiny', encoder, { seed: 9 });
    const prompts = samples.map((s) => encodePrompt(tok, s.query, model.imageTokens));
    assert.notEqual(prompts[0].length, prompts[1].length, 'the two prompts should differ in length (padding path)');
    const emb = model.embedImages(encoder, samples.map((s) => s.image));
    try {
      const vis = model.visionTokens(emb);
      const before = tf.memory().numTensors;
      const { grouped, plain } = both(model, vis, prompts);
      assert.deepEqual(grouped.refPosIndex, plain.refPosIndex);
      assert.deepEqual(grouped.refPosFound, plain.refPosFound);
      assert.deepEqual(grouped.refPosFound, [true, false, false, true, true, false]);
      for (const k of ['logProbs', 'mask', 'hidden', 'refPosHidden', 'entropy', 'imageHidden'] as const) {
        assert.deepEqual(grouped[k]!.shape, plain[k]!.shape, k);
        // the hidden state at a pad slot is unspecified: compare response tokens only
        const m = (r: LogProbsResult) => (k === 'hidden' ? tf.tidy(() => r.hidden!.mul(r.mask.expandDims(-1)).dataSync()) : r[k]!.dataSync());
        assertClose(m(grouped), m(plain), 1e-4, k);
      }
      disposeLogProbs(grouped);
      disposeLogProbs(plain);
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      // gradients of a loss that touches log-probs and e_conc
      const loss = (f: () => LogProbsResult) => () => {
        const r = f();
        return r.logProbs.sum().add(r.refPosHidden.square().sum().mul(0.1)) as tf.Scalar;
      };
      const visRep = tf.gather(vis, tf.tensor1d(responses.map((_, i) => Math.floor(i / G)), 'int32')) as tf.Tensor3D;
      const rowPrompts = responses.map((_, i) => prompts[Math.floor(i / G)]);
      const gA = tf.variableGrads(loss(() => scoreGrouped(model, prompts, responses, vis, G)));
      const gB = tf.variableGrads(loss(() => scoreResponses(model, packForScoring(model, rowPrompts, responses), visRep)));
      assertClose(gA.value.dataSync(), gB.value.dataSync(), 1e-5, 'loss');
      const names = Object.keys(gB.grads);
      assert.ok(names.length > 10);
      for (const n of names) assertClose(gA.grads[n].dataSync(), gB.grads[n].dataSync(), 1e-4, `gradient of ${n}`);
      tf.dispose([gA.value, gB.value, ...Object.values(gA.grads), ...Object.values(gB.grads), visRep, vis]);
    } finally {
      emb.dispose();
      model.dispose();
      encoder.dispose();
    }
  });
}

test('grouped scoring rejects a response count that is not prompts × G', async () => {
  await tf.setBackend('wasm');
  const encoder = new StubImageEncoder(16, 16, 128, 3);
  const model = PolicyModel.create('tiny', encoder, { seed: 9 });
  const prompts = samples.map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const vis = tf.zeros([2, model.imageTokens, model.config.dim]) as tf.Tensor3D;
  assert.throws(() => scoreGrouped(model, prompts, responses.slice(0, 5), vis, G), /5 responses for 2 prompts × G = 3/);
  tf.dispose(vis);
  model.dispose();
  encoder.dispose();
});
