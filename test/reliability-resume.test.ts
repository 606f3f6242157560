/**
 * Reliability, item 2 for stage 2 (sft; stage 3 is in coprs-resume.test.ts, a killed CLI run in
 * reliability-kill.test.ts): on cpu and on wasm, a tiny run saved to OUT/latest after 2 of 4 steps
 * and continued by `SftTrainer.resume` takes the same steps — the same loss at every step, bit for
 * bit — and ends with the same weights, AdamW moments, RNG and data-stream state as an uninterrupted
 * run. The schedule spans the same 4 steps in both (the resumed trainer is stopped, not shortened).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { readCheckpointMeta } from '../src/train/checkpoint';
import { resolveSftConfig } from '../src/train/sft/config';
import { SftTrainer } from '../src/train/sft/trainer';
import { StubImageEncoder } from '../src/models/policy/vision';
import type { EncoderSource } from '../src/models/policy/checkpoint';
import { tmpDir } from './coprs-fixtures';

const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: stage 2 (sft) saved after 2 of 4 steps and resumed equals an uninterrupted run bit for bit`, async () => {
    if (backend === 'wasm') assert.ok((await prepareBackend('wasm')).ok, 'wasm must start');
    await tf.setBackend(backend);
    const encoder = new StubImageEncoder(64, 16, 128, 1);
    const cfg = resolveSftConfig('tiny', { steps: 4, workers: 1, batchSize: 2 });
    const root = tmpDir('reliability-sft-');
    const run = async (t: SftTrainer, n: number) => {
      const losses: number[] = [];
      for (let i = 0; i < n; i++) losses.push((await t.trainStep()).loss);
      return losses;
    };
    const a = new SftTrainer(cfg, encoder, source);
    const lossesA = await run(a, 4);
    const metaA = await a.saveLatest(path.join(root, 'a'));
    a.dispose();

    const b = new SftTrainer(cfg, encoder, source);
    const lossesB = await run(b, 2);
    await b.saveLatest(path.join(root, 'b'));
    b.dispose();
    const { trainer: c, disposeEncoder } = SftTrainer.resume(path.join(root, 'b'), { encoder: { encoder, source } });
    assert.equal(c.step, 2);
    lossesB.push(...(await run(c, 2)));
    const metaB = await c.saveLatest(path.join(root, 'b'));
    c.dispose();
    disposeEncoder();
    encoder.dispose();

    assert.ok(lossesA.every(Number.isFinite));
    assert.deepEqual(lossesB, lossesA, 'the same loss at every step, bit for bit');
    assert.deepEqual(metaB.rng, metaA.rng);
    assert.deepEqual(metaB.extra.data, metaA.extra.data);
    assert.equal(metaB.weightsSha256, metaA.weightsSha256, 'weights, auxiliary head and AdamW moments bit-identical');
    assert.equal(readCheckpointMeta(path.join(root, 'b')).step, 4);
  });
}
