/**
 * RSVP (two-stage; Lu et al., ACL 2025), on the kit's parts:
 *
 *   stage 1 (reasoning): policy(tokens of the image WITH the strip grid drawn on it (grid.ts) + instruction + query)
 *     ─► "<think>…</think><answer>down 5, 6 across 2, 3</answer>"
 *     ─► strips ─► box proposal (first to last named strip, padded by `padding`, clipped)
 *   stage 2 (segmentation): VLSM(query text, the CLEAN image's frozen embedding cropped to the box) ─► one token
 *     box corners + that token ─► mini-SAM mask decoder (dense = noMaskEmbed) ─► mask, cut to the box
 *
 * Training — what is supervised and what is RL (kit's choices; RSVP itself prompts a large frozen MLLM
 * in context and trains only its VLSM): everything is SUPERVISED, no RL, in one forward + backward:
 *   - the policy: teacher-forced CE on `<think>{GT chain of thought}</think><answer>{GT strips}</answer>`,
 *     GT strips = the strips the target's tight box touches (the tiny policy cannot name strips
 *     zero-shot, so it is taught the format and the strips);
 *   - the VLSM and the mask decoder: BCE + dice on the mask decoded from the box of the GT strips
 *     (the same padded box inference builds from correct strips).
 *   L = ceWeight·CE + bceWeight·BCE + diceWeight·dice  (1.0, 2.0, 0.5). The stages share no gradient
 *   (the VLSM reads the query, not the policy's states). Frozen: image encoder, prompt encoder.
 *
 * Inference: greedy; an answer without valid strips falls back to the whole image as the box (kit's
 * choice: stage 2 then segments from the query alone; `extra.stripsParsed` says so).
 */
import * as tf from '@tensorflow/tfjs';
import type { RGBImage, Sample } from '../../data/sample';
import { bceWithLogits, diceLoss } from '../../train/sam/losses';
import { generate } from '../../models/policy/generate';
import { scoreGrouped } from '../../models/policy/grouped-scoring';
import { EOS } from '../../models/policy/tokenizer';
import { maskBox, transformPrompt, type SamBox } from '../../models/sam/prompts';
import { disposeImageBatch, softTargets, type ImageBatch } from '../../models/coprs/images';
import type { PreprocessInfo } from '../../io/preprocess';
import type { CompletionRow } from '../../train/coprs/completions';
import { ParadigmBase, completionLengthStats, encodeInstructionPrompt, meanStd, type BatchPrediction, type ParadigmParts, type ParadigmStepReport } from '../types';
import { hardIoUs } from '../lisa/model';
import type { RsvpTrainConfig } from './config';
import { boxToStrips, drawGrid, parseStrips, stripsText, stripsToBox, type Strips } from './grid';
import { VisionLanguageSegModule, boxCellMask, boxPixelMask } from './vlsm';

/** The instruction (the policy's vocabulary is frozen: only words it knows; tested). */
export const RSVP_INSTRUCTION = 'Find the object that the query describes. Compare the difference between objects and find the most closely matched one. Output the thinking process in <think> </think>, then output in <answer> </answer> the cells down and across from the top left that it is in.';

/** Logit outside the proposal box (`cropOutput`). */
export const OUTSIDE_BOX_LOGIT = -50;

/** The ground-truth strips of a sample (its mask's tight box; the whole image for an empty mask). */
export function groundTruthStrips(s: Sample, grid: RsvpTrainConfig['grid']): Strips {
  const { width: W, height: H } = s.mask;
  const box = maskBox(s.mask) ?? ([0, 0, W - 1, H - 1] as SamBox);
  return boxToStrips(box, W, H, grid);
}

/** The target response text of a sample. */
export function rsvpResponseText(s: Sample, grid: RsvpTrainConfig['grid']): string {
  if (!s.cot?.text) throw new Error(`RSVP: sample ${s.id} has no ground-truth chain of thought`);
  return `<think>${s.cot.text}</think><answer>${stripsText(groundTruthStrips(s, grid))}</answer>`;
}

export class RsvpParadigm extends ParadigmBase<RsvpTrainConfig> {
  readonly name = 'rsvp';
  readonly emits = '<think>…</think><answer>down r…, across c…</answer>  (strips of an 8 × 8 grid drawn on the image → box → VLSM → mini-SAM)';
  readonly vlsm: VisionLanguageSegModule;

  constructor(parts: ParadigmParts, config: RsvpTrainConfig) {
    super(parts, config, 'rsvp');
    this.vlsm = new VisionLanguageSegModule(this.own.scope('vlsm'), this.policy.tokenizer.size, this.sam.embedDim);
    this.sam.params.setTrainable(false, 'promptEncoder');
  }

  parts(): Record<string, [string, tf.Variable][]> {
    return { policy: this.policyPart(), vlsm: this.ownPart('vlsm'), maskDecoder: this.samPart('maskDecoder') };
  }

  prompts(queries: string[]): number[][] {
    return queries.map((q) => encodeInstructionPrompt(this.policy.tokenizer, RSVP_INSTRUCTION, q, this.policy.imageTokens));
  }

  /** The policy's input: the images with the grid drawn on them (encoded by the frozen encoder). */
  encodeGridded(images: RGBImage[]): ImageBatch {
    return this.encode(images.map((im) => drawGrid(im, this.config.grid)));
  }

  /** The proposal box of strips (original pixels) → model-frame pixels. */
  proposal(strips: Strips | null, info: PreprocessInfo): SamBox {
    const { origW: W, origH: H } = info;
    const box = strips ? stripsToBox(strips, W, H, this.config.grid, this.config.padding) : ([0, 0, W - 1, H - 1] as SamBox);
    return transformPrompt({ box }, info).box!;
  }

  /** Stage 2 (differentiable): query ids, model-frame boxes (one per image of `batch`) → mask logits [N, r, r]. */
  segment(queryIds: number[][], boxes: SamBox[], batch: ImageBatch): tf.Tensor3D {
    const N = boxes.length;
    const S = this.sam.imageSize;
    const r = this.sam.maskSize;
    const [h] = this.sam.promptEncoder.imageEmbeddingSize;
    return tf.tidy(() => {
      const pe = this.sam.promptEncoder.getDensePe(); // 1 x h x w x C
      const cells = tf.tensor2d(boxes.flatMap((b) => Array.from(boxCellMask(b, S, h))), [N, h * h]); // N x hw
      const token = this.vlsm.apply(queryIds, batch.E, pe, cells); // N x C
      const C = token.shape[1];
      const corners = this.sam.promptEncoder.embedBoxes(tf.tensor2d(boxes.flat(), [N, 4])); // N x 2 x C
      const sparse = tf.concat([corners, token.reshape([N, 1, C])], 1) as tf.Tensor3D; // N x 3 x C
      const [hh, ww] = this.sam.promptEncoder.imageEmbeddingSize;
      const dense = tf.zeros([N, hh, ww, C]).add(this.sam.promptEncoder.noMaskEmbed.table.reshape([1, 1, 1, C])) as tf.Tensor4D; // N x h x w x C
      const dec = this.sam.maskDecoder.apply({ imageEmbeddings: batch.E, imagePe: pe, sparsePromptEmbeddings: sparse, densePromptEmbeddings: dense, multimaskOutput: false, imageIndex: Array.from({ length: N }, (_, i) => i) });
      const m = dec.masks.reshape([N, r, r]) as tf.Tensor3D; // N x 1 x r x r -> N x r x r
      if (!this.config.cropOutput) return m;
      const inside = tf.tensor3d(boxes.flatMap((b) => Array.from(boxPixelMask(b, S, r))), [N, r, r]).greater(0.5); // N x r x r
      return tf.where(inside, m, tf.fill([N, r, r], OUTSIDE_BOX_LOGIT)) as tf.Tensor3D; // N x r x r
    });
  }

  /** Query ids of the VLSM (the user query, tokenized by the policy's tokenizer). */
  queryIds(samples: Sample[]): number[][] {
    return samples.map((s) => {
      const ids = this.policy.tokenizer.encode(s.query);
      if (ids.length === 0) throw new Error(`RSVP: sample ${s.id} has an empty query`);
      return ids;
    });
  }

  trainStep(): ParadigmStepReport {
    const t0 = Date.now();
    const lr = this.lr();
    const cfg = this.config;
    const samples = this.stream.take(cfg.batchSize);
    const prompts = this.prompts(samples.map((s) => s.query));
    const texts = samples.map((s) => rsvpResponseText(s, cfg.grid));
    const responses = texts.map((t) => [...this.policy.tokenizer.encode(t), EOS]);
    const strips = samples.map((s) => groundTruthStrips(s, cfg.grid));
    const qids = this.queryIds(samples);
    const parts: { ce?: number; bce?: number; dice?: number; iou?: number[] } = {};
    const clean = this.encode(samples.map((s) => s.image));
    const gridded = this.encodeGridded(samples.map((s) => s.image));
    let u: { loss: number; gradNorm: number; refused: string | null };
    const r = this.sam.maskSize;
    const targets = softTargets(samples.map((s) => s.mask), this.sam.imageSize, r); // B x r x r
    const valid = clean.valid.reshape([samples.length, r, r]) as tf.Tensor3D; // B x r x r x 1 -> B x r x r
    try {
      const boxes = samples.map((_, i) => this.proposal(strips[i], clean.infos[i]));
      u = this.update(() => {
        const vis = this.policy.visionTokens(gridded.policyInput); // B x n_img x d
        const lp = scoreGrouped(this.policy, prompts, responses, vis, 1);
        const ce = lp.logProbs.mul(lp.mask).sum().neg().div(lp.mask.sum().maximum(1)) as tf.Scalar;
        const m = this.segment(qids, boxes, clean);
        const v = cfg.loss.ignorePadding ? valid : undefined;
        const bce = bceWithLogits(m, targets, { valid: v }).mean() as tf.Scalar;
        const dice = diceLoss(m, targets, { valid: v }).mean() as tf.Scalar;
        parts.ce = ce.dataSync()[0];
        parts.bce = bce.dataSync()[0];
        parts.dice = dice.dataSync()[0];
        parts.iou = hardIoUs(m.dataSync(), targets.dataSync(), valid.dataSync(), r);
        return ce.mul(cfg.loss.ceWeight).add(bce.mul(cfg.loss.bceWeight)).add(dice.mul(cfg.loss.diceWeight)) as tf.Scalar;
      });
    } finally {
      tf.dispose([targets, valid]);
      disposeImageBatch(clean);
      disposeImageBatch(gridded);
    }
    const lens = responses.map((x) => x.length);
    const record: Record<string, unknown> = {
      'loss/ce': parts.ce, 'loss/bce': parts.bce, 'loss/dice': parts.dice, mask_iou: meanStd(parts.iou ?? []).mean,
      'strips/mean_rows': meanStd(strips.map((s) => s.rows.length)).mean, 'strips/mean_cols': meanStd(strips.map((s) => s.cols.length)).mean,
      ...completionLengthStats(lens),
    };
    const completions: CompletionRow[] = samples.map((s, i) => ({ step: this.step + 1, id: s.id, query: s.query, completion: texts[i], length: lens[i], strips: stripsText(strips[i]), mask_iou: parts.iou?.[i] ?? null }));
    return this.finishStep(t0, lr, u, record, null, completions);
  }

  protected predictBatch(samples: Sample[], opts: { maxTokens: number }): BatchPrediction {
    const prompts = this.prompts(samples.map((s) => s.query));
    const maxTokens = this.generationCap(prompts, opts.maxTokens);
    const clean = this.encode(samples.map((s) => s.image));
    try {
      let gen: ReturnType<typeof generate>;
      const gridded = this.encodeGridded(samples.map((s) => s.image));
      try {
        gen = generate(this.policy, prompts, gridded.policyInput, { maxTokens, temperature: 0 });
      } finally {
        disposeImageBatch(gridded);
      }
      const parsed = gen.text.map((t) => parseStrips(t, this.config.grid));
      const boxes = parsed.map((p, i) => this.proposal(p.ok ? p.strips : null, clean.infos[i]));
      const masks = this.segment(this.queryIds(samples), boxes, clean);
      const extras = parsed.map((p, i) => {
        const info = clean.infos[i];
        const box = p.ok ? stripsToBox(p.strips, info.origW, info.origH, this.config.grid, this.config.padding) : [0, 0, info.origW - 1, info.origH - 1];
        return p.ok ? { stripsParsed: true, rows: p.strips.rows, cols: p.strips.cols, box } : { stripsParsed: false, reason: p.reason, box };
      });
      return { responses: gen.text, masks, infos: clean.infos, extras };
    } finally {
      disposeImageBatch(clean);
    }
  }
}
