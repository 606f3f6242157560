/**
 * CR-Seg (attention + points; arXiv 2606.03564 — the ABSTRACT only is published, so every concrete
 * choice here is THE KIT'S OWN), on the kit's parts:
 *
 *   policy(image tokens + instruction + query)
 *     ─► "<think>{global-to-local chain of thought}</think><answer>the {target}</answer>"
 *   teacher-forced pass over the response with the LAST layer's attention probabilities
 *     ─► the answer tokens' attention over the image tokens ─► coarse map A [g × g] (attention-map.ts)
 *     ─► dense prompt log(g²·A) (calibrated, resized to r × r)  +  top-k positive points of A
 *     ─► mini-SAM (frozen prompt encoder, trainable mask decoder, single mask) ─► mask logits [r, r]
 *
 * GLCoT (kit's reading of "reason progressively from global scene context to local target details"):
 * the ShapeWorld-RS ground-truth chain of thought already runs global → local — what the query asks,
 * every shape in the picture, one step per condition, then the target with its attributes and
 * position — and the answer names the target ("the large green circle").
 *
 * Training (supervised, no RL; one forward + backward):
 *   L = ceWeight·CE(text) + bceWeight·BCE(mask) + diceWeight·dice(mask) + attnWeight·CE(A, pooled GT)
 * The mask loss reaches the policy through the attention probabilities (dense prompt); the points are
 * picked from A's values (not differentiable), in training as at inference. The last term is the
 * kit's addition (config.ts). Trained: the policy, the map calibration (2 scalars), the mask decoder.
 * Frozen: image encoder, prompt encoder.
 *
 * A response without `<answer>` uses the attention of all its tokens (`extra.answerFound` false).
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { constant, zeros } from '../../nn/params';
import { bceWithLogits, diceLoss } from '../../train/sam/losses';
import { generate } from '../../models/policy/generate';
import { logProbs } from '../../models/policy/logprobs';
import { ANSWER, ANSWER_END, EOS } from '../../models/policy/tokenizer';
import type { SamPrompt } from '../../models/sam/prompts';
import { softTargets, type ImageBatch } from '../../models/coprs/images';
import type { CompletionRow } from '../../train/coprs/completions';
import { ParadigmBase, completionLengthStats, encodeInstructionPrompt, meanStd, withImages, type BatchPrediction, type ParadigmParts, type ParadigmStepReport } from '../types';
import { hardIoUs } from '../lisa/model';
import type { CrSegTrainConfig } from './config';
import { attentionMap, cellCenter, mapToMaskLogits, topPoints, validCells, type MapPoint } from './attention-map';

/** The instruction (the policy's vocabulary is frozen: only words it knows; tested). */
export const CR_SEG_INSTRUCTION = 'Find the object that the query describes. Compare the difference between objects and find the most closely matched one. Output the thinking process in <think> </think> from the picture to the object, then output the object in <answer> </answer>.';

/** Logit of the dense prompt outside the unpadded region. */
export const OUTSIDE_LOGIT = -50;

/** The target response text of a sample (global-to-local chain of thought, then the target). */
export function crSegResponseText(s: Sample): string {
  if (!s.cot?.text) throw new Error(`CR-Seg: sample ${s.id} has no ground-truth chain of thought`);
  return `<think>${s.cot.text}</think><answer>the ${s.cot.target.description}</answer>`;
}

/**
 * Response positions whose attention makes the map: the tokens strictly inside the last
 * `<answer>…</answer>` (to the end when unclosed); otherwise every token but `<eos>`.
 */
export function answerRows(ids: readonly number[]): { rows: number[]; found: boolean } {
  const a = ids.lastIndexOf(ANSWER);
  if (a >= 0) {
    const e0 = ids.indexOf(ANSWER_END, a + 1);
    const e = e0 < 0 ? ids.length : e0;
    const rows: number[] = [];
    for (let k = a + 1; k < e; k++) if (ids[k] !== EOS) rows.push(k);
    if (rows.length > 0) return { rows, found: true };
  }
  const rows = ids.map((t, k) => (t === EOS ? -1 : k)).filter((k) => k >= 0);
  return { rows: rows.length > 0 ? rows : ids.map((_, k) => k), found: false };
}

export class CrSegParadigm extends ParadigmBase<CrSegTrainConfig> {
  readonly name = 'cr-seg';
  readonly emits = '<think>{global → local}</think><answer>the {target}</answer>  (answer tokens\' attention over the image → coarse map + top points → mini-SAM)';
  /** Calibration of the map's dense prompt: scale (init 1) and bias (init 0). */
  readonly mapScale: tf.Variable;
  readonly mapBias: tf.Variable;

  constructor(parts: ParadigmParts, config: CrSegTrainConfig) {
    super(parts, config, 'crseg');
    const p = this.own.scope('mapCalib');
    this.mapScale = p.add('scale', [1], constant(1));
    this.mapBias = p.add('bias', [1], zeros);
    this.sam.params.setTrainable(false, 'promptEncoder');
  }

  /** Side g of the policy's image-token grid (the map's grid). */
  get grid(): number {
    return this.policy.config.vision.tokenGrid;
  }

  parts(): Record<string, [string, tf.Variable][]> {
    return { policy: this.policyPart(), mapCalib: this.ownPart('mapCalib'), maskDecoder: this.samPart('maskDecoder') };
  }

  prompts(queries: string[]): number[][] {
    return queries.map((q) => encodeInstructionPrompt(this.policy.tokenizer, CR_SEG_INSTRUCTION, q, this.policy.imageTokens));
  }

  /** Teacher-forced pass with the map: log-probs [B, R], token mask, the map A [B, g·g]. Differentiable. */
  scoreWithMap(prompts: number[][], responses: number[][], batch: ImageBatch): { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; map: tf.Tensor2D; answerFound: boolean[] } {
    const sel = responses.map(answerRows);
    const R = Math.max(1, ...responses.map((r) => r.length));
    const w = new Float32Array(responses.length * R);
    sel.forEach((s, b) => s.rows.forEach((k) => (w[b * R + k] = 1)));
    const t = tf.tidy(() => {
      const vis = this.policy.visionTokens(batch.policyInput); // B x n_img x d
      const lp = logProbs(this.policy, prompts, responses, vis, { withImageAttention: true });
      const map = attentionMap(lp.imageAttention!, tf.tensor2d(w, [responses.length, R])); // B x n_img
      return { logp: lp.logProbs, tokenMask: lp.mask, map } as unknown as tf.TensorContainer;
    }) as unknown as { logp: tf.Tensor2D; tokenMask: tf.Tensor2D; map: tf.Tensor2D };
    return { ...t, answerFound: sel.map((s) => s.found) };
  }

  /** Points of each map (model-input pixels) from its values. */
  pointsOf(mapValues: ArrayLike<number>, batch: ImageBatch): MapPoint[][] {
    const g = this.grid;
    const S = this.sam.imageSize;
    return batch.infos.map((info, b) => topPoints(Array.prototype.slice.call(mapValues, b * g * g, (b + 1) * g * g), g, this.config.points, validCells(g, S, info.validW, info.validH)));
  }

  /** Map [B, g·g] → mask logits [B, r, r] (differentiable through the dense prompt) and the points used. */
  segmentFromMap(map: tf.Tensor2D, batch: ImageBatch): { masks: tf.Tensor3D; points: MapPoint[][] } {
    const B = map.shape[0];
    const g = this.grid;
    const S = this.sam.imageSize;
    const r = this.sam.maskSize;
    const points = this.pointsOf(map.dataSync(), batch);
    const masks = tf.tidy(() => {
      const z = mapToMaskLogits(map, g, r, this.mapScale, this.mapBias); // B x r x r
      const valid = batch.valid.reshape([B, r, r]).greater(0.5); // B x r x r x 1 -> B x r x r
      const dense = tf.where(valid, z, tf.fill([B, r, r], OUTSIDE_LOGIT)).reshape([B, r, r, 1]); // B x r x r -> B x r x r x 1
      const prompts: SamPrompt[] = points.map((ps) => ({ points: ps.map((p) => ({ ...cellCenter(p.i, p.j, g, S), label: 1 as const })) }));
      const dec = this.sam.decode(batch.E, prompts, { masks: dense, multimaskOutput: false, imageIndex: Array.from({ length: B }, (_, i) => i) });
      return dec.masks.reshape([B, r, r]) as tf.Tensor3D; // B x 1 x r x r -> B x r x r
    });
    return { masks, points };
  }

  /** Cross-entropy of maps [B, g·g] against the soft targets [B, r, r] pooled to the grid (rows with an empty target count 0). */
  attentionLoss(map: tf.Tensor2D, targets: tf.Tensor3D, valid: tf.Tensor3D): tf.Scalar {
    return tf.tidy(() => {
      const [B, r] = targets.shape;
      const g = this.grid;
      const k = r / g;
      const t = tf.avgPool(targets.mul(valid).reshape([B, r, r, 1]) as tf.Tensor4D, k, k, 'valid').reshape([B, g * g]); // B x r x r x 1 -> B x g x g x 1 -> B x g·g
      const tn = t.div(t.sum(1, true).maximum(1e-9)); // B x g·g
      return tn.mul(map.add(1e-9).log()).sum(1).neg().mean() as tf.Scalar;
    });
  }

  trainStep(): ParadigmStepReport {
    const t0 = Date.now();
    const lr = this.lr();
    const cfg = this.config;
    const samples = this.stream.take(cfg.batchSize);
    const prompts = this.prompts(samples.map((s) => s.query));
    const texts = samples.map(crSegResponseText);
    const responses = texts.map((t) => [...this.policy.tokenizer.encode(t), EOS]);
    const parts: { ce?: number; bce?: number; dice?: number; attn?: number; iou?: number[]; mapMass?: number[] } = {};
    const u = withImages(this, samples, (batch) => {
      const r = this.sam.maskSize;
      const targets = softTargets(samples.map((s) => s.mask), this.sam.imageSize, r); // B x r x r
      const valid = batch.valid.reshape([samples.length, r, r]) as tf.Tensor3D; // B x r x r x 1 -> B x r x r
      try {
        return this.update(() => {
          const s = this.scoreWithMap(prompts, responses, batch);
          const { masks } = this.segmentFromMap(s.map, batch);
          const v = cfg.loss.ignorePadding ? valid : undefined;
          const ce = s.logp.mul(s.tokenMask).sum().neg().div(s.tokenMask.sum().maximum(1)) as tf.Scalar;
          const bce = bceWithLogits(masks, targets, { valid: v }).mean() as tf.Scalar;
          const dice = diceLoss(masks, targets, { valid: v }).mean() as tf.Scalar;
          const attn = this.attentionLoss(s.map, targets, valid);
          parts.ce = ce.dataSync()[0];
          parts.bce = bce.dataSync()[0];
          parts.dice = dice.dataSync()[0];
          parts.attn = attn.dataSync()[0];
          parts.iou = hardIoUs(masks.dataSync(), targets.dataSync(), valid.dataSync(), r);
          return ce.mul(cfg.loss.ceWeight).add(bce.mul(cfg.loss.bceWeight)).add(dice.mul(cfg.loss.diceWeight)).add(attn.mul(cfg.loss.attnWeight)) as tf.Scalar;
        });
      } finally {
        tf.dispose([targets, valid]);
      }
    });
    const lens = responses.map((x) => x.length);
    const record: Record<string, unknown> = {
      'loss/ce': parts.ce, 'loss/bce': parts.bce, 'loss/dice': parts.dice, 'loss/attn': parts.attn, mask_iou: meanStd(parts.iou ?? []).mean,
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
      const s = this.scoreWithMap(prompts, responses, b);
      const mapValues = s.map.dataSync().slice();
      let out: { masks: tf.Tensor3D; points: MapPoint[][] };
      try {
        out = this.segmentFromMap(s.map, b);
      } finally {
        tf.dispose([s.logp, s.tokenMask, s.map]);
      }
      const g = this.grid;
      const S = this.sam.imageSize;
      const extras = samples.map((_, i) => {
        const info = b.infos[i];
        const pts = out.points[i].map((p) => {
          const c = cellCenter(p.i, p.j, g, S);
          return [Math.round((c.x * info.origW * 10) / info.validW) / 10, Math.round((c.y * info.origH * 10) / info.validH) / 10];
        });
        return { answerFound: s.answerFound[i], points: pts, map: Array.from(mapValues.subarray(i * g * g, (i + 1) * g * g), (v) => Math.round(v * 1e4) / 1e4), grid: g };
      });
      return { responses: gen.text, masks: out.masks, infos: b.infos, extras };
    } finally {
      tf.dispose([b.E, b.policyInput, b.valid]);
    }
  }
}
