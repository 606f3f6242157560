/**
 * Every kernel that training the kit's layers runs (recorded by profiling the op probes, forward and
 * backward) is registered on every backend the kit supports: cpu, wasm (with the kit's kernels),
 * webgpu, and tensorflow (tfjs-node / tfjs-node-gpu 4.22, from the published package's list). The
 * probes themselves are checked against a real tiny stage-3 step (a GRPO step and a SEG warm-up
 * step, profiled on cpu): a kernel the step runs and no probe does would escape the registry check.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { trainingKernels } from '../src/backend/kernels';
import { backendRegistry, REGISTRY_BACKENDS } from '../src/backend/registries';
import { prepareBackend } from '../src/backend/select';
import { buildSam } from '../src/models/sam/build-sam';
import { PolicyModel } from '../src/models/policy/model';
import { CoprsModel } from '../src/models/coprs/model';
import { resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { CoprsTrainer } from '../src/train/coprs/trainer';

for (const backend of REGISTRY_BACKENDS) {
  test(`training kernels are all registered on ${backend}`, async () => {
    const needed = await trainingKernels();
    const { kernels, source } = await backendRegistry(backend);
    const missing = needed.filter((k) => !kernels.includes(k));
    assert.deepEqual(missing, [], `${backend} (${source}) lacks ${missing.join(', ')}`);
    assert.ok(needed.length > 40);
  });
}

/** Kernel names one tiny stage-3 step runs on cpu (random weights, stub SAM source, no disk). */
async function stageThreeKernels(warmup: boolean): Promise<string[]> {
  assert.ok((await prepareBackend('cpu')).ok);
  await tf.setBackend('cpu');
  const cfg = resolveCoprsTrainConfig('tiny', { heldout: { samples: 0 }, warmup: { steps: warmup ? 1 : 0 } });
  const sam = buildSam('S', { seed: 1 });
  const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize });
  const model = new CoprsModel(policy, sam, cfg.model);
  const trainer = new CoprsTrainer(cfg, model, { sam: { kind: 'stub', embedDim: sam.embedDim, gridSize: sam.embedSize, seed: 1 }, policy: null });
  try {
    const info = await tf.profile(() => {
      const r = trainer.trainStep();
      assert.equal(r.skipped, false);
      assert.equal(r.record.warmup === true, warmup);
    });
    return [...new Set(info.kernels.map((k) => k.name).filter((n) => !n.endsWith('__op')))].sort();
  } finally {
    trainer.dispose();
  }
}

for (const warmup of [false, true]) {
  test(`the op probes cover every kernel of a tiny stage-3 ${warmup ? 'SEG warm-up' : 'GRPO + SEG'} step, and every backend registers them`, async () => {
    const used = await stageThreeKernels(warmup);
    const probed = await trainingKernels();
    assert.ok(used.includes('ResizeBilinearGrad') && used.includes('Conv2DBackpropFilter'), `expected the heatmap head and tower gradients among ${used.join(' ')}`);
    assert.deepEqual(used.filter((k) => !probed.includes(k)), [], 'kernels the stage-3 step runs that no probe in src/backend/probe-ops.ts runs (add a probe)');
    for (const backend of REGISTRY_BACKENDS) {
      const { kernels, source } = await backendRegistry(backend);
      const missing = used.filter((k) => !kernels.includes(k));
      assert.deepEqual(missing, [], `${backend} (${source}) lacks ${missing.join(', ')}`);
    }
  });
}
