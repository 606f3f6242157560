/**
 * Stage 3 resumes exactly, on cpu and on wasm: a run stopped (untilStep) and continued with --resume
 * gives the same steps — rollouts, rewards, every loss term — and the same weights, reference policy
 * and optimizer state, bit for bit, as an uninterrupted run (OUT/latest holds them all, with the
 * rollout RNG and the data stream's state). On wasm the run is longer and stopped twice, and crosses
 * the SEG warm-up and the SEG-loss switch step.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { JsonlLog } from '../src/train/jsonl';
import { readCheckpointMeta } from '../src/train/checkpoint';
import { resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { trainCoprs } from '../src/train/coprs/trainer';
import { tmpDir, writeParts } from './coprs-fixtures';

const stable = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'time' && k !== 'step_time' && !k.startsWith('time/')));
const trainSteps = (dir: string) => JsonlLog.read(path.join(dir, 'log.jsonl')).filter((x) => x.event === 'train').map(stable);

const CASES = [
  { backend: 'cpu', steps: 2, stops: [1], over: {} },
  { backend: 'wasm', steps: 5, stops: [1, 3], over: { warmup: { steps: 1 } } },
] as const;

for (const c of CASES) {
  test(`${c.backend}: stopped at step ${c.stops.join(' and ')} and resumed, ${c.steps} steps equal an uninterrupted run bit for bit (losses, weights, optimizer, RNG, stream)`, async () => {
    if (c.backend === 'wasm') assert.ok((await prepareBackend('wasm')).ok, 'wasm must start');
    await tf.setBackend(c.backend);
    const root = tmpDir('coprs-resume-');
    const parts = await writeParts(root);
    const cfg = resolveCoprsTrainConfig('tiny', { steps: c.steps, checkpointEvery: 5, completionsEvery: 0, rollout: { maxTokens: 8 }, ...c.over });
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    await trainCoprs(cfg, { out: a, sam: parts.sam, policy: parts.policy, log: null });
    const first = await trainCoprs(cfg, { out: b, sam: parts.sam, policy: parts.policy, untilStep: c.stops[0], log: null });
    assert.equal(first.step, c.stops[0]);
    assert.equal(readCheckpointMeta(path.join(b, 'latest')).step, c.stops[0]);
    for (let i = 1; i <= c.stops.length; i++) {
      const r = await trainCoprs(cfg, { out: b, resume: true, untilStep: c.stops[i], log: null });
      assert.equal(r.startStep, c.stops[i - 1]);
      assert.equal(r.step, c.stops[i] ?? c.steps);
    }
    const sa = trainSteps(a);
    const sb = trainSteps(b);
    assert.equal(sa.length, c.steps);
    assert.deepEqual(sb, sa, 'every step\'s record (losses, rewards, KL, grad norm, lr) is identical');
    const la = readCheckpointMeta(path.join(a, 'latest'));
    const lb = readCheckpointMeta(path.join(b, 'latest'));
    assert.equal(lb.step, c.steps);
    assert.deepEqual(lb.rng, la.rng);
    assert.deepEqual(lb.extra.stream, la.extra.stream);
    assert.equal(lb.weightsSha256, la.weightsSha256, 'weights, reference policy and AdamW moments are bit-identical');
    assert.equal(readCheckpointMeta(b).weightsSha256, readCheckpointMeta(a).weightsSha256, 'the final model checkpoint too');
  });
}
