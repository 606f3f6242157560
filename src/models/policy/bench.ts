/**
 * Benchmark hooks of the policy:
 * - `benchSftStep(preset)`: ms per stage-2 training step (the preset's batch of refshapes and
 *   reasonshapes training samples: image embedding, forward, backward, AdamW update; with the
 *   preset's worker threads).
 * - `benchRollouts({ prompts, G, maxTokens })`: generated tokens per second with and without the
 *   key/value cache, measured in one run on the same prompts and seed (both produce the same tokens).
 * Both use a randomly initialized model and the stub encoder unless given others: timings, not quality.
 */
import * as tf from '@tensorflow/tfjs';
import { trainStream } from '../../data/shapeworld/index';
import { resolveSftConfig } from '../../train/sft/config';
import { SftTrainer } from '../../train/sft/trainer';
import type { EncoderSource } from './checkpoint';
import { generate } from './generate';
import { PolicyModel } from './model';
import { encodePrompt } from './prompt';
import { embedImages, StubImageEncoder, type ImageEncoderLike } from './vision';

export interface SftStepBench {
  preset: string;
  backend: string;
  /** Threads sharing each batch. */
  workers: number;
  batchSize: number;
  steps: number;
  msPerStep: number;
  /** Of which drawing and encoding samples. */
  dataMsPerStep: number;
  tokensPerStep: number;
  paddedTokensPerStep: number;
  parameters: number;
}

/** Mean wall time of stage-2 steps (after `warmup` untimed steps). */
export async function benchSftStep(preset = 'small', opts: { steps?: number; warmup?: number; batchSize?: number; workers?: number; encoder?: ImageEncoderLike } = {}): Promise<SftStepBench> {
  const cfg = resolveSftConfig(preset, { ...(opts.batchSize ? { batchSize: opts.batchSize } : {}), ...(opts.workers ? { workers: opts.workers } : {}), heldout: { samples: 0 } });
  const stub = opts.encoder ? null : new StubImageEncoder(64, 16);
  const encoder = opts.encoder ?? stub!;
  const source: EncoderSource = { kind: 'stub', embedDim: encoder.embedDim, gridSize: encoder.gridSize, seed: 1 };
  const trainer = new SftTrainer(cfg, encoder, source);
  try {
    await trainer.startWorkers();
    for (let i = 0; i < (opts.warmup ?? 1); i++) await trainer.trainStep();
    const n = opts.steps ?? 3;
    let ms = 0;
    let dataMs = 0;
    let tokens = 0;
    let padded = 0;
    for (let i = 0; i < n; i++) {
      const r = await trainer.trainStep();
      ms += r.ms;
      dataMs += r.dataMs;
      tokens += r.tokens;
      padded += r.paddedTokens;
    }
    return { preset, backend: tf.getBackend(), workers: cfg.workers, batchSize: cfg.batchSize, steps: n, msPerStep: ms / n, dataMsPerStep: dataMs / n, tokensPerStep: tokens / n, paddedTokensPerStep: padded / n, parameters: trainer.model.paramCount() };
  } finally {
    trainer.dispose();
    stub?.dispose();
  }
}

export interface RolloutBench {
  preset: string;
  backend: string;
  prompts: number;
  G: number;
  maxTokens: number;
  /** Generated tokens per run (prompts × G × maxTokens: stop tokens are disabled). */
  tokens: number;
  cached: { ms: number; tokensPerSec: number };
  noCache: { ms: number; tokensPerSec: number };
  /** cached tokens/s ÷ no-cache tokens/s. */
  speedup: number;
  /** Both paths generated the same ids. */
  identical: boolean;
}

/** Rollout throughput with and without the KV cache (temperature 1, same seed, no early stop). */
export function benchRollouts(opts: { prompts?: number; G?: number; maxTokens?: number; preset?: string; model?: PolicyModel; encoder?: ImageEncoderLike } = {}): RolloutBench {
  const P = opts.prompts ?? 4;
  const G = opts.G ?? 8;
  const maxTokens = opts.maxTokens ?? 64;
  const preset = opts.preset ?? 'small';
  const stub = opts.encoder ? null : new StubImageEncoder(64, 16);
  const encoder = opts.encoder ?? stub!;
  const model = opts.model ?? PolicyModel.create(preset, encoder);
  try {
    const samples = trainStream('refshapes', { seed: 12345 }).take(P);
    const prompts = samples.map((s) => encodePrompt(model.tokenizer, s.query, model.imageTokens));
    const emb = model.embedImages(encoder, samples.map((s) => s.image));
    try {
      const run = (useCache: boolean) => {
        const t0 = performance.now();
        const r = generate(model, prompts, emb, { maxTokens, G, temperature: 1, rng: 7, stopIds: [], useCache });
        return { ms: performance.now() - t0, r };
      };
      run(true); // warm-up (kernels, wasm memory)
      const a = run(true);
      const b = run(false);
      const tokens = a.r.tokens;
      const identical = a.r.ids.every((x, i) => x.join(',') === b.r.ids[i].join(','));
      return {
        preset: model.config.preset, backend: tf.getBackend(), prompts: P, G, maxTokens, tokens,
        cached: { ms: a.ms, tokensPerSec: (tokens / a.ms) * 1000 },
        noCache: { ms: b.ms, tokensPerSec: (b.r.tokens / b.ms) * 1000 },
        speedup: b.ms / a.ms,
        identical,
      };
    } finally {
      emb.dispose();
    }
  } finally {
    if (!opts.model) model.dispose();
    stub?.dispose();
  }
}
