/** The command line as a user runs it: exit codes, --json last lines, clear errors for bad input. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runCli } from './helpers/cli';
import { parseBackendRequest } from '../src/backend/select';
import { parseFlags, UsageError } from '../src/cli/args';
import { explainError } from '../src/cli/error-hint';

test('coprs info --json: wasm chosen on this machine, with complete training kernels', () => {
  const r = runCli(['info', '--json'], { COPRS_BACKEND: '' });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.json, `last line is JSON: ${r.stdout.slice(-300)}`);
  // Without libtensorflow and without a GPU adapter (the machines this kit is developed and tested on), auto picks wasm.
  const backends = r.json.backends as { name: string; ok: boolean }[];
  const gpuLike = backends.filter((b) => (b.name === 'tensorflow' || b.name === 'webgpu') && b.ok);
  if (gpuLike.length === 0) {
    assert.equal(r.json.backend, 'wasm');
    assert.match(String(r.json.reason), /auto: .*wasm ready/);
  } else {
    assert.equal(r.json.backend, gpuLike[0].name);
  }
  assert.deepEqual((r.json.trainingKernels as { missing: string[] }).missing, []);
  assert.equal((r.json.trainingKernels as { complete: boolean }).complete, true);
  assert.ok((r.json.available as string[]).includes('cpu'));
  assert.equal(r.json.tfjs, '4.22.0');
  assert.match(r.stderr, new RegExp(`\\[coprs\\] backend: ${r.json.backend} — `), 'one line saying which backend and why');
});

test('COPRS_BACKEND forces a backend; the reason says so', () => {
  const r = runCli(['info', '--json'], { COPRS_BACKEND: 'cpu' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json?.backend, 'cpu');
  assert.match(String(r.json?.reason), /forced by COPRS_BACKEND=cpu/);
});

test('an unknown backend name is an error that names it and the valid ones (exit 1)', () => {
  const r = runCli(['info'], { COPRS_BACKEND: 'tpu' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown backend "tpu": expected one of auto, tensorflow, webgpu, wasm, cpu/);
  assert.throws(() => parseBackendRequest('metal'), /unknown backend "metal"/);
  assert.equal(parseBackendRequest(' WASM '), 'wasm');
  assert.equal(parseBackendRequest(undefined), 'auto');
});

test('a forced backend that cannot start is an error with the reason', () => {
  const r = runCli(['info', '--backend', 'tensorflow']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /backend "tensorflow" \(from config\) could not start: tensorflow: not installed/);
});

test('unknown commands and options are usage errors (exit 2)', () => {
  assert.equal(runCli(['frobnicate']).code, 2);
  const r = runCli(['info', '--jsn']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --jsn; valid options: --json, --backend/);
  assert.throws(() => parseFlags(['--n', 'x'], { n: { type: 'number', help: '' } }), UsageError);
  assert.deepEqual(parseFlags(['--n=3', '--q'], { n: { type: 'number', help: '' }, q: { type: 'boolean', help: '' } }).flags, { n: 3, q: true });
});

test('coprs bench --json --quick: every available backend measured in one run, with ratios to cpu', () => {
  const r = runCli(['bench', '--json', '--quick'], {}, 300_000);
  assert.equal(r.code, 0, r.stderr);
  const results = r.json?.results as Record<string, Record<string, { gflops: number; reps: number }>>;
  assert.ok(results.wasm && results.cpu);
  for (const b of ['wasm', 'cpu']) {
    for (const k of ['matmul256', 'matmul512', 'conv2d']) assert.ok(results[b][k].gflops > 0 && results[b][k].reps >= 1, `${b} ${k}`);
  }
  assert.ok(Number.isFinite((r.json?.ratios as Record<string, number>)['wasm/cpu matmul256']));
});

test('coprs data stats --json and data verify --json describe the committed splits', () => {
  const stats = runCli(['data', 'stats', '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  const splits = stats.json?.splits as Record<string, { count: number; subsets: Record<string, number> }>;
  assert.ok(splits['refshapes/val'].count >= 300 && splits['refshapes/testA'].count >= 300 && splits['refshapes/testB'].count >= 300);
  assert.ok(splits['reasonshapes/val'].count >= 200 && splits['reasonshapes/test'].count >= 400);
  assert.ok(splits['reasonshapes/test'].subsets.short > 0 && splits['reasonshapes/test'].subsets.long > 0);
  const verify = runCli(['data', 'verify', '--json']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.json?.ok, true);
  assert.equal(verify.json?.mismatchCount, 0);
});

test('an unknown preset is an error naming it and the valid ones', () => {
  const r = runCli(['start'], { COPRS_PRESET: 'huge' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown preset "huge": expected one of tiny, small, base/);
});

test('coprs data build refuses to --out into data/shapeworld itself', () => {
  const r = runCli(['data', 'build', '--out', 'data/shapeworld']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the output folder \(--out\) must differ from data\/shapeworld/);
});

test('a bare wasm abort ("Aborted()") gets an explanation and what to do; other messages pass unchanged', () => {
  const m = explainError('Aborted(). Build with -sASSERTIONS for more info.');
  assert.match(m, /^Aborted\(\)\. Build with -sASSERTIONS/);
  assert.match(m, /4 GiB cap.*batchSize, grpo\.G.*--resume/s);
  assert.equal(explainError('checkpoint x: no such folder'), 'checkpoint x: no such folder');
});
