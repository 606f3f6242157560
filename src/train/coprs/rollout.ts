/**
 * One rollout batch of stage 3: B refshapes training prompts, their images encoded once, G
 * responses per prompt sampled from the CURRENT policy weights (the official code never syncs its
 * rollout worker; the kit samples from the weights being trained, as GRPO assumes), the soft
 * targets, and the reference policy's log-probabilities of the responses (constants, for the KL).
 * Nothing here is differentiated; the trainer disposes the batch after its updates.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import type { GenerateResult } from '../../models/policy/generate';
import type { PolicyModel } from '../../models/policy/model';
import { disposeLogProbs } from '../../models/policy/logprobs';
import type { CoprsModel } from '../../models/coprs/model';
import { disposeImageBatch, softTargets, type ImageBatch } from '../../models/coprs/images';
import type { Rng } from '../../util/rng';
import type { CoprsTrainConfig } from './config';
import { encodeResponse } from '../../models/policy/prompt';

export interface RolloutBatch {
  samples: Sample[];
  /** Prompt ids per sample [B]. */
  prompts: number[][];
  images: ImageBatch;
  /** Soft targets [B, r, r] and their values (row-major), with the valid region (1 = unpadded). */
  targets: tf.Tensor3D;
  targetValues: Float32Array;
  validValues: Uint8Array;
  G: number;
  /** N = B·G responses, prompt-major. */
  generation: GenerateResult;
  /** log π_ref of every response token [N, R] (null when β = 0 or in mode `seg`). */
  refLogp: tf.Tensor2D | null;
  /** Wall time of generation and of the reference pass, ms. */
  generateMs: number;
  refMs: number;
  /** True for a SEG warm-up batch of ground-truth chains (teacherForcedBatch). */
  teacherForced?: boolean;
}

/** Sample rollouts for `samples` (see the module comment). */
export function collectRollouts(model: CoprsModel, ref: PolicyModel | null, samples: Sample[], cfg: CoprsTrainConfig, rng: Rng): RolloutBatch {
  const G = cfg.grpo.G;
  const prompts = model.prompts(samples.map((s) => s.query));
  const images = model.encode(samples.map((s) => s.image));
  let targets: tf.Tensor3D | null = null;
  try {
    const r = model.maskSize;
    targets = softTargets(samples.map((s) => s.mask), model.sam.imageSize, r); // B x r x r
    const targetValues = targets.dataSync() as Float32Array;
    const validValues = Uint8Array.from(images.valid.dataSync());
    const t0 = Date.now();
    const generation = model.rollouts(prompts, images, { G, temperature: cfg.rollout.temperature, topP: cfg.rollout.topP, maxTokens: cfg.rollout.maxTokens, rng });
    const t1 = Date.now();
    let refLogp: tf.Tensor2D | null = null;
    if (ref && cfg.mode !== 'seg' && cfg.grpo.beta > 0) {
      const lp = model.score(prompts, generation.ids, images, G, { temperature: cfg.rollout.temperature, policy: ref });
      refLogp = lp.logProbs;
      disposeLogProbs({ ...lp, logProbs: null as unknown as tf.Tensor2D });
    }
    return { samples, prompts, images, targets, targetValues, validValues, G, generation, refLogp, generateMs: t1 - t0, refMs: Date.now() - t1 };
  } catch (e) {
    disposeImageBatch(images);
    targets?.dispose();
    throw e;
  }
}

export function disposeRollouts(b: RolloutBatch): void {
  disposeImageBatch(b.images);
  b.targets.dispose();
  b.refLogp?.dispose();
}

/**
 * A teacher-forced batch for the SEG warm-up (`warmup.steps`): each sample's GROUND-TRUTH chain of
 * thought (`<think>…</think> <REF_POS><eos>`, as in stage 2) stands in for the rollouts, one per
 * sample (G = 1). Nothing is sampled, so a warm-up step costs one teacher-forced pass: DESIGN §2's
 * "cold start, optionally with the SEG loss to warm the heatmap head", run at the start of stage 3
 * so that the prior means something before the first GRPO step scores masks with it.
 */
export function teacherForcedBatch(model: CoprsModel, samples: Sample[]): RolloutBatch {
  const missing = samples.find((s) => !s.cot?.text);
  if (missing) throw new Error(`SEG warm-up: sample ${missing.id} has no ground-truth chain of thought`);
  const prompts = model.prompts(samples.map((s) => s.query));
  const images = model.encode(samples.map((s) => s.image));
  let targets: tf.Tensor3D | null = null;
  try {
    targets = softTargets(samples.map((s) => s.mask), model.sam.imageSize, model.maskSize); // B x r x r
    const targetValues = targets.dataSync() as Float32Array;
    const validValues = Uint8Array.from(images.valid.dataSync());
    const ids = samples.map((s) => encodeResponse(model.policy.tokenizer, s.cot!.text));
    const generation: GenerateResult = {
      ids,
      text: samples.map((s) => `<think>${s.cot!.text}</think> <REF_POS>`),
      lengths: ids.map((r) => r.length),
      finished: ids.map(() => true),
      promptIndex: samples.map((_, i) => i),
      tokens: ids.reduce((n, r) => n + r.length, 0),
    };
    return { samples, prompts, images, targets, targetValues, validValues, G: 1, generation, refLogp: null, generateMs: 0, refMs: 0, teacherForced: true };
  } catch (e) {
    disposeImageBatch(images);
    targets?.dispose();
    throw e;
  }
}
