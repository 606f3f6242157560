/**
 * Reliability, item 1: a real `coprs train coprs` process (tiny preset, tiny random fixtures, wasm)
 * is SIGKILLed at three points — between checkpoints, while weights.bin is being written into the
 * temporary folder, and between the two renames that replace OUT/latest — and each time the last
 * complete checkpoint loads (sha256 checked) and `--resume` finishes the run with the same per-step
 * losses and the same final weights, bit for bit, as an uninterrupted run.
 *
 * The two in-checkpoint kill points use the writer's test hook COPRS_TEST_CHECKPOINT_PAUSE=<phase>@<step>
 * (src/train/checkpoint.ts): the writer prints a marker and sleeps at that phase, and the test kills
 * it there; a timing-based kill could not hit a window of a few milliseconds reliably.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { PACKAGE_ROOT } from '../src/util/paths';
import { JsonlLog } from '../src/train/jsonl';
import { installCheckpointFiles, loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../src/train/checkpoint';
import { runCli } from './helpers/cli';
import { tmpDir, writeParts } from './coprs-fixtures';

let parts: { sam: string; policy: string };
let root: string;
const STEPS = 6;
const args = (out: string) => ['train', 'coprs', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--out', out, '--steps', String(STEPS),
  '--set', 'checkpointEvery=2,completionsEvery=0,rollout.maxTokens=8', '--json', '--backend', 'wasm'];

/** Start the CLI, SIGKILL it when a stderr line matches `at`; resolves with the signal and stderr. */
function killWhen(cliArgs: string[], at: RegExp, env: Record<string, string> = {}): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'coprs.js'), ...cliArgs], { cwd: PACKAGE_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => p.kill('SIGKILL'), 240_000);
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => {
      stderr += d;
      if (!killed && at.test(stderr)) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ signal, code, stderr });
    });
  });
}

/** The last logged record of each training step (a resumed run logs the steps after its checkpoint again). */
function lossesByStep(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of JsonlLog.read(path.join(out, 'log.jsonl'))) if (r.event === 'train') m.set(r.step as number, r.loss as number);
  return m;
}

const leftovers = (out: string) => fs.readdirSync(out).filter((n) => /^latest\.(tmp|old)-/.test(n));

let reference: { sha: string; losses: Map<number, number>; modelSha: string };

before(async () => {
  root = tmpDir('reliability-kill-');
  parts = await writeParts(root);
  const out = path.join(root, 'reference');
  const r = runCli(args(out), {}, 240_000);
  assert.equal(r.code, 0, r.stderr);
  reference = { sha: readCheckpointMeta(path.join(out, 'latest')).weightsSha256, losses: lossesByStep(out), modelSha: readCheckpointMeta(out).weightsSha256 };
  assert.equal(reference.losses.size, STEPS);
});

const CASES: { name: string; at: RegExp; env?: Record<string, string>; expectStep: number; latestGone?: boolean }[] = [
  { name: 'between checkpoints (after step 3)', at: /\[coprs\] step 3\/6/, expectStep: 2 },
  { name: 'while weights.bin of step 4 is being written', at: /test pause: weights step 4/, env: { COPRS_TEST_CHECKPOINT_PAUSE: 'weights@4' }, expectStep: 2 },
  { name: 'between the renames that replace latest/ with step 4', at: /test pause: swap step 4/, env: { COPRS_TEST_CHECKPOINT_PAUSE: 'swap@4' }, expectStep: 4, latestGone: true },
];

for (const c of CASES) {
  test(`SIGKILL ${c.name}: the last complete checkpoint loads and --resume ends bit-identical to an uninterrupted run`, async () => {
    const out = path.join(root, c.name.replace(/\W+/g, '-'));
    const k = await killWhen(args(out), c.at, c.env);
    assert.equal(k.signal, 'SIGKILL', `the run was killed (exit ${k.code}):\n${k.stderr}`);
    const latest = path.join(out, 'latest');
    if (c.latestGone) {
      assert.equal(fs.existsSync(latest), false, 'killed between the renames: latest/ is momentarily absent');
      assert.ok(leftovers(out).length >= 1, 'its complete replacement waits beside it');
    } else {
      assert.equal(readCheckpointMeta(latest).step, c.expectStep);
    }
    // the last complete checkpoint loads (size and sha256 checked; recovered into place if need be)
    const { meta, tensors } = loadCheckpoint(latest, { kind: 'coprs', size: 'tiny' });
    assert.equal(meta.step, c.expectStep);
    assert.ok(meta.extra.optimizerStep != null && meta.extra.stream != null, 'it holds the resume state');
    tf.dispose([...tensors.values()]);
    // --resume continues from it to the end
    const r = runCli([...args(out).filter((a, i, all) => a !== '--set' && all[i - 1] !== '--set'), '--resume'], {}, 240_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.startStep, c.expectStep);
    assert.equal(r.json?.step, STEPS);
    assert.deepEqual(leftovers(out), [], 'the next save removed what the kill left behind');
    assert.equal(readCheckpointMeta(latest).weightsSha256, reference.sha, 'weights, reference policy and AdamW state bit-identical to the uninterrupted run');
    assert.equal(readCheckpointMeta(out).weightsSha256, reference.modelSha, 'the run folder\'s model checkpoint too');
    assert.deepEqual([...lossesByStep(out)].sort((a, b) => a[0] - b[0]), [...reference.losses].sort((a, b) => a[0] - b[0]), 'the same loss at every step');
  });
}

test('the run folder\'s model checkpoint (installed beside log.jsonl): a kill between moving its two files is finished on the next read, never new weights under an old checkpoint.json', async () => {
  const dir = tmpDir('reliability-install-');
  fs.writeFileSync(path.join(dir, 'log.jsonl'), '{}\n');
  const save = async (step: number) => {
    const t = tf.fill([3], step);
    const tmp = path.join(dir, `.model-test-${step}`);
    await saveCheckpoint(tmp, { kind: 'coprs', size: 'tiny', config: {}, step, tensors: [['w', t]] });
    t.dispose();
    return tmp;
  };
  installCheckpointFiles(await save(1), dir);
  assert.equal(readCheckpointMeta(dir).step, 1);
  // killed before anything moved: the old checkpoint stands
  await save(2);
  assert.equal(readCheckpointMeta(dir).step, 1);
  // killed after checkpoint.json was removed and weights.bin moved, before checkpoint.json moved
  const tmp3 = await save(3);
  fs.rmSync(path.join(dir, 'checkpoint.json'));
  fs.renameSync(path.join(tmp3, 'weights.bin'), path.join(dir, 'weights.bin'));
  const { meta, tensors } = loadCheckpoint(dir, { kind: 'coprs' });
  assert.equal(meta.step, 3);
  assert.deepEqual(Array.from(tensors.get('w')!.dataSync()), [3, 3, 3]);
  tf.dispose([...tensors.values()]);
  installCheckpointFiles(await save(4), dir);
  assert.equal(readCheckpointMeta(dir).step, 4);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['checkpoint.json', 'log.jsonl', 'weights.bin'], 'no staging folders left, other files untouched');
});
