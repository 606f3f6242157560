/**
 * `head.colorKeys` (a departure, off by default): the heatmap head's keys read [E, mean colour per
 * embedding cell]; the colour comes from the policy's pixel side channel.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { CoprsModel } from '../src/models/coprs/model';
import { resolveCoprsModelConfig } from '../src/models/coprs/config';
import { disposeImageBatch } from '../src/models/coprs/images';
import { PolicyModel } from '../src/models/policy/model';
import { trainStream } from '../src/data/shapeworld/index';
import { tinySam } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
});

const build = (colorKeys: boolean, pixelPool?: number) => {
  const sam = tinySam(3);
  const overrides = pixelPool == null ? undefined : { vision: { pixelPool, tower: [] } };
  const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed: 3, overrides });
  return new CoprsModel(policy, sam, resolveCoprsModelConfig({ seed: 3, head: { colorKeys } }));
};

test('head.colorKeys: K reads [E, the mean colour of each cell]; off by default; the prior and mask still come out, no tensors leak', () => {
  assert.equal(resolveCoprsModelConfig().head.colorKeys, false);
  const plain = build(false);
  const C = plain.sam.embedDim;
  assert.equal(plain.head.keyProj.w.shape[2], C);
  plain.dispose();
  const m = build(true);
  assert.equal(m.head.keyProj.w.shape[2], C + 3, 'three colour channels more');
  const samples = trainStream('refshapes', { seed: 5 }).take(2);
  const batch = m.encode(samples.map((s) => s.image));
  const keys = m.headKeysInput(batch);
  const [B, h, w] = batch.E.shape;
  assert.deepEqual(keys.shape, [B, h, w, C + 3]);
  // by hand for cell (0, 3, 5): the mean of its k² pixels' R, G, B in the policy input
  const P = batch.policyInput.shape[3] - C;
  const px = batch.policyInput.slice([0, 3, 5, C], [1, 1, 1, P]).dataSync();
  const want = [0, 1, 2].map((c) => { let s = 0; for (let i = c; i < P; i += 3) s += px[i]; return s / (P / 3); });
  const got = keys.slice([0, 3, 5, C], [1, 1, 1, 3]).dataSync();
  want.forEach((v, c) => assert.ok(Math.abs(v - got[c]) < 1e-5, `channel ${c}: ${got[c]} vs ${v}`));
  keys.dispose();
  const prompts = m.prompts(samples.map((s) => s.query));
  const run = () => tf.tidy(() => {
    const lp = m.score(prompts, [[7], [7]], batch, 1);
    const seg = m.segment(lp.refPosHidden, lp.refPosFound, batch, 1);
    return seg.prior.shape.concat(seg.masks.shape);
  });
  run();
  const n = tf.memory().numTensors;
  assert.deepEqual(run(), [B, m.maskSize, m.maskSize, 1, B, m.maskSize, m.maskSize]);
  assert.equal(tf.memory().numTensors, n);
  disposeImageBatch(batch);
  m.dispose();
  assert.throws(() => build(true, 0), /head\.colorKeys needs the policy's pixel side channel/);
});
