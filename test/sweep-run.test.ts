/**
 * Sweeps end to end on the tiny preset (stage-1/2 parts trained in the sweep with the tiny budget,
 * 3 stage-3 steps per point, 2 samples per evaluation split):
 *
 * - a kill simulated mid-point (`untilStep`), then re-runs: the interrupted point resumes from its
 *   latest/ (not restarted), a point limit stops after one point, and finished points are never re-run;
 * - the results CSV has one row per point with the evaluation of every split;
 * - tensors: tf.memory().numTensors is the same after the second point as after the first (warmed up);
 * - a re-run with other settings is refused; the CLI prints the summary object with --json.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { registerAblation } from '../src/sweep/registry';
import { readStepLog, runSweep, type SweepOptions } from '../src/sweep/runner';
import { readResultsCsv, EVAL_SPLITS } from '../src/sweep/results';
import { readCheckpointMeta } from '../src/train/checkpoint';
import { ablationResults, publishResults } from '../src/sweep/committed';
import { runCli } from './helpers/cli';
import { tmpDir } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
});

// two points of the mode ablation, through the default stage-3 runner
registerAblation('test-two-modes', {
  title: 'two modes', paper: '-', axis: 'mode',
  points: () => [{ id: 'seg', label: 'SEG only', value: 'seg', overrides: { mode: 'seg' } }, { id: 'combined', label: 'combined', value: 'combined', overrides: { mode: 'combined' }, isDefault: true }],
});

test('tiny sweep of 2 points: kill mid-point, resume, point limit, no re-runs, CSV, no tensor leak', async () => {
  const t0 = Date.now();
  const out = tmpDir('sweep-run-');
  const base: SweepOptions = { ablation: 'test-two-modes', preset: 'tiny', out, steps: 3, log: null, shippedDir: null };

  // 1) a "kill" at step 1 of the first point: it stops unfinished, nothing else runs
  const r1 = await runSweep({ ...base, untilStep: 1 });
  assert.deepEqual([r1.ran, r1.pending, r1.complete], [[], ['seg_s0', 'combined_s0'], false]);
  assert.equal(readCheckpointMeta(path.join(out, 'seg_s0', 'run', 'latest')).step, 1);
  assert.ok(!fs.existsSync(path.join(out, 'seg_s0', 'result.json')));

  // 2) re-run with a point limit of 1: the interrupted point resumes from step 1 and finishes; the other waits
  const tensorsAfter: number[] = [];
  const r2 = await runSweep({ ...base, maxPoints: 1, onPoint: () => tensorsAfter.push(tf.memory().numTensors) });
  assert.deepEqual([r2.ran, r2.resumed, r2.skipped, r2.pending], [['seg_s0'], ['seg_s0'], [], ['combined_s0']]);
  const events = fs.readFileSync(path.join(out, 'seg_s0', 'run', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).event);
  assert.deepEqual(events.filter((e) => e === 'start' || e === 'resume'), ['start', 'resume'], 'resumed, not restarted');
  assert.deepEqual(readStepLog(path.join(out, 'seg_s0', 'run', 'log.jsonl')).map((r) => r.step), [1, 2, 3]);
  const segResult = path.join(out, 'seg_s0', 'result.json');
  const segMtime = fs.statSync(segResult).mtimeMs;
  const segLog = fs.readFileSync(path.join(out, 'seg_s0', 'run', 'log.jsonl'), 'utf8');

  // 3) re-run: the finished point is skipped (not re-run), the other runs; the sweep is complete
  const r3 = await runSweep({ ...base, onPoint: () => tensorsAfter.push(tf.memory().numTensors) });
  assert.deepEqual([r3.ran, r3.skipped, r3.pending, r3.complete], [['combined_s0'], ['seg_s0'], [], true]);
  assert.equal(fs.statSync(segResult).mtimeMs, segMtime, 'the finished point was not re-run');
  assert.equal(fs.readFileSync(path.join(out, 'seg_s0', 'run', 'log.jsonl'), 'utf8'), segLog);
  assert.equal(tensorsAfter.length, 2);
  assert.equal(tensorsAfter[1], tensorsAfter[0], `tf.memory().numTensors after point 2 (${tensorsAfter[1]}) = after point 1 (${tensorsAfter[0]})`);

  // 4) a fourth run does nothing
  const r4 = await runSweep(base);
  assert.deepEqual([r4.ran, r4.skipped], [[], ['seg_s0', 'combined_s0']]);

  // the results: one row per point, every split evaluated on 2 samples, parameter counts, curve columns
  const rows = await readResultsCsv(path.join(out, 'results.csv'));
  assert.deepEqual(rows.map((r) => r.point), ['seg', 'combined']);
  for (const r of rows) {
    assert.equal(r.steps, 3);
    for (const [d, s] of EVAL_SPLITS) {
      assert.equal(r[`${d}_${s}_n`], 2);
      assert.ok(typeof r[`${d}_${s}_ciou`] === 'number');
    }
    assert.ok((r.params_total as number) > (r.params_policy as number));
    assert.equal(r.conv_window, 2);
    assert.equal(r.sam_from, 'cached', 'the parts were trained by the first (killed) call and reused after');
  }
  assert.deepEqual(rows.map((r) => r.mode), ['seg', 'combined']);

  // published results are what ablationResults reads (no run): the notebook's small path
  const pub = tmpDir('sweep-pub-');
  const files = publishResults(out, path.join(pub, 'test-two-modes'), { command: 'test', seconds: 1, pointSeconds: 1 });
  assert.deepEqual(files.map((f) => path.basename(f)), ['results.csv', 'results.json', 'sweep.json', 'command.json']);
  const committed = await ablationResults('test-two-modes', { preset: 'tiny', out: path.join(pub, 'never-run'), committedDir: pub, log: null });
  assert.deepEqual([committed.source, committed.rows.length, committed.info?.command], ['committed', 2, 'test']);
  assert.ok(!fs.existsSync(path.join(pub, 'never-run')), 'committed results: nothing ran');

  // other settings in the same folder are refused
  await assert.rejects(runSweep({ ...base, steps: 4 }), /holds a sweep with steps = 3, this one has 4; re-run with the same settings/);
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds < 90, `the tiny 2-point sweep took ${seconds.toFixed(1)} s`);
});

test('coprs sweep --json on the tiny preset: summary object, then a re-run skips every point', () => {
  const out = path.join(tmpDir('sweep-cli-run-'), 'mode');
  const args = ['sweep', '--ablation', 'mode', '--preset', 'tiny', '--out', out, '--steps', '2', '--limit', '1', '--max-points', '1', '--json', '--backend', 'wasm'];
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json!;
  assert.deepEqual([j.ablation, j.preset, j.points, j.finished, j.complete], ['mode', 'tiny', 3, 1, false]);
  assert.deepEqual(j.ran, ['rl_s0']);
  const summary = j.summary as Record<string, unknown>[];
  assert.equal(summary[0].point, 'rl');
  assert.ok('refshapes_testA_ciou' in summary[0] && 'conv_samples' in summary[0]);
  assert.ok(fs.existsSync(path.join(out, 'results.csv')));
  const again = runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([again.json!.skipped, again.json!.ran], [['rl_s0'], ['seg_s0']]);
  const bad = runCli(['sweep', '--ablation', 'mode', '--preset', 'tiny', '--out', out, '--steps', '3', '--json']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /holds a sweep with steps = 2, this one has 3/);
});
