/**
 * LISA (src/paradigms/lisa): the instruction in the frozen vocabulary, the [SEG] hidden state →
 * MLP → one sparse prompt token path (shapes, dense = noMaskEmbed, the LAST [SEG] picked), the loss
 * weights 1.0·CE + 2.0·BCE + 0.5·dice checked by hand on a tiny case, a tiny-preset step (what it
 * trains, what stays frozen, the log record, no leaked tensors), and prediction at the original size.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { trainStream } from '../src/data/shapeworld/index';
import { EOS, SEG } from '../src/models/policy/tokenizer';
import { scoreGrouped } from '../src/models/policy/grouped-scoring';
import { LISA_ANSWER, LISA_INSTRUCTION, LisaParadigm, lastSegIndex, lisaLoss, lisaResponseText, resolveLisaConfig } from '../src/paradigms/lisa/index';
import { withImages } from '../src/paradigms/types';
import { assertNoLeak, changed, snapshot, tinyParadigm, useWasm } from './paradigm-fixtures';

before(useWasm);

const lisa = () => tinyParadigm('lisa') as LisaParadigm;

test('the instruction and the answer template use only words of the frozen vocabulary', () => {
  const p = lisa();
  assert.deepEqual(p.policy.tokenizer.unknownWords(`${LISA_INSTRUCTION} ${LISA_ANSWER}`), []);
  const s = trainStream('refshapes', { seed: 2 }).take(1)[0];
  assert.equal(lisaResponseText(s, 'short'), 'It is [SEG].');
  assert.ok(lisaResponseText(s, 'cot').endsWith(' It is [SEG].') && lisaResponseText(s, 'cot').startsWith(s.cot!.text));
  assert.throws(() => resolveLisaConfig('tiny', { response: 'long' }), /short, cot/);
  p.dispose();
});

test('[SEG] hidden state → MLP (Linear, ReLU, Linear) → ONE sparse token [N, 1, C]; dense = noMaskEmbed; masks [N, r, r]', () => {
  const p = lisa();
  const d = p.policy.config.dim;
  const C = p.sam.embedDim;
  assert.deepEqual(p.textHiddenFcs.layers.map((l) => [l.inDim, l.outDim]), [[d, d], [d, C]]);
  assert.equal(p.textHiddenFcs.act, 'relu');
  const h = tf.randomNormal([3, d]) as tf.Tensor2D;
  const { sparse, dense } = p.segPrompts(h);
  assert.deepEqual(sparse.shape, [3, 1, C]);
  assert.deepEqual(dense.shape, [3, 16, 16, C]);
  const nm = p.sam.promptEncoder.noMaskEmbed.table.dataSync();
  const dv = dense.dataSync();
  for (const k of [0, C * 17 + 5, dv.length - 1]) assert.ok(Math.abs(dv[k] - nm[k % C]) < 1e-6, 'every dense cell is noMaskEmbed');
  const expected = tf.tidy(() => tf.relu(h.matMul(p.textHiddenFcs.layers[0].w).add(p.textHiddenFcs.layers[0].b!)).matMul(p.textHiddenFcs.layers[1].w).add(p.textHiddenFcs.layers[1].b!));
  const sv = sparse.dataSync();
  expected.dataSync().forEach((v, i) => assert.ok(Math.abs(v - sv[i]) < 1e-5));
  // The hidden state used is the one at the LAST [SEG] of each response.
  const samples = trainStream('refshapes', { seed: 3 }).take(2);
  const prompts = p.prompts(samples.map((s) => s.query));
  const tok = p.policy.tokenizer;
  const responses = [[...tok.encode('it is [SEG] . [SEG] .'), EOS], [...tok.encode('it is [SEG] .'), EOS]];
  assert.deepEqual(responses.map(lastSegIndex), [4, 2]);
  assert.equal(responses[0][4], SEG);
  withImages(p, samples, (b) => {
    const s = p.scoreWithSeg(prompts, responses, b);
    assert.deepEqual(s.found, [true, true]);
    assert.deepEqual(s.segHidden.shape, [2, d]);
    const ref = tf.tidy(() => {
      const vis = p.policy.visionTokens(b.policyInput);
      const lp = scoreGrouped(p.policy, prompts, responses, vis, 1, { withHidden: true });
      return tf.stack([lp.hidden!.slice([0, 4, 0], [1, 1, d]).reshape([d]), lp.hidden!.slice([1, 2, 0], [1, 1, d]).reshape([d])]);
    });
    const a = s.segHidden.dataSync();
    ref.dataSync().forEach((v, i) => assert.ok(Math.abs(v - a[i]) < 1e-4));
    const m = p.masksFromHidden(s.segHidden, b);
    assert.deepEqual(m.shape, [2, p.sam.maskSize, p.sam.maskSize]);
    tf.dispose([s.logp, s.tokenMask, s.segHidden, ref, m]);
  });
  tf.dispose([h, sparse, dense, expected]);
  p.dispose();
});

test('loss weights by hand: L = 1.0·CE + 2.0·BCE + 0.5·dice on a tiny case', () => {
  const logp = tf.tensor2d([[Math.log(0.5), Math.log(0.25), 0]]);
  const tokenMask = tf.tensor2d([[1, 1, 0]]);
  const maskLogits = tf.tensor3d([[[0, 0]]]); // σ = 0.5 at both pixels
  const targets = tf.tensor3d([[[1, 0]]]);
  const w = { ceWeight: 1, bceWeight: 2, diceWeight: 0.5, ignorePadding: false };
  const l = lisaLoss({ logp, tokenMask, maskLogits, targets }, w);
  const ce = (Math.log(2) + Math.log(4)) / 2; // mean over the 2 response tokens
  const bce = Math.log(2); // each pixel: −log σ(0)
  const dice = 1 - (2 * 0.5 + 1) / (0.5 + 0.5 + 1 + 1); // smooth 1
  assert.ok(Math.abs(l.ce.dataSync()[0] - ce) < 1e-5);
  assert.ok(Math.abs(l.bce.dataSync()[0] - bce) < 1e-5);
  assert.ok(Math.abs(l.dice.dataSync()[0] - dice) < 1e-5);
  assert.ok(Math.abs(l.total.dataSync()[0] - (1.0 * ce + 2.0 * bce + 0.5 * dice)) < 1e-5);
  const d = resolveLisaConfig('small').loss;
  assert.deepEqual([d.ceWeight, d.bceWeight, d.diceWeight], [1.0, 2.0, 0.5]);
  tf.dispose([logp, tokenMask, maskLogits, targets, l.ce, l.bce, l.dice, l.total]);
});

test('a tiny step trains the policy, the MLP and the mask decoder (encoder and prompt encoder frozen), logs, and leaks nothing', () => {
  const p = lisa();
  const before = {
    policy: snapshot(p.parts().policy), mlp: snapshot(p.parts().textHiddenFcs), dec: snapshot(p.parts().maskDecoder),
    enc: snapshot(p.sam.params.entries('imageEncoder')), pe: snapshot(p.sam.params.entries('promptEncoder')),
  };
  const r = p.trainStep();
  assert.equal(r.skipped, false);
  assert.equal(r.reward, null, 'supervised: no reward');
  for (const k of ['loss', 'loss/ce', 'loss/bce', 'loss/dice', 'mask_iou', 'grad_norm', 'learning_rate', 'step_time']) assert.ok(k in r.record, k);
  assert.ok(Math.abs((r.record.loss as number) - (1 * (r.record['loss/ce'] as number) + 2 * (r.record['loss/bce'] as number) + 0.5 * (r.record['loss/dice'] as number))) < 1e-4);
  assert.equal(r.completions.length, 4);
  assert.ok(changed(before.policy, snapshot(p.parts().policy)));
  assert.ok(changed(before.mlp, snapshot(p.parts().textHiddenFcs)));
  assert.ok(changed(before.dec, snapshot(p.parts().maskDecoder)));
  assert.equal(changed(before.enc, snapshot(p.sam.params.entries('imageEncoder'))), false);
  assert.equal(changed(before.pe, snapshot(p.sam.params.entries('promptEncoder'))), false);
  assert.deepEqual(Object.keys(p.parameterCounts()).slice(0, 3), ['policy', 'textHiddenFcs', 'maskDecoder']);
  assertNoLeak(() => p.trainStep(), 'a LISA step');
  p.dispose();
});

test('predict: masks at the original size; a response without [SEG] gives an empty mask; no leaks', async () => {
  const p = lisa();
  const samples = trainStream('refshapes', { seed: 4 }).take(2);
  const preds = await p.predict(samples, { maxTokens: 3 });
  assert.equal(preds.length, 2);
  for (const [i, pr] of preds.entries()) {
    assert.equal(pr.mask.width, samples[i].image.width);
    assert.equal(pr.maskLogits.length, samples[i].image.width * samples[i].image.height);
    if (pr.extra?.segFound === false) assert.ok(pr.mask.data.every((v) => v === 0));
  }
  await p.predict(samples, { maxTokens: 3 });
  const n = tf.memory().numTensors;
  await p.predict(samples, { maxTokens: 3 });
  assert.equal(tf.memory().numTensors, n, 'predict leaves no tensors');
  p.dispose();
});
