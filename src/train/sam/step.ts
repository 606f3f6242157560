/**
 * The stage-1 loss of one batch: SAM's simulated interactive segmentation (SAM paper §A).
 *
 * Each scene is encoded once; then, for every prompted instance:
 *   round 0   the first prompt (one positive point or a noisy box), no mask prompt;
 *   round k   (k = 1..refineRounds) the previous round's single-mask logits as the mask prompt, all
 *             earlier points and the box, plus one corrective point from the error region;
 *   mask-only (optional) the previous logits alone: no points, no box (the dense-only path CoPRS uses).
 * The mask prompt is the previous logits as plain values (no gradient flows through it, as in SAM).
 *
 * Loss of a round = focal·focal(mask 0) + dice·dice(mask 0) + (round 0, `multimask`) the same on the
 * best of the three disambiguation masks (SAM's min over outputs) + iou·MSE(IoU head, actual IoU of
 * every mask). Focal / dice use the 64 x 64 logits against the soft 64 x 64 target. The total is the
 * mean over rounds.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sam } from '../../models/sam/sam';
import type { SamPrompt } from '../../models/sam/prompts';
import type { Rng } from '../../util/rng';
import type { SamTrainConfig } from './config';
import type { TrainBatch } from './batch';
import { diceLoss, hardIoU, iouMseLoss, sigmoidFocalLoss } from './losses';
import { sampleErrorPoint } from './prompts';

/** Scalar parts of the loss, for the log (plain numbers). */
export interface SamLossParts {
  loss: number;
  /** Mean over rounds of the mask-0 focal loss (unweighted). */
  focal: number;
  /** Mean over rounds of the mask-0 dice loss. */
  dice: number;
  /** Mean over rounds of the IoU-head MSE. */
  iou: number;
  /** Round-0 loss of the best disambiguation mask (weighted focal + dice), 0 without `multimask`. */
  multimask: number;
  /** Mean hard IoU of mask 0 in each round (shows what re-prompting buys). */
  roundIoU: number[];
}

/** The prompts of the next interactive round: earlier prompt + a corrective point where there is an error. */
function refinePrompts(prev: SamPrompt[], logits: Float32Array, batch: TrainBatch, r: number, S: number, rng: Rng): SamPrompt[] {
  return prev.map((p, i) => {
    const pt = sampleErrorPoint(logits.subarray(i * r * r, (i + 1) * r * r), batch.items[i].target, r, S, rng);
    const points = [...(p.points ?? []), ...(pt ? [pt] : [])];
    const next: SamPrompt = {};
    if (points.length > 0) next.points = points;
    if (p.box) next.box = p.box;
    return next;
  });
}

/**
 * Build the loss function of one batch for `tf.variableGrads`. The returned function computes the
 * scalar loss; its parts are written to `parts` (plain numbers) as a side effect. Sampling of the
 * corrective points draws from `rng`.
 */
export function samLossFn(sam: Sam, batch: TrainBatch, cfg: SamTrainConfig, rng: Rng, parts: { value?: SamLossParts }): () => tf.Scalar {
  const r = sam.maskSize;
  const S = sam.imageSize;
  const n = batch.items.length;
  const imageIndex = batch.items.map((it) => it.imageIndex);
  const targetValues = new Float32Array(n * r * r);
  batch.items.forEach((it, i) => targetValues.set(it.target, i * r * r));
  const W = cfg.loss;
  return () => {
    const targets = tf.tensor3d(targetValues, [n, r, r]); // N x r x r
    const emb = sam.imageEmbed(batch.images); // B x h x w x C
    const imagePe = sam.promptEncoder.getDensePe(); // 1 x h x w x C
    let prompts = batch.items.map((it) => it.first);
    let prevLogits: Float32Array | null = null;
    const roundTotals: tf.Scalar[] = [];
    const stats = { focal: 0, dice: 0, iou: 0, multimask: 0, roundIoU: [] as number[] };
    const numRounds = 1 + cfg.prompts.refineRounds + (cfg.prompts.maskOnlyRound ? 1 : 0);
    for (let k = 0; k < numRounds; k++) {
      const maskOnly = cfg.prompts.maskOnlyRound && k === numRounds - 1 && k > 0;
      if (k > 0) prompts = maskOnly ? prompts.map(() => ({})) : refinePrompts(prompts, prevLogits!, batch, r, S, rng);
      const maskInput = k > 0 ? tf.tensor4d(prevLogits!, [n, r, r, 1]) : undefined; // N x r x r x 1, no gradient path
      const emb2 = sam.encodePrompts(prompts, maskInput);
      const dec = sam.maskDecoder.predictMasks({
        imageEmbeddings: emb, imagePe, sparsePromptEmbeddings: emb2.sparse, densePromptEmbeddings: emb2.dense, multimaskOutput: true, imageIndex,
      });
      const M = dec.masks.shape[1];
      const mask0 = dec.masks.slice([0, 0, 0, 0], [n, 1, r, r]).reshape([n, r, r]); // N x r x r
      const focal0 = sigmoidFocalLoss(mask0, targets, { alpha: W.focalAlpha, gamma: W.focalGamma }).mean() as tf.Scalar;
      const dice0 = diceLoss(mask0, targets).mean() as tf.Scalar;
      const allMasks = dec.masks.reshape([n * M, r, r]); // N*M x r x r
      const tiled = tf.tile(targets.expandDims(1), [1, M, 1, 1]).reshape([n * M, r, r]); // N*M x r x r
      const actualIoU = hardIoU(allMasks, tiled).reshape([n, M]); // N x M, constant
      const iouMse = iouMseLoss(dec.iouPred, actualIoU).mean() as tf.Scalar;
      let total = focal0.mul(W.focal).add(dice0.mul(W.dice)).add(iouMse.mul(W.iou)) as tf.Scalar;
      if (k === 0 && cfg.prompts.multimask && M > 1) {
        const multi = dec.masks.slice([0, 1, 0, 0], [n, M - 1, r, r]).reshape([n * (M - 1), r, r]); // N*(M-1) x r x r
        const tgt = tf.tile(targets.expandDims(1), [1, M - 1, 1, 1]).reshape([n * (M - 1), r, r]); // N*(M-1) x r x r (a constant: tile's slow gradient is never taken)
        const per = sigmoidFocalLoss(multi, tgt, { alpha: W.focalAlpha, gamma: W.focalGamma }).mul(W.focal).add(diceLoss(multi, tgt).mul(W.dice)).reshape([n, M - 1]); // N x (M-1)
        const values = per.arraySync() as number[][];
        const onehot = new Float32Array(n * (M - 1));
        values.forEach((row, i) => (onehot[i * (M - 1) + row.indexOf(Math.min(...row))] = 1));
        const best = per.mul(tf.tensor2d(onehot, [n, M - 1])).sum().div(n) as tf.Scalar;
        stats.multimask = best.dataSync()[0];
        total = total.add(best) as tf.Scalar;
      }
      roundTotals.push(total);
      stats.focal += focal0.dataSync()[0] / numRounds;
      stats.dice += dice0.dataSync()[0] / numRounds;
      stats.iou += iouMse.dataSync()[0] / numRounds;
      const a = actualIoU.arraySync() as number[][];
      stats.roundIoU.push(a.reduce((s, row) => s + row[0], 0) / n);
      if (k + 1 < numRounds) prevLogits = Float32Array.from(mask0.dataSync());
    }
    const loss = tf.addN(roundTotals).div(numRounds) as tf.Scalar;
    parts.value = { loss: loss.dataSync()[0], ...stats };
    return loss;
  };
}
