/**
 * CoReS (dual chain; Bao et al., ECCV 2024), on the kit's parts:
 *
 *   policy(image tokens + instruction + ONE in-context exemplar (library.ts) + query)
 *     ─► "It appears on [LOC]. It is [SEG]."                              (paper §3.1's template)
 *   last-layer hidden states h⁰ at [LOC], h¹ at [SEG]  [N, d]
 *     ─► β = Linear(d, d), ReLU, Linear(d, C)  (the paper's projection MLP, LISA's text_hidden_fcs; shared by both levels)
 *   level 0: sparse = β(h⁰) [N, 1, C], dense = noMaskEmbed            ─► mask decoder ─► m⁰ [N, r, r]
 *   level 1: dense = prompt encoder mask_downscaling(m⁰ logits) (Eq. 2: the soft mask prompt)
 *            sparse = ĥ¹ = β(h¹) + CA(β(h¹), MAP(E, m⁰))                 (Eq. 3–4, refiner.ts)
 *                                                                      ─► mask decoder ─► m¹ [N, r, r] = the prediction
 *
 * Training (supervised, no RL; one forward + backward): teacher forcing on the template, and
 *   L = λ_R · CE(text) + λ_S · (λ_d · dice(m¹) + λ_c · BCE(m¹)),   λ_R = λ_S = 0.5, λ_d = 0.5, λ_c = 2.0  (Eq. 6–7)
 * — only the final mask is supervised (the paper: intermediate masks have no labels); m⁰ learns
 * through the chain (not detached). Trained: the policy (the kit fine-tunes all of it; CoReS: LoRA),
 * β, the refiner and the mask decoder. Frozen, as in the paper: the image encoder and the prompt
 * encoder (mask_downscaling and noMaskEmbed included).
 *
 * Kit's choices (labelled): the template is the paper's "It appears on [LOC]. It is [SEG]." — DESIGN §4
 * writes "It usually appears on …", but "usually" is not in the policy's frozen vocabulary (it would be
 * `<unk>`); the exemplar sits after the image block (the policy reads its image at columns 1..N) and
 * before the user query; a response without [LOC] uses the [SEG] state for both levels (the paper's
 * "CoS without CoR" ablation); a response without [SEG] gives no mask (logits −50, as LISA).
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { MLP } from '../../nn/layers';
import { bceWithLogits, diceLoss } from '../../train/sam/losses';
import { generate } from '../../models/policy/generate';
import { scoreGrouped } from '../../models/policy/grouped-scoring';
import { EOS, LOC, SEG } from '../../models/policy/tokenizer';
import { softTargets, type ImageBatch } from '../../models/coprs/images';
import type { CompletionRow } from '../../train/coprs/completions';
import { ParadigmBase, completionLengthStats, encodeInstructionPrompt, meanStd, withImages, type BatchPrediction, type ParadigmParts, type ParadigmStepReport } from '../types';
import { NO_MASK_LOGIT, hardIoUs } from '../lisa/model';
import type { CoresTrainConfig } from './config';
import { buildLibrary, drawExemplarIndices, exemplarIndicesFor, exemplarText, type Exemplar } from './library';
import { TokenRefiner, poolingWeights } from './refiner';

/** The instruction (the policy's vocabulary is frozen: only words it knows; tested). */
export const CORES_INSTRUCTION = 'Find the object that the query describes. Compare the difference between objects and find the most closely matched one. Output where it appears as the token [LOC], then the token [SEG] for it.';

/** The dual-chain answer template (paper §3.1). */
export const CORES_ANSWER = 'It appears on [LOC]. It is [SEG].';

/**
 * Where the chain's two tokens are in a response's ids: `seg` = the last [SEG], `loc` = the last
 * [LOC] before it (any [LOC] when there is no [SEG]); −1 where absent.
 */
export function coresTokenIndices(ids: readonly number[]): { loc: number; seg: number } {
  const seg = ids.lastIndexOf(SEG);
  const loc = seg >= 0 ? ids.lastIndexOf(LOC, seg) : ids.lastIndexOf(LOC);
  return { loc, seg };
}

/** Row indices of the hidden states to read for [LOC] and [SEG] (see the module comment for fallbacks). */
export function chainRows(ids: readonly number[]): { loc: number; seg: number; locFound: boolean; segFound: boolean } {
  const { loc, seg } = coresTokenIndices(ids);
  const segRow = seg >= 0 ? seg : Math.max(0, ids.length - 1);
  return { loc: loc >= 0 ? loc : segRow, seg: segRow, locFound: loc >= 0, segFound: seg >= 0 };
}

export interface CoresLossTerms {
  ce: tf.Scalar;
  bce: tf.Scalar;
  dice: tf.Scalar;
  total: tf.Scalar;
}

/** L = λ_R·CE + λ_S·(λ_d·dice + λ_c·BCE) on the final mask (paper Eq. 6–7). */
export function coresLoss(inp: { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; maskLogits: tf.Tensor3D; targets: tf.Tensor3D; valid?: tf.Tensor3D }, w: CoresTrainConfig['loss']): CoresLossTerms {
  return tf.tidy(() => {
    const ce = inp.logp.mul(inp.tokenMask).sum().neg().div(inp.tokenMask.sum().maximum(1)) as tf.Scalar;
    const valid = w.ignorePadding ? inp.valid : undefined;
    const bce = bceWithLogits(inp.maskLogits, inp.targets, { valid }).mean() as tf.Scalar;
    const dice = diceLoss(inp.maskLogits, inp.targets, { valid }).mean() as tf.Scalar;
    const seg = dice.mul(w.diceWeight).add(bce.mul(w.bceWeight));
    const total = ce.mul(w.reasonWeight).add(seg.mul(w.segWeight)) as tf.Scalar;
    return { ce, bce, dice, total } as unknown as tf.TensorContainer;
  }) as unknown as CoresLossTerms;
}

export class CoresParadigm extends ParadigmBase<CoresTrainConfig> {
  readonly name = 'cores';
  readonly emits = 'It appears on [LOC]. It is [SEG].  ([LOC] → first mask m⁰ → soft mask prompt + refined [SEG] token → final mask)';
  /** β: Linear(d, d), ReLU, Linear(d, C), shared by [LOC] and [SEG]. */
  readonly beta: MLP;
  readonly refiner: TokenRefiner;
  /** The in-context library (text only, training scenes). */
  readonly library: Exemplar[];

  constructor(parts: ParadigmParts, config: CoresTrainConfig) {
    super(parts, config, 'cores');
    const C = this.sam.embedDim;
    this.beta = new MLP(this.own.scope('beta'), [this.policy.config.dim, this.policy.config.dim, C], 'relu');
    this.refiner = new TokenRefiner(this.own.scope('refiner'), C, config.refiner.heads);
    this.sam.params.setTrainable(false, 'promptEncoder'); // frozen in CoReS (Eq. 2's θ)
    this.library = buildLibrary(config.inContext.librarySize, config.inContext.librarySeed);
  }

  parts(): Record<string, [string, tf.Variable][]> {
    return { policy: this.policyPart(), beta: this.ownPart('beta'), refiner: this.ownPart('refiner'), maskDecoder: this.samPart('maskDecoder') };
  }

  /** Prompt ids: instruction, the exemplars (library indices per sample), the query. */
  prompts(samples: Sample[], exemplars: number[][]): number[][] {
    return samples.map((s, i) => {
      const ex = exemplars[i].map((k) => this.library[k]);
      const instruction = ex.length > 0 ? `${CORES_INSTRUCTION} ${exemplarText(ex)}` : CORES_INSTRUCTION;
      return encodeInstructionPrompt(this.policy.tokenizer, instruction, s.query, this.policy.imageTokens);
    });
  }

  /** Training draw: `inContext.count` exemplars per sample from the paradigm's RNG. */
  drawTrainExemplars(n: number): number[][] {
    return Array.from({ length: n }, () => drawExemplarIndices(this.library.length, this.config.inContext.count, this.rng));
  }

  /** Inference draw: seeded by (seed, sample id). */
  inferenceExemplars(samples: Sample[]): number[][] {
    return samples.map((s) => exemplarIndicesFor(s.id, this.library.length, this.config.inContext.count, this.config.seed));
  }

  /** Teacher-forced pass: log-probs [N, R], token mask, h⁰ and h¹ [N, d] (one row per image). */
  scoreChain(prompts: number[][], responses: number[][], batch: ImageBatch): { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; locHidden: tf.Tensor2D; segHidden: tf.Tensor2D; locFound: boolean[]; segFound: boolean[] } {
    const rows = responses.map(chainRows);
    const t = tf.tidy(() => {
      const vis = this.policy.visionTokens(batch.policyInput); // B x n_img x d
      const lp = scoreGrouped(this.policy, prompts, responses, vis, 1, { withHidden: true });
      const [N, R, d] = lp.hidden!.shape;
      const flat = lp.hidden!.reshape([N * R, d]); // N x R x d -> N·R x d
      const locHidden = tf.gather(flat, tf.tensor1d(rows.map((r, i) => i * R + r.loc), 'int32')); // N x d
      const segHidden = tf.gather(flat, tf.tensor1d(rows.map((r, i) => i * R + r.seg), 'int32')); // N x d
      return { logp: lp.logProbs, tokenMask: lp.mask, locHidden, segHidden } as unknown as tf.TensorContainer;
    }) as unknown as { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; locHidden: tf.Tensor2D; segHidden: tf.Tensor2D };
    return { ...t, locFound: rows.map((r) => r.locFound), segFound: rows.map((r) => r.segFound) };
  }

  /** One level of the segmenting chain: sparse tokens [N, C] and a dense prompt [N, h, w, C] → mask logits [N, r, r]. */
  private decodeLevel(tokens: tf.Tensor2D, dense: tf.Tensor4D, batch: ImageBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const [N, C] = tokens.shape;
      const dec = this.sam.maskDecoder.apply({
        imageEmbeddings: batch.E, imagePe: this.sam.promptEncoder.getDensePe(), sparsePromptEmbeddings: tokens.reshape([N, 1, C]) as tf.Tensor3D, // N x C -> N x 1 x C
        densePromptEmbeddings: dense, multimaskOutput: false, imageIndex: Array.from({ length: N }, (_, i) => i),
      });
      const r = this.sam.maskSize;
      return dec.masks.reshape([N, r, r]) as tf.Tensor3D; // N x 1 x r x r -> N x r x r
    });
  }

  /**
   * The segmenting chain (differentiable): h⁰, h¹ [N, d] of rows over the images of `batch` →
   * first mask m⁰ and final mask m¹ [N, r, r] (logits over the padded frame).
   */
  chain(locHidden: tf.Tensor2D, segHidden: tf.Tensor2D, batch: ImageBatch): { m0: tf.Tensor3D; m1: tf.Tensor3D } {
    return tf.tidy(() => {
      const N = locHidden.shape[0];
      const C = this.sam.embedDim;
      const r = this.sam.maskSize;
      const [h, w] = this.sam.promptEncoder.imageEmbeddingSize;
      const h0 = this.beta.apply(locHidden) as tf.Tensor2D; // N x C
      const h1 = this.beta.apply(segHidden) as tf.Tensor2D; // N x C
      const noMask = tf.zeros([N, h, w, C]).add(this.sam.promptEncoder.noMaskEmbed.table.reshape([1, 1, 1, C])) as tf.Tensor4D; // N x h x w x C
      const m0 = this.decodeLevel(h0, noMask, batch); // N x r x r
      const dense1 = this.sam.promptEncoder.embedMasks(m0.reshape([N, r, r, 1])); // N x r x r -> N x r x r x 1 -> N x h x w x C
      const valid = batch.valid.reshape([N, r, r]) as tf.Tensor3D; // N x r x r x 1 -> N x r x r
      const weights = poolingWeights(m0, h, valid); // N x h x w
      const h1r = this.refiner.apply(h1, batch.E, weights); // N x C
      const m1 = this.decodeLevel(h1r, dense1, batch); // N x r x r
      return { m0, m1 } as unknown as tf.TensorContainer;
    }) as unknown as { m0: tf.Tensor3D; m1: tf.Tensor3D };
  }

  trainStep(): ParadigmStepReport {
    const t0 = Date.now();
    const lr = this.lr();
    const cfg = this.config;
    const samples = this.stream.take(cfg.batchSize);
    const exemplars = this.drawTrainExemplars(samples.length);
    const prompts = this.prompts(samples, exemplars);
    const responses = samples.map(() => [...this.policy.tokenizer.encode(CORES_ANSWER), EOS]);
    const parts: { ce?: number; bce?: number; dice?: number; iou?: number[]; iou0?: number[] } = {};
    const u = withImages(this, samples, (batch) => {
      const r = this.sam.maskSize;
      const targets = softTargets(samples.map((s) => s.mask), this.sam.imageSize, r); // B x r x r
      const valid = batch.valid.reshape([samples.length, r, r]) as tf.Tensor3D; // B x r x r x 1 -> B x r x r
      try {
        return this.update(() => {
          const s = this.scoreChain(prompts, responses, batch);
          const { m0, m1 } = this.chain(s.locHidden, s.segHidden, batch);
          const l = coresLoss({ logp: s.logp, tokenMask: s.tokenMask, maskLogits: m1, targets, valid }, cfg.loss);
          parts.ce = l.ce.dataSync()[0];
          parts.bce = l.bce.dataSync()[0];
          parts.dice = l.dice.dataSync()[0];
          const tv = targets.dataSync();
          const vv = valid.dataSync();
          parts.iou = hardIoUs(m1.dataSync(), tv, vv, r);
          parts.iou0 = hardIoUs(m0.dataSync(), tv, vv, r);
          return l.total;
        });
      } finally {
        tf.dispose([targets, valid]);
      }
    });
    const lens = responses.map((x) => x.length);
    const record: Record<string, unknown> = {
      'loss/ce': parts.ce, 'loss/bce': parts.bce, 'loss/dice': parts.dice, mask_iou: meanStd(parts.iou ?? []).mean, mask_iou_loc: meanStd(parts.iou0 ?? []).mean,
      ...completionLengthStats(lens),
    };
    const completions: CompletionRow[] = samples.map((s, i) => ({ step: this.step + 1, id: s.id, query: s.query, exemplar: this.library[exemplars[i][0]]?.question ?? '', completion: CORES_ANSWER, length: lens[i], mask_iou: parts.iou?.[i] ?? null, mask_iou_loc: parts.iou0?.[i] ?? null }));
    return this.finishStep(t0, lr, u, record, null, completions);
  }

  protected predictBatch(samples: Sample[], opts: { maxTokens: number }): BatchPrediction {
    const exemplars = this.inferenceExemplars(samples);
    const prompts = this.prompts(samples, exemplars);
    const maxTokens = this.generationCap(prompts, opts.maxTokens);
    if (maxTokens < 1) throw new Error(`cores.predict: the longest prompt has ${Math.max(...prompts.map((p) => p.length))} tokens, leaving no room under the policy's maxSeqLen ${this.policy.config.maxSeqLen}; use fewer in-context exemplars`);
    const b = this.encode(samples.map((s) => s.image));
    try {
      const gen = generate(this.policy, prompts, b.policyInput, { maxTokens, temperature: 0 });
      const responses = gen.ids.map((ids) => (ids.length > 0 ? ids : [EOS]));
      let segFound: boolean[] = [];
      let locFound: boolean[] = [];
      const masks = tf.tidy(() => {
        const s = this.scoreChain(prompts, responses, b);
        segFound = s.segFound;
        locFound = s.locFound;
        const { m1 } = this.chain(s.locHidden, s.segHidden, b); // B x r x r
        const keep = tf.tensor1d(segFound.map((f) => (f ? 1 : 0))).reshape([-1, 1, 1]).greater(0.5); // B x 1 x 1
        return tf.where(tf.broadcastTo(keep, m1.shape), m1, tf.fill(m1.shape, NO_MASK_LOGIT)) as tf.Tensor3D; // B x r x r
      });
      const extras = samples.map((_, i) => ({ segFound: segFound[i], locFound: locFound[i], exemplars: exemplars[i].map((k) => this.library[k].question) }));
      return { responses: gen.text, masks, infos: b.infos, extras };
    } finally {
      tf.dispose([b.E, b.policyInput, b.valid]);
    }
  }
}
