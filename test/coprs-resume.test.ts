/**
 * Stage 3 resumes exactly (cpu backend): a run stopped after one step and continued with --resume
 * gives the same second step — rollouts, rewards, losses — and the same weights, reference policy
 * and optimizer state as an uninterrupted run of two steps (OUT/latest holds them all).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { JsonlLog } from '../src/train/jsonl';
import { readCheckpointMeta } from '../src/train/checkpoint';
import { resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { trainCoprs } from '../src/train/coprs/trainer';
import { tmpDir, writeParts } from './coprs-fixtures';

before(async () => {
  await tf.setBackend('cpu');
});

const stable = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'time' && k !== 'step_time' && !k.startsWith('time/')));

test('one step + --resume gives the same second step as two uninterrupted steps', async () => {
  const root = tmpDir('coprs-resume-');
  const parts = await writeParts(root);
  const cfg = resolveCoprsTrainConfig('tiny', { steps: 2, checkpointEvery: 5, completionsEvery: 0, rollout: { maxTokens: 8 } });
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  await trainCoprs(cfg, { out: a, sam: parts.sam, policy: parts.policy, log: null });
  const first = await trainCoprs(cfg, { out: b, sam: parts.sam, policy: parts.policy, untilStep: 1, log: null });
  assert.equal(first.step, 1);
  assert.equal(readCheckpointMeta(path.join(b, 'latest')).step, 1);
  const second = await trainCoprs(cfg, { out: b, resume: true, log: null });
  assert.equal(second.startStep, 1);
  assert.equal(second.step, 2);
  const stepOf = (dir: string, n: number) => JsonlLog.read(path.join(dir, 'log.jsonl')).find((x) => x.event === 'train' && x.step === n)!;
  assert.deepEqual(stable(stepOf(b, 2)), stable(stepOf(a, 2)));
  const la = readCheckpointMeta(path.join(a, 'latest'));
  const lb = readCheckpointMeta(path.join(b, 'latest'));
  assert.equal(lb.step, 2);
  assert.deepEqual(lb.rng, la.rng);
  assert.deepEqual(lb.extra.stream, la.extra.stream);
  assert.equal(lb.weightsSha256, la.weightsSha256, 'weights, reference policy and AdamW moments are bit-identical');
});
