/**
 * The paradigm framework (src/paradigms/types.ts, registry.ts, trainer.ts, eval.ts): the registry
 * (known names, unknown names rejected with the list), the matched budget across paradigms,
 * config overrides (unknown keys rejected), save/load round trips of every registered paradigm,
 * the generic trainer (JSONL log, latest/, resume), the generic evaluator, and the CLI entries.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { trainStream } from '../src/data/shapeworld/index';
import { JsonlLog } from '../src/train/jsonl';
import { readCheckpointMeta } from '../src/train/checkpoint';
import { BUILTIN_PARADIGMS, buildParadigm, getParadigm, loadParadigm, paradigmNames } from '../src/paradigms/registry';
import { PARADIGM_BUDGET, PARADIGM_KIND } from '../src/paradigms/types';
import { trainParadigm } from '../src/paradigms/trainer';
import { evaluateParadigm } from '../src/paradigms/eval';
import { runCli } from './helpers/cli';
import { snapshot, tinyParadigm, tinyParts, tmpDir, useWasm, writeParts } from './paradigm-fixtures';

before(useWasm);

test('registry: LISA and Seg-Zero are registered; an unknown name is rejected with the known list', () => {
  assert.ok(paradigmNames().includes('lisa') && paradigmNames().includes('seg-zero'));
  assert.throws(() => getParadigm('lisaa'), (e: Error) => /unknown paradigm "lisaa"/.test(e.message) && /lisa, seg-zero/.test(e.message));
  assert.throws(() => buildParadigm('nope', { parts: undefined, sam: 'x', policy: 'y' }), /known paradigms: .*lisa/);
});

test('budget: every registered paradigm takes steps and completions per step from PARADIGM_BUDGET', () => {
  for (const def of BUILTIN_PARADIGMS) {
    for (const preset of ['tiny', 'small', 'base'] as const) {
      const c = def.resolveConfig(preset);
      assert.equal(c.steps, PARADIGM_BUDGET[preset].steps, `${def.name} ${preset} steps`);
      assert.equal(c.batchSize, PARADIGM_BUDGET[preset].batchSize, `${def.name} ${preset} batchSize`);
      assert.equal(c.paradigm, def.name);
    }
  }
});

test('config overrides merge, unknown keys are rejected with the key path', () => {
  const c = getParadigm('lisa').resolveConfig('tiny', { steps: 7, optim: { lr: 3e-4, lrScale: { maskDecoder: 2 } } });
  assert.equal(c.steps, 7);
  assert.equal(c.optim.lr, 3e-4);
  assert.equal(c.optim.lrScale.maskDecoder, 2);
  assert.equal(c.optim.lrScale.textHiddenFcs, 25, 'other multipliers kept');
  assert.throws(() => getParadigm('lisa').resolveConfig('tiny', { stepz: 3 }), /stepz/);
  assert.throws(() => getParadigm('seg-zero').resolveConfig('tiny', { rewards: { 'seg-zero/nope': 1 } }), /unknown reward.*seg-zero\/bbox-iou/);
  assert.throws(() => getParadigm('lisa').resolveConfig('huge'), /tiny, small, base/);
});

for (const name of ['lisa', 'seg-zero']) {
  test(`${name}: save/load round trip (weights, step, optimizer state) and parameter counts by part`, async () => {
    const p = tinyParadigm(name);
    p.trainStep();
    const dir = path.join(tmpDir('paradigm-'), 'ckpt');
    await p.save(dir, { withState: true });
    const meta = readCheckpointMeta(dir, { kind: PARADIGM_KIND });
    assert.equal((meta.config as { paradigm: string }).paradigm, name);
    const q = loadParadigm(dir);
    assert.equal(q.name, name);
    assert.equal(q.step, 1);
    const a = (p as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
    const b = (q as unknown as { namedParams(): [string, tf.Variable][] }).namedParams();
    assert.deepEqual(a.map(([n]) => n), b.map(([n]) => n));
    assert.deepEqual(snapshot(a), snapshot(b));
    const counts = q.parameterCounts();
    assert.ok(counts.policy > 0 && counts.total >= counts.trainable + counts.imageEncoder - 1);
    assert.equal(counts.total, counts.trainable + counts.frozen);
    p.dispose();
    q.dispose();
  });
}

test('trainer: a tiny run writes the JSONL log, latest/ and the weights, and resumes to more steps', async () => {
  const out = path.join(tmpDir('paradigm-run-'), 'run');
  const r = await trainParadigm('lisa', { out, preset: 'tiny', parts: tinyParts(), steps: 2, log: null });
  assert.equal(r.step, 2);
  const log = JsonlLog.read(path.join(out, 'log.jsonl'));
  assert.equal(log[0].event, 'start');
  assert.ok(log.some((x) => x.step === 2 && typeof x.loss === 'number' && 'loss/ce' in x));
  assert.equal(readCheckpointMeta(out, { kind: PARADIGM_KIND }).step, 2);
  const r2 = await trainParadigm('lisa', { out, resume: true, steps: 3, log: null });
  assert.equal(r2.startStep, 2);
  assert.equal(r2.step, 3);
  await assert.rejects(trainParadigm('seg-zero', { out, resume: true, steps: 4, log: null }), /lisa run, not seg-zero/);
  await assert.rejects(trainParadigm('lisa', { out, preset: 'tiny', parts: tinyParts(), log: null }), /already holds a run/);
});

test('evaluator: gIoU/cIoU, subsets and time per sample on given samples', async () => {
  const p = tinyParadigm('lisa');
  const samples = trainStream('reasonshapes', { seed: 5 }).take(2);
  const r = await evaluateParadigm(p, { samples, rows: true, maxTokens: 6 });
  const s = r.results[0];
  assert.equal(s.n, 2);
  assert.ok(s.gIoU >= 0 && s.gIoU <= 1 && s.cIoU >= 0 && s.cIoU <= 1);
  assert.ok(s.msPerSample > 0);
  assert.ok(s.subsets && 'short' in s.subsets && 'long' in s.subsets);
  assert.equal(s.rows!.length, 2);
  p.dispose();
});

test('CLI: train paradigm (tiny) then eval-paradigm; an unknown paradigm is a usage error with the list', async () => {
  const root = tmpDir('paradigm-cli-');
  const parts = await writeParts(root);
  const out = path.join(root, 'run');
  const t = runCli(['train', 'paradigm', '--paradigm', 'lisa', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--out', out, '--steps', '1', '--json', '--backend', 'wasm'], {}, 300_000);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.json?.step, 1);
  assert.ok(fs.existsSync(path.join(out, 'latest', 'checkpoint.json')));
  const e = runCli(['eval-paradigm', '--ckpt', out, '--split', 'refshapes/testA', '--limit', '2', '--max-tokens', '4', '--json', '--backend', 'wasm'], {}, 300_000);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.json?.paradigm, 'lisa');
  const bad = runCli(['train', 'paradigm', '--paradigm', 'nope', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /known paradigms: lisa, seg-zero/);
});
