/**
 * `coprs bench [--json] [--quick]`: GFLOP/s of a 256² and a 512² matmul and of a conv2d forward +
 * backward on every available backend, measured in one run so ratios between backends are fair on
 * a shared, noisy machine.
 */
import * as tf from '@tensorflow/tfjs';
import { availableBackends, selectBackend } from '../../backend/select';
import { benchConv2d, benchMatmul, DEFAULT_CONV, OpTiming, TimeOptions } from '../../bench/ops-bench';
import type { Flags } from '../args';

export async function benchCommand(flags: Flags): Promise<Record<string, unknown>> {
  const chosen = await selectBackend({ backend: flags.backend as string | undefined });
  const available = (await availableBackends()).filter((a) => a.ok).map((a) => a.name);
  const opts: TimeOptions = flags.quick ? { minMs: 100, minReps: 1 } : { minMs: 600, minReps: 3 };
  const results: Record<string, Record<string, OpTiming>> = {};
  for (const name of available) {
    await tf.setBackend(name);
    const r: Record<string, OpTiming> = {};
    r.matmul256 = await benchMatmul(256, opts);
    r.matmul512 = await benchMatmul(512, opts);
    r.conv2d = await benchConv2d(DEFAULT_CONV, opts);
    results[name] = r;
    if (!flags.json) {
      for (const t of Object.values(r)) console.log(`${name.padEnd(10)} ${t.name.padEnd(40)} ${t.gflops.toFixed(2).padStart(8)} GFLOP/s  (${t.msPerRun.toFixed(2)} ms, ${t.reps} runs)`);
    }
  }
  await tf.setBackend(chosen.name);
  const ceiling = results[chosen.name]?.matmul512?.gflops ?? null;
  const stages = flags['ops-only'] ? null : await benchStages(flags.quick ? 'tiny' : 'small', !flags.json, ceiling);
  const ratios: Record<string, number> = {};
  const base = results.cpu;
  if (base) {
    for (const [name, r] of Object.entries(results)) {
      if (name === 'cpu') continue;
      for (const k of Object.keys(r)) ratios[`${name}/cpu ${k}`] = Math.round((r[k].gflops / base[k].gflops) * 10) / 10;
    }
  }
  if (!flags.json) for (const [k, v] of Object.entries(ratios)) console.log(`ratio ${k}: ${v}×`);
  return { chosen: chosen.name, backends: available, results, ratios, stages, date: new Date().toISOString(), node: process.version };
}

/**
 * Training-step times of stages 1 (mini-SAM), 2 (policy cold start) and 3 (CoPRS) and rollout throughput for
 * 4 prompts × G = 8 with and without the KV cache, on the chosen backend, in one run.
 */
async function benchStages(preset: string, print: boolean, ceiling: number | null): Promise<Record<string, unknown>> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { benchSamStep } = require('../../train/sam/index') as typeof import('../../train/sam/index');
  const { benchSftStep, benchRollouts } = require('../../models/policy/index') as typeof import('../../models/policy/index');
  const { benchCoprsStep } = require('../../train/coprs/bench') as typeof import('../../train/coprs/bench');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const stage1 = await benchSamStep(preset, 'S', { steps: 2 });
  const stage2 = await benchSftStep(preset, { steps: 2 });
  const stage3 = await benchCoprsStep(preset, { steps: 2 });
  const rollouts = benchRollouts({ prompts: 4, G: 8, maxTokens: preset === 'tiny' ? 16 : 64, preset });
  if (print) {
    console.log(`stage 1 (mini-SAM ${stage1.size}, ${preset}): ${stage1.msPerStep.toFixed(0)} ms/step (${stage1.imagesPerStep} images, ${stage1.promptsPerStep} prompts)`);
    console.log(`stage 2 (policy, ${preset}): ${stage2.msPerStep.toFixed(0)} ms/step (batch ${stage2.batchSize}, ${stage2.tokensPerStep.toFixed(0)} tokens)`);
    console.log(`stage 3 (CoPRS, ${preset}): ${stage3.msPerStep.toFixed(0)} ms per GRPO step (${stage3.prompts} prompts × G=${stage3.G}, ${stage3.meanLength.toFixed(0)} tokens per rollout: generation ${stage3.generateMs.toFixed(0)} ms, reference ${stage3.refMs.toFixed(0)} ms, update ${stage3.updateMs.toFixed(0)} ms; random weights); SEG warm-up step ${stage3.warmupMs.toFixed(0)} ms`);
    if (ceiling) console.log(`stage 3 matmul/conv work: ${(stage3.flopsPerStep / 1e9).toFixed(1)} GFLOP per step, ${stage3.gflops.toFixed(2)} GFLOP/s achieved = ${((stage3.gflops / ceiling) * 100).toFixed(0)}% of the ${ceiling.toFixed(1)} GFLOP/s 512² matmul ceiling`);
    console.log(`rollouts 4 × G=8, ${rollouts.maxTokens} tokens: ${rollouts.cached.tokensPerSec.toFixed(0)} tokens/s with the KV cache, ${rollouts.noCache.tokensPerSec.toFixed(0)} without (${rollouts.speedup.toFixed(1)}×)`);
  }
  const stage3VsCeiling = ceiling ? stage3.gflops / ceiling : null;
  return { preset, stage1, stage2, stage3, stage3MatmulCeilingGflops: ceiling, stage3VsCeiling, rollouts };
}
