/**
 * `benchCoprsStep(preset)`: ms per stage-3 GRPO step (rollouts of B prompts × G, the reference
 * pass, one forward + backward through L_GRPO + λ_SEG·L_SEG, the AdamW update) with randomly
 * initialised parts: a mini-SAM S and the preset's policy. Timings, not quality: a random policy's
 * rollouts run to the length cap, so generation is at its most expensive. Nothing is written to disk.
 *
 * The SEG warm-up (the preset's first `warmup.steps` steps) is switched off for the timed GRPO steps
 * and timed on its own (`warmupMs`: one teacher-forced step on ground-truth chains). One more GRPO
 * step runs under `tf.profile` to count its matmul/convolution FLOPs (src/bench/kernel-flops.ts);
 * `gflops` is that count over the profiled step's wall time.
 */
import * as tf from '@tensorflow/tfjs';
import { buildSam } from '../../models/sam/build-sam';
import { PolicyModel } from '../../models/policy/model';
import { CoprsModel } from '../../models/coprs/model';
import { profileFlops } from '../../bench/kernel-flops';
import { resolveCoprsTrainConfig } from './config';
import { CoprsTrainer } from './trainer';

export interface CoprsStepBench {
  preset: string;
  backend: string;
  mode: string;
  prompts: number;
  G: number;
  maxTokens: number;
  steps: number;
  /** Mean wall time of a GRPO step. */
  msPerStep: number;
  /** Of which generation, the reference pass and the update(s). */
  generateMs: number;
  refMs: number;
  updateMs: number;
  meanLength: number;
  /** One teacher-forced SEG warm-up step of `batchSize` samples. */
  warmupMs: number;
  /** Matmul/convolution FLOPs of one profiled GRPO step, and that over its wall time. */
  flopsPerStep: number;
  gflops: number;
  parameters: number;
}

function build(preset: string, overrides: Record<string, unknown>) {
  const cfg = resolveCoprsTrainConfig(preset, { heldout: { samples: 0 }, ...overrides });
  const sam = buildSam('S', { seed: 1 });
  const policy = PolicyModel.create(preset, { embedDim: sam.embedDim, gridSize: sam.embedSize });
  const model = new CoprsModel(policy, sam, cfg.model);
  return new CoprsTrainer(cfg, model, { sam: { kind: 'stub', embedDim: sam.embedDim, gridSize: sam.embedSize, seed: 1 }, policy: null });
}

export async function benchCoprsStep(preset = 'small', opts: { steps?: number; warmup?: number; overrides?: Record<string, unknown> } = {}): Promise<CoprsStepBench> {
  // the warm-up step on its own (the preset's warm-up length, at least 2 steps: one untimed)
  let warmupMs = 0;
  const w = build(preset, { ...(opts.overrides ?? {}), warmup: { steps: 2 } });
  try {
    w.trainStep();
    warmupMs = w.trainStep().ms;
  } finally {
    w.dispose();
  }
  const trainer = build(preset, { ...(opts.overrides ?? {}), warmup: { steps: 0 } });
  try {
    const cfg = trainer.config;
    for (let i = 0; i < (opts.warmup ?? 1); i++) trainer.trainStep();
    const n = opts.steps ?? 2;
    const acc = { ms: 0, gen: 0, ref: 0, upd: 0, len: 0 };
    for (let i = 0; i < n; i++) {
      const r = trainer.trainStep();
      acc.ms += r.ms;
      acc.gen += Number(r.record['time/generate_ms'] ?? 0);
      acc.ref += Number(r.record['time/ref_ms'] ?? 0);
      acc.upd += Number(r.record['time/update_ms'] ?? 0);
      acc.len += Number(r.record['completions/mean_length'] ?? 0);
    }
    let profiledMs = 0;
    const info = await tf.profile(() => {
      profiledMs = trainer.trainStep().ms;
    });
    const flops = profileFlops(info.kernels);
    return {
      preset: cfg.preset, backend: tf.getBackend(), mode: cfg.mode, prompts: trainer.prompts, G: cfg.grpo.G, maxTokens: cfg.rollout.maxTokens, steps: n,
      msPerStep: acc.ms / n, generateMs: acc.gen / n, refMs: acc.ref / n, updateMs: acc.upd / n, meanLength: acc.len / n,
      warmupMs, flopsPerStep: flops, gflops: flops / profiledMs / 1e6, parameters: trainer.model.parameterCounts().total,
    };
  } finally {
    trainer.dispose();
  }
}
