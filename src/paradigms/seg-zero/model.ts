/**
 * Seg-Zero (text coordinates; Liu et al. 2025), on the kit's parts — a decoupled reasoning model and
 * a FROZEN segmentation model:
 *
 *   policy(image tokens + instruction + query)
 *     ─► "<think>…</think><answer>{"bbox": [x1,y1,x2,y2], "points_1": [x,y], "points_2": [x,y]}</answer>"  (image pixels)
 *   parse (answer.ts) ─► box + two positive points ─► frozen mini-SAM (prompt encoder + mask decoder,
 *   single mask) ─► mask logits [r, r]
 *
 * Training: GRPO on the policy only, with Seg-Zero's five 0/1 rewards (rewards.ts, summed) — text
 * rewards, so no mask is computed during training. Each GRPO step: B = batchSize / G refshapes
 * prompts, G rollouts each from the CURRENT policy at temperature 1, the group advantages, the
 * frozen reference's log-probs (the stage-2 policy; k3 KL, β), one update (μ = 1: old log-probs =
 * the detached current ones). Before GRPO, `coldStart.steps` supervised format steps (THE KIT'S
 * CHOICE, config.ts) on ground-truth answers (GT box = the mask's tight box, GT points = the centers
 * of its two largest inscribed circles, from the distance transform; answer.ts).
 *
 * Inference: greedy; an unparsable answer gives no mask (logits −50: an empty mask). Coordinates
 * outside the image are clamped into it and a box's corners are ordered (kit's choice: the mini-SAM
 * refuses prompts outside the image; Seg-Zero hands SAM2 what the model wrote).
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { generate } from '../../models/policy/generate';
import { scoreGrouped } from '../../models/policy/grouped-scoring';
import { EOS } from '../../models/policy/tokenizer';
import type { PolicyModel } from '../../models/policy/model';
import { frozenCopy } from '../../models/coprs/reference';
import { transformPrompt, type SamPrompt } from '../../models/sam/prompts';
import type { ImageBatch } from '../../models/coprs/images';
import { groupAdvantages } from '../../rl/advantages';
import { policyLoss } from '../../rl/policy-loss';
import { combineRewards } from '../../rewards/registry';
import { assignParams } from '../../train/checkpoint';
import type { CompletionRow } from '../../train/coprs/completions';
import { ParadigmBase, encodeInstructionPrompt, meanStd, withImages, type BatchPrediction, type ParadigmParts, type ParadigmStepReport } from '../types';
import { groundTruthAnswer, parseSegZeroAnswer, segZeroResponseText, type SegZeroAnswer } from './answer';
import type { SegZeroTrainConfig } from './config';
import './rewards';

/**
 * The instruction, after Seg-Zero's prompt ("Please find '{Question}' with bbox and points. Compare
 * the difference between objects and find the most closely matched one. Output the thinking process
 * in <think> </think> and final answer in <answer> </answer> tags. Output the one bbox and center
 * points of two largest inscribed circles inside the interested object in JSON format.") in the words
 * the frozen vocabulary has (tested).
 */
export const SEG_ZERO_INSTRUCTION =
  'Find the object that the query describes. Compare the difference between objects and find the most closely matched one. ' +
  'Output the thinking process in <think> </think>, then output <answer> </answer> with one bbox and the center point of the object as points_1 and points_2.';

export const NO_MASK_LOGIT = -50;

/** An answer as a mini-SAM prompt in original-image pixels: corners ordered, everything clamped into the image. */
export function answerPrompt(a: SegZeroAnswer, width: number, height: number): SamPrompt {
  const cx = (v: number) => Math.min(width - 1, Math.max(0, v));
  const cy = (v: number) => Math.min(height - 1, Math.max(0, v));
  const [x1, y1, x2, y2] = a.bbox;
  return {
    box: [cx(Math.min(x1, x2)), cy(Math.min(y1, y2)), cx(Math.max(x1, x2)), cy(Math.max(y1, y2))],
    points: a.points.map(([x, y]) => ({ x: cx(x), y: cy(y), label: 1 as const })),
  };
}

export class SegZeroParadigm extends ParadigmBase<SegZeroTrainConfig> {
  readonly name = 'seg-zero';
  readonly emits = '<think>…</think><answer>{"bbox": [x1,y1,x2,y2], "points_1": [x,y], "points_2": [x,y]}</answer>  (image pixels → box + 2 points → frozen mini-SAM)';
  /** The frozen reference policy of the KL term (null when β = 0). */
  readonly ref: PolicyModel | null;

  constructor(parts: ParadigmParts, config: SegZeroTrainConfig) {
    super(parts, config, 'segZero');
    this.sam.params.setTrainable(false); // the segmentation model is frozen in Seg-Zero
    this.ref = config.grpo.beta > 0 ? frozenCopy(this.policy) : null;
  }

  parts(): Record<string, [string, tf.Variable][]> {
    return { policy: this.policyPart() };
  }

  prompts(queries: string[]): number[][] {
    return queries.map((q) => encodeInstructionPrompt(this.policy.tokenizer, SEG_ZERO_INSTRUCTION, q, this.policy.imageTokens));
  }

  /** The cold start's target text of a sample (GT chain of thought + GT answer). */
  targetText(s: Sample): string {
    const gt = groundTruthAnswer(s.mask);
    if (!gt) throw new Error(`Seg-Zero cold start: sample ${s.id} has an empty mask`);
    if (!s.cot?.text) throw new Error(`Seg-Zero cold start: sample ${s.id} has no ground-truth chain of thought`);
    return segZeroResponseText(s.cot.text, gt);
  }

  trainStep(): ParadigmStepReport {
    if (this.step < this.config.coldStart.steps) return this.coldStartStep();
    // THE KIT'S CHOICE: after a format cold start the GRPO reference is the cold-started policy (the
    // SFT-then-RL convention), not the stage-2 policy, whose KL would pull every rollout back to
    // `<REF_POS>`. The copy is taken at the first GRPO step (idempotent on a resume there; later
    // resumes load `ref.*` from the checkpoint).
    if (this.ref && this.config.coldStart.steps > 0 && this.step === this.config.coldStart.steps) {
      assignParams(this.ref.params, new Map(this.policy.params.entries()));
    }
    return this.grpoStep();
  }

  /** One supervised format step (kit's choice, see config.ts). */
  private coldStartStep(): ParadigmStepReport {
    const t0 = Date.now();
    const lr = this.lr();
    const samples = this.stream.take(this.config.batchSize);
    const prompts = this.prompts(samples.map((s) => s.query));
    const texts = samples.map((s) => this.targetText(s));
    const responses = texts.map((t) => [...this.policy.tokenizer.encode(t), EOS]);
    const u = withImages(this, samples, (b) =>
      this.update(() => {
        const vis = this.policy.visionTokens(b.policyInput); // B x n_img x d
        const lp = scoreGrouped(this.policy, prompts, responses, vis, 1);
        return lp.logProbs.mul(lp.mask).sum().neg().div(lp.mask.sum().maximum(1)) as tf.Scalar; // token-mean CE
      }),
    );
    const lens = responses.map((r) => r.length);
    const record = { cold_start: true, 'loss/ce': u.loss, 'completions/mean_length': meanStd(lens).mean };
    const completions: CompletionRow[] = samples.map((s, i) => ({ step: this.step + 1, id: s.id, query: s.query, completion: texts[i], length: lens[i] }));
    return this.finishStep(t0, lr, u, record, null, completions);
  }

  /** One GRPO step (see the module comment). */
  private grpoStep(): ParadigmStepReport {
    const t0 = Date.now();
    const lr = this.lr();
    const cfg = this.config;
    const G = cfg.grpo.G;
    const samples = this.stream.take(cfg.batchSize / G);
    const prompts = this.prompts(samples.map((s) => s.query));
    const longest = Math.max(...prompts.map((p) => p.length));
    const maxTokens = Math.min(cfg.rollout.maxTokens, this.policy.config.maxSeqLen - longest);
    let genMs = 0;
    let refMs = 0;
    const out = withImages(this, samples, (b) => {
      const tg = Date.now();
      const gen = generate(this.policy, prompts, b.policyInput, { maxTokens, temperature: cfg.rollout.temperature, topP: cfg.rollout.topP, G, rng: this.rng });
      genMs = Date.now() - tg;
      const rowSamples = gen.ids.map((_, i) => samples[Math.floor(i / G)]);
      const rewards = combineRewards(cfg.rewards, { prompts: rowSamples.map((s) => s.query), completions: gen.text, completionIds: gen.ids, samples: rowSamples, step: this.step });
      const stats = groupAdvantages(rewards.total, G, cfg.grpo.advantageScale);
      const tr = Date.now();
      const refLogp = this.ref ? tf.tidy(() => this.scoreRows(this.ref!, prompts, gen.ids, b, G).logProbs) : null;
      refMs = Date.now() - tr;
      const parts: { kl?: number; clipLow?: number; clipHigh?: number } = {};
      try {
        const u = this.update(() => {
          const lp = this.scoreRows(this.policy, prompts, gen.ids, b, G);
          const old = tf.tensor2d(lp.logProbs.dataSync() as Float32Array, lp.logProbs.shape); // detached copy (μ = 1: ratio 1)
          const g = policyLoss(
            { logp: lp.logProbs, oldLogp: old, refLogp: refLogp ?? undefined, advantages: tf.tensor1d(stats.advantages), mask: lp.mask },
            { lossType: cfg.grpo.lossType, epsilon: cfg.grpo.epsilon, epsilonHigh: cfg.grpo.epsilonHigh, beta: refLogp ? cfg.grpo.beta : 0, aggregation: cfg.grpo.aggregation },
          );
          parts.kl = g.kl.dataSync()[0];
          parts.clipLow = g.clipLow.dataSync()[0];
          parts.clipHigh = g.clipHigh.dataSync()[0];
          return g.loss;
        });
        return { u, gen, rewards, stats, parts, rowSamples };
      } finally {
        refLogp?.dispose();
      }
    });
    const { u, gen, rewards, stats, parts, rowSamples } = out;
    const record: Record<string, unknown> = { reward: meanStd(rewards.total).mean, reward_std: meanStd(stats.groupStds).mean, frac_reward_zero_std: stats.zeroStdFraction };
    for (const [n, vals] of Object.entries(rewards.perReward)) {
      const xs = vals.filter((v): v is number => v !== null);
      const ms = meanStd(xs);
      record[`rewards/${n}/mean`] = xs.length ? ms.mean : null;
      record[`rewards/${n}/std`] = xs.length ? ms.std : null;
    }
    Object.assign(record, {
      'completions/mean_length': meanStd(gen.lengths).mean, 'completions/min_length': Math.min(...gen.lengths), 'completions/max_length': Math.max(...gen.lengths),
      'completions/clipped_ratio': gen.finished.filter((f) => !f).length / gen.finished.length,
      kl: this.ref ? parts.kl : null, 'clip_ratio/low_mean': parts.clipLow, 'clip_ratio/high_mean': parts.clipHigh, clip_ratio: (parts.clipLow ?? 0) + (parts.clipHigh ?? 0),
      'loss/grpo': u.loss, 'time/generate_ms': genMs, 'time/ref_ms': refMs,
    });
    const completions: CompletionRow[] = gen.ids.map((_, i) => {
      const row: CompletionRow = { step: this.step + 1, id: rowSamples[i].id, group: Math.floor(i / G), rollout: i % G, query: rowSamples[i].query, completion: gen.text[i], length: gen.lengths[i], finished: gen.finished[i], reward: rewards.total[i] };
      for (const [n, vals] of Object.entries(rewards.perReward)) row[`rewards/${n}`] = vals[i];
      row.advantage = stats.advantages[i];
      return row;
    });
    return this.finishStep(t0, lr, u, record, meanStd(rewards.total).mean, completions);
  }

  /** Teacher-forced log-probs of N = B·G responses under `policy` (grouped: each prompt once). */
  private scoreRows(policy: PolicyModel, prompts: number[][], responses: number[][], b: ImageBatch, G: number) {
    const vis = policy.visionTokens(b.policyInput); // B x n_img x d
    try {
      return scoreGrouped(policy, prompts, responses, vis, G);
    } finally {
      vis.dispose();
    }
  }

  protected predictBatch(samples: Sample[], opts: { maxTokens: number }): BatchPrediction {
    const prompts = this.prompts(samples.map((s) => s.query));
    const longest = Math.max(...prompts.map((p) => p.length));
    const maxTokens = Math.min(opts.maxTokens, this.policy.config.maxSeqLen - longest);
    const b = this.encode(samples.map((s) => s.image));
    try {
      const gen = generate(this.policy, prompts, b.policyInput, { maxTokens, temperature: 0 });
      const parsed = gen.text.map((t) => parseSegZeroAnswer(t));
      const masks = this.answerMasks(b, parsed.map((p) => (p.ok ? p.answer : null)));
      const extras = parsed.map((p) => (p.ok ? { parsed: true, bbox: p.answer.bbox, points: p.answer.points } : { parsed: false, reason: p.reason }));
      return { responses: gen.text, masks, infos: b.infos, extras };
    } finally {
      tf.dispose([b.E, b.policyInput, b.valid]);
    }
  }

  /**
   * Mask logits [B, r, r] of answers (one per image of `b`, in original-image pixels; null = no
   * answer → −50 everywhere): box + two positive points through the frozen mini-SAM, single mask.
   */
  answerMasks(b: ImageBatch, answers: (SegZeroAnswer | null)[]): tf.Tensor3D {
    const rows = answers.map((a, i) => (a ? i : -1)).filter((i) => i >= 0);
    const r = this.sam.maskSize;
    return tf.tidy(() => {
      let decoded: tf.Tensor3D | null = null;
      if (rows.length > 0) {
        const prompts = rows.map((i) => transformPrompt(answerPrompt(answers[i]!, b.infos[i].origW, b.infos[i].origH), b.infos[i])); // original pixels -> model-input pixels
        const dec = this.sam.decode(b.E, prompts, { multimaskOutput: false, imageIndex: rows });
        decoded = dec.masks.reshape([rows.length, r, r]) as tf.Tensor3D; // n x 1 x r x r -> n x r x r
      }
      const empty = tf.fill([r, r], NO_MASK_LOGIT) as tf.Tensor2D; // r x r
      const per = answers.map((_, i) => {
        const k = rows.indexOf(i);
        return k >= 0 ? decoded!.slice([k, 0, 0], [1, r, r]).reshape([r, r]) : empty; // r x r
      });
      return tf.stack(per) as tf.Tensor3D; // B x r x r
    });
  }

  protected override extraStateTensors(): [string, tf.Tensor][] {
    return this.ref ? this.ref.params.entries().map(([n, v]) => [`ref.${n}`, v] as [string, tf.Tensor]) : [];
  }

  protected override loadExtraState(tensors: Map<string, tf.Tensor>): void {
    if (this.ref) assignParams(this.ref.params, tensors, { from: 'ref.' });
  }

  override dispose(): void {
    this.ref?.dispose();
    super.dispose();
  }
}
