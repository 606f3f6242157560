/**
 * `coprs check-backend` (src/cli/commands/check-backend.ts): one tiny stage-3 step on wasm and on
 * cpu with the same seed agree (loss relative error well under the 1e-3 bar the GPU check uses),
 * every trained part gets a non-trivial gradient, and the target's own sampling matches.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkBackendCommand } from '../src/cli/commands/check-backend';
import { parseFlags } from '../src/cli/args';
import { CHECK_BACKEND_FLAGS } from '../src/cli/commands/check-backend';

test('check-backend --backend wasm --against cpu: one tiny stage-3 step agrees', async () => {
  const { flags } = parseFlags(['--backend', 'wasm', '--against', 'cpu', '--json'], CHECK_BACKEND_FLAGS);
  const r = (await checkBackendCommand(flags)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(r.ok, true);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.against, 'cpu');
  assert.ok(r.loss.relError <= 1e-4, `loss relative error ${r.loss.relError}`);
  assert.ok(Number.isFinite(r.loss.cpu) && r.loss.cpu !== 0);
  assert.equal(r.rollouts.targetSamplingIdentical, true);
  assert.ok(r.rollouts.refPosFound > 0, 'the ground-truth rollouts end in <REF_POS>');
  assert.deepEqual(Object.keys(r.gradRelError.perPart).sort(), ['heatmapHead', 'maskDecoder', 'policy', 'promptEncoder']);
  for (const [part, e] of Object.entries(r.gradRelError.perPart)) {
    assert.ok((e as number) <= 1e-3, `${part} gradient relative error ${e}`);
    assert.ok(r.gradRelError.refNorm[part] > 0, `${part}: the step must give it a non-zero gradient`);
  }
  assert.equal(r.gradRelError.nonFinite, 0);
  assert.ok(r.gradients.length >= 4);
});

test('check-backend rejects an unknown reference backend', async () => {
  const { flags } = parseFlags(['--against', 'tpu'], CHECK_BACKEND_FLAGS);
  await assert.rejects(checkBackendCommand(flags), /--against "tpu": expected one of tensorflow, webgpu, wasm, cpu/);
});
