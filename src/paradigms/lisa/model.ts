/**
 * LISA (latent reasoning; Lai et al., CVPR 2024), on the kit's parts:
 *
 *   policy(image tokens + instruction + query) ─► "It is [SEG]."            (kit: see config.ts `response`)
 *   last-layer hidden state at the LAST [SEG] h [N, d]
 *     ─► textHiddenFcs = Linear(d, d), ReLU, Linear(d, C)  (LISA's text_hidden_fcs; dropout 0)
 *     ─► ONE sparse prompt token [N, 1, C];  dense prompt = noMaskEmbed at every cell [N, h, w, C]
 *   mini-SAM mask decoder (single mask) over the frozen embedding E ─► mask logits [N, r, r]
 *
 * Training is supervised (no RL): teacher forcing on the target response, and
 *   L = 1.0 · CE(text) + 2.0 · BCE(mask) + 0.5 · dice(mask)            (LISA's weights)
 * in ONE forward + backward pass. What is trained: the policy (the kit fine-tunes all of it; LISA
 * uses LoRA on a 7B/13B LLM plus trainable embeddings and LM head), the MLP textHiddenFcs and the
 * mask decoder. Frozen, as in LISA: the image encoder and the prompt encoder (noMaskEmbed included).
 *
 * Inference: greedy decoding; a response without `[SEG]` gives no mask (LISA returns no mask for
 * it; the kit writes logits −50, an empty mask, so its IoU counts 0 unless the target is empty).
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { MLP } from '../../nn/layers';
import { bceWithLogits, diceLoss } from '../../train/sam/losses';
import { generate } from '../../models/policy/generate';
import { scoreGrouped } from '../../models/policy/grouped-scoring';
import { EOS, SEG } from '../../models/policy/tokenizer';
import { softTargets, type ImageBatch } from '../../models/coprs/images';
import type { CompletionRow } from '../../train/coprs/completions';
import { ParadigmBase, completionLengthStats, encodeInstructionPrompt, meanStd, withImages, type BatchPrediction, type ParadigmParts, type ParadigmStepReport } from '../types';
import type { LisaTrainConfig } from './config';

/** The instruction (the policy's vocabulary is frozen: only words it knows; tested). */
export const LISA_INSTRUCTION = 'Find the object that the query describes. Compare the difference between objects and find the most closely matched one. Then output the token [SEG] for it.';

/** The answer template before `[SEG]` (LISA's "It is [SEG]."). */
export const LISA_ANSWER = 'It is [SEG].';

/** Logit written where a response has no [SEG] (an empty mask). */
export const NO_MASK_LOGIT = -50;

/** The target response text of a sample (see config.ts `response`). */
export function lisaResponseText(sample: Sample, response: LisaTrainConfig['response']): string {
  if (response === 'short') return LISA_ANSWER;
  if (!sample.cot?.text) throw new Error(`LISA response "cot": sample ${sample.id} has no ground-truth chain of thought`);
  return `${sample.cot.text} ${LISA_ANSWER}`;
}

export interface LisaLossInputs {
  /** Teacher-forced log-probs of the response tokens [N, R] and their 0/1 mask [N, R]. */
  logp: tf.Tensor2D;
  tokenMask: tf.Tensor2D;
  /** Mask logits [N, r, r], soft targets [N, r, r], valid region [N, r, r] (optional). */
  maskLogits: tf.Tensor3D;
  targets: tf.Tensor3D;
  valid?: tf.Tensor3D;
}

export interface LisaLossTerms {
  /** Token-mean cross-entropy over every response token of the batch (HF's causal-LM loss). */
  ce: tf.Scalar;
  /** Mean over masks of the per-mask BCE and dice (LISA: per-mask means, averaged over masks). */
  bce: tf.Scalar;
  dice: tf.Scalar;
  total: tf.Scalar;
}

/**
 * L = ceWeight · CE + bceWeight · BCE + diceWeight · dice. The BCE and dice are the kit's mask
 * losses (src/train/sam/losses.ts: per-mask mean BCE; dice 1 − (2Σpt + 1)/(Σp + Σt + 1)); LISA's
 * dice scales the sums by 1/1000 with ε 1e-6, which differs from smooth 1 only for near-empty masks.
 */
export function lisaLoss(inp: LisaLossInputs, w: LisaTrainConfig['loss']): LisaLossTerms {
  return tf.tidy(() => {
    const ce = inp.logp.mul(inp.tokenMask).sum().neg().div(inp.tokenMask.sum().maximum(1)) as tf.Scalar;
    const valid = w.ignorePadding ? inp.valid : undefined;
    const bce = bceWithLogits(inp.maskLogits, inp.targets, { valid }).mean() as tf.Scalar;
    const dice = diceLoss(inp.maskLogits, inp.targets, { valid }).mean() as tf.Scalar;
    const total = ce.mul(w.ceWeight).add(bce.mul(w.bceWeight)).add(dice.mul(w.diceWeight)) as tf.Scalar;
    return { ce, bce, dice, total } as unknown as tf.TensorContainer;
  }) as unknown as LisaLossTerms;
}

/** Index of the last `[SEG]` of each response, −1 where there is none. */
export function lastSegIndex(ids: readonly number[]): number {
  return ids.lastIndexOf(SEG);
}

export class LisaParadigm extends ParadigmBase<LisaTrainConfig> {
  readonly name = 'lisa';
  readonly emits = '… [SEG]  (kit: "It is [SEG]."; the last-layer hidden state at [SEG] → MLP → one sparse prompt token)';
  /** LISA's text_hidden_fcs: Linear(d, d), ReLU, Linear(d, C). */
  readonly textHiddenFcs: MLP;

  constructor(parts: ParadigmParts, config: LisaTrainConfig) {
    super(parts, config, 'lisa');
    this.textHiddenFcs = new MLP(this.own.scope('textHiddenFcs'), [this.policy.config.dim, this.policy.config.dim, this.sam.embedDim], 'relu');
    this.sam.params.setTrainable(false, 'promptEncoder'); // frozen in LISA (noMaskEmbed is the dense prompt)
  }

  parts(): Record<string, [string, tf.Variable][]> {
    return { policy: this.policyPart(), textHiddenFcs: this.ownPart('textHiddenFcs'), maskDecoder: this.samPart('maskDecoder') };
  }

  /** Prompt ids of queries. */
  prompts(queries: string[]): number[][] {
    return queries.map((q) => encodeInstructionPrompt(this.policy.tokenizer, LISA_INSTRUCTION, q, this.policy.imageTokens));
  }

  /** [SEG] hidden states [N, d] → the sparse prompt token [N, 1, C] and the dense prompt [N, h, w, C] (noMaskEmbed). */
  segPrompts(segHidden: tf.Tensor2D): { sparse: tf.Tensor3D; dense: tf.Tensor4D } {
    return tf.tidy(() => {
      const N = segHidden.shape[0];
      const C = this.sam.embedDim;
      const [h, w] = this.sam.promptEncoder.imageEmbeddingSize;
      const sparse = this.textHiddenFcs.apply(segHidden).reshape([N, 1, C]) as tf.Tensor3D; // N x d -> N x C -> N x 1 x C
      const dense = tf.zeros([N, h, w, C]).add(this.sam.promptEncoder.noMaskEmbed.table.reshape([1, 1, 1, C])) as tf.Tensor4D; // N x h x w x C
      return { sparse, dense } as unknown as tf.TensorContainer;
    }) as unknown as { sparse: tf.Tensor3D; dense: tf.Tensor4D };
  }

  /** [SEG] hidden states [N, d] of rows over the images of `batch` (row i → image i) → mask logits [N, r, r]. Differentiable. */
  masksFromHidden(segHidden: tf.Tensor2D, batch: ImageBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const N = segHidden.shape[0];
      const { sparse, dense } = this.segPrompts(segHidden);
      const dec = this.sam.maskDecoder.apply({
        imageEmbeddings: batch.E, imagePe: this.sam.promptEncoder.getDensePe(), sparsePromptEmbeddings: sparse, densePromptEmbeddings: dense,
        multimaskOutput: false, imageIndex: Array.from({ length: N }, (_, i) => i),
      });
      const r = this.sam.maskSize;
      return dec.masks.reshape([N, r, r]) as tf.Tensor3D; // N x 1 x r x r -> N x r x r
    });
  }

  /**
   * Teacher-forced pass: log-probs [N, R], token mask, the hidden state at each response's last
   * [SEG] [N, d] (fallback: its last token; `found` says which) — one row per image.
   */
  scoreWithSeg(prompts: number[][], responses: number[][], batch: ImageBatch): { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; segHidden: tf.Tensor2D; found: boolean[] } {
    const found = responses.map((r) => lastSegIndex(r) >= 0);
    const t = tf.tidy(() => {
      const vis = this.policy.visionTokens(batch.policyInput); // B x n_img x d
      const lp = scoreGrouped(this.policy, prompts, responses, vis, 1, { withHidden: true });
      const [N, R, d] = lp.hidden!.shape;
      const idx = responses.map((r, i) => i * R + (lastSegIndex(r) >= 0 ? lastSegIndex(r) : Math.max(0, r.length - 1)));
      const segHidden = tf.gather(lp.hidden!.reshape([N * R, d]), tf.tensor1d(idx, 'int32')); // N·R x d -> N x d
      return { logp: lp.logProbs, tokenMask: lp.mask, segHidden } as unknown as tf.TensorContainer;
    }) as unknown as { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; segHidden: tf.Tensor2D };
    return { ...t, found };
  }

  trainStep(): ParadigmStepReport {
    const t0 = Date.now();
    const lr = this.lr();
    const cfg = this.config;
    const samples = this.stream.take(cfg.batchSize);
    const prompts = this.prompts(samples.map((s) => s.query));
    const texts = samples.map((s) => lisaResponseText(s, cfg.response));
    const responses = texts.map((t) => [...this.policy.tokenizer.encode(t), EOS]);
    const parts: { ce?: number; bce?: number; dice?: number; iou?: number[] } = {};
    const u = withImages(this, samples, (batch) => {
      const r = this.sam.maskSize;
      const targets = softTargets(samples.map((s) => s.mask), this.sam.imageSize, r); // B x r x r
      const valid = batch.valid.reshape([samples.length, r, r]) as tf.Tensor3D; // B x r x r x 1 -> B x r x r
      try {
        return this.update(() => {
          const s = this.scoreWithSeg(prompts, responses, batch);
          const maskLogits = this.masksFromHidden(s.segHidden, batch);
          const l = lisaLoss({ logp: s.logp, tokenMask: s.tokenMask, maskLogits, targets, valid }, cfg.loss);
          parts.ce = l.ce.dataSync()[0];
          parts.bce = l.bce.dataSync()[0];
          parts.dice = l.dice.dataSync()[0];
          parts.iou = hardIoUs(maskLogits.dataSync(), targets.dataSync(), valid.dataSync(), r);
          return l.total;
        });
      } finally {
        tf.dispose([targets, valid]);
      }
    });
    const lens = responses.map((x) => x.length);
    const record: Record<string, unknown> = {
      'loss/ce': parts.ce, 'loss/bce': parts.bce, 'loss/dice': parts.dice, mask_iou: meanStd(parts.iou ?? []).mean,
      ...completionLengthStats(lens),
    };
    const completions: CompletionRow[] = samples.map((s, i) => ({ step: this.step + 1, id: s.id, query: s.query, completion: texts[i], length: lens[i], mask_iou: parts.iou?.[i] ?? null }));
    return this.finishStep(t0, lr, u, record, null, completions);
  }

  protected predictBatch(samples: Sample[], opts: { maxTokens: number }): BatchPrediction {
    const prompts = this.prompts(samples.map((s) => s.query));
    const maxTokens = this.generationCap(prompts, opts.maxTokens);
    const b = this.encode(samples.map((s) => s.image));
    try {
      const gen = generate(this.policy, prompts, b.policyInput, { maxTokens, temperature: 0 });
      const responses = gen.ids.map((ids) => (ids.length > 0 ? ids : [EOS]));
      let found: boolean[] = [];
      const masks = tf.tidy(() => {
        const s = this.scoreWithSeg(prompts, responses, b);
        found = s.found;
        const m = this.masksFromHidden(s.segHidden, b); // B x r x r
        const keep = tf.tensor1d(found.map((f) => (f ? 1 : 0))).reshape([-1, 1, 1]).greater(0.5); // B x 1 x 1
        return tf.where(tf.broadcastTo(keep, m.shape), m, tf.fill(m.shape, NO_MASK_LOGIT)) as tf.Tensor3D; // B x r x r
      });
      return { responses: gen.text, masks, infos: b.infos, extras: found.map((f) => ({ segFound: f })) };
    } finally {
      tf.dispose([b.E, b.policyInput, b.valid]);
    }
  }
}

/** Hard IoU per row of mask logits vs soft targets (≥ 0.5) over the valid region (1 when both are empty). */
export function hardIoUs(logits: ArrayLike<number>, targets: ArrayLike<number>, valid: ArrayLike<number>, r: number): number[] {
  const px = r * r;
  const out: number[] = [];
  for (let i = 0; i < logits.length / px; i++) {
    let inter = 0;
    let union = 0;
    for (let k = i * px; k < (i + 1) * px; k++) {
      if (!valid[k]) continue;
      const p = logits[k] >= 0;
      const g = targets[k] >= 0.5;
      if (p && g) inter++;
      if (p || g) union++;
    }
    out.push(union === 0 ? 1 : inter / union);
  }
  return out;
}
