/**
 * Reliability, item 3 (`npm run test:soak`; not part of `npm test`, which only matches test/*.test.ts):
 *
 * 1. 500 stage-3 steps in the tiny preset through `trainCoprs` on wasm (the default CPU backend),
 *    with its log, completions tables and OUT/latest checkpoints written as a real run does:
 *    `tf.memory().numTensors` is the same after every step once warmed up (20 steps), and the
 *    process's resident memory (after a forced GC, sampled every 50 steps) grows by less than
 *    RSS_BOUND_MB from step 50 to the last step.
 * 2. A sweep of short runs in one process, three rounds of stage 3 (one mode per round), stage 2
 *    (sft) and stage 1 (sam), each run disposing its models and optimizers: the tensor count returns
 *    to its baseline after every run, and resident memory after round 3 is within RSS_BOUND_MB of
 *    that after round 1 (the first round grows the wasm heap to its high-water mark, which a
 *    WebAssembly memory never gives back; that is not a leak).
 *
 * Both print their numbers (steps, tensors before/after, RSS before/after in MB).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../../src/backend/select';
import { resolveCoprsTrainConfig } from '../../src/train/coprs/config';
import { trainCoprs } from '../../src/train/coprs/trainer';
import type { CoprsSources } from '../../src/models/coprs/checkpoint';
import { resolveSftConfig } from '../../src/train/sft/config';
import { trainSft } from '../../src/train/sft/trainer';
import { StubImageEncoder } from '../../src/models/policy/vision';
import type { EncoderSource } from '../../src/models/policy/checkpoint';
import { resolveSamTrainConfig } from '../../src/train/sam/config';
import { trainSam } from '../../src/train/sam/trainer';
import { tinyCoprs, tmpDir } from '../coprs-fixtures';

/** Resident-memory growth allowed after warm-up, MB (observed: see the printed numbers; the wasm heap never shrinks, the JS heap breathes). */
const RSS_BOUND_MB = 150;
const SOAK_STEPS = 500;
const WARMUP_STEPS = 20;
/** Resident memory is measured from this step (the wasm heap and the JIT settle over the first steps). */
const RSS_FROM = 50;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const rssMb = (): number => {
  gc();
  gc();
  return process.memoryUsage().rss / 2 ** 20;
};
const sources: CoprsSources = { sam: { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 }, policy: null };

before(async () => {
  assert.ok((await prepareBackend('wasm')).ok, 'wasm must start');
  await tf.setBackend('wasm');
});

test(`soak: ${SOAK_STEPS} stage-3 steps (tiny, wasm) keep numTensors constant and resident memory within ${RSS_BOUND_MB} MB`, async () => {
  const out = tmpDir('soak-coprs-');
  const cfg = resolveCoprsTrainConfig('tiny', { steps: SOAK_STEPS, warmup: { steps: 10 }, logEvery: 25, completionsEvery: 100, checkpointEvery: 50 });
  const t0 = Date.now();
  const tensorsStart = tf.memory().numTensors;
  let tensorsWarm = -1;
  let rssWarm = 0;
  let rssMax = 0;
  const drift: string[] = [];
  const r = await trainCoprs(cfg, {
    out, model: { model: tinyCoprs(), sources }, log: null,
    onStep: (s) => {
      if (s.step === WARMUP_STEPS) tensorsWarm = tf.memory().numTensors;
      else if (s.step > WARMUP_STEPS) {
        const n = tf.memory().numTensors;
        if (n !== tensorsWarm && drift.length < 5) drift.push(`step ${s.step}: ${n} tensors (after warm-up: ${tensorsWarm})`);
      }
      if (s.step === RSS_FROM) rssWarm = rssMb();
      else if (s.step > RSS_FROM && s.step % 50 === 0) rssMax = Math.max(rssMax, rssMb());
    },
  });
  const rssEnd = rssMb();
  const tensorsEnd = tf.memory().numTensors;
  console.log(`soak: ${r.step} stage-3 steps (tiny, ${tf.getBackend()}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; tensors: ${tensorsStart} before the run, ${tensorsWarm} after ${WARMUP_STEPS} warm-up steps, ${tensorsWarm + (drift.length ? '≠' : '')} at every step to ${r.step}, ${tensorsEnd} after disposal; ` +
    `RSS: ${rssWarm.toFixed(0)} MB at step ${RSS_FROM}, ${rssMax.toFixed(0)} MB at most (every 50 steps, after GC), ${rssEnd.toFixed(0)} MB at the end (growth ${(Math.max(rssMax, rssEnd) - rssWarm).toFixed(0)} MB at most, bound ${RSS_BOUND_MB} MB)`);
  assert.equal(r.step, SOAK_STEPS);
  assert.deepEqual(drift, [], 'numTensors is constant after warm-up');
  assert.equal(tensorsEnd, tensorsStart, 'the run disposed its model, reference policy and optimizer');
  assert.ok(rssMax - rssWarm < RSS_BOUND_MB && rssEnd - rssWarm < RSS_BOUND_MB, `resident memory grew ${(Math.max(rssMax, rssEnd) - rssWarm).toFixed(0)} MB after step ${RSS_FROM} (bound ${RSS_BOUND_MB} MB)`);
});

test('sweep: three rounds of runs in one process (stage 3 in each mode, stage 2, stage 1) return the tensor count to its baseline after every run; resident memory stops growing after the first round', async () => {
  const root = tmpDir('soak-sweep-');
  const baseline = tf.memory().numTensors;
  const rss0 = rssMb();
  const rows: string[] = [];
  const rssAfter: number[] = [];
  const check = (name: string) => {
    const n = tf.memory().numTensors;
    rows.push(`${name}: ${n}`);
    assert.equal(n, baseline, `${name} left ${n - baseline} tensors behind`);
  };
  const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };
  const modes = ['combined', 'rl', 'seg'] as const;
  for (let round = 0; round < 3; round++) {
    const mode = modes[round];
    const cfg = resolveCoprsTrainConfig('tiny', { mode, seed: round, steps: 4, completionsEvery: 2, checkpointEvery: 2, heldout: { samples: 2, every: 2 } });
    await trainCoprs(cfg, { out: path.join(root, `coprs-${round}`), model: { model: tinyCoprs(round + 3), sources }, log: null });
    check(`coprs ${mode}`);
    const encoder = new StubImageEncoder(64, 16, 128, 1);
    await trainSft(resolveSftConfig('tiny', { seed: round, steps: 2, heldout: { samples: 1, every: 0, maxTokens: 4 } }), { out: path.join(root, `sft-${round}`), encoder: { encoder, source }, log: null });
    encoder.dispose();
    check('sft');
    await trainSam(resolveSamTrainConfig('tiny', { steps: 2, seed: round }), { out: path.join(root, `sam-${round}`), log: null });
    check('sam');
    rssAfter.push(rssMb());
  }
  const growth = rssAfter[rssAfter.length - 1] - rssAfter[0];
  console.log(`sweep: ${rows.length} runs in 3 rounds; tensors ${baseline} before, ${tf.memory().numTensors} after, after each run: ${rows.join(', ')}; ` +
    `RSS ${rss0.toFixed(0)} MB before, ${rssAfter.map((x) => x.toFixed(0)).join(' / ')} MB after each round (growth after the first round ${growth.toFixed(0)} MB, bound ${RSS_BOUND_MB} MB)`);
  assert.ok(growth < RSS_BOUND_MB, `resident memory grew ${growth.toFixed(0)} MB over rounds 2 and 3 (bound ${RSS_BOUND_MB} MB)`);
});
