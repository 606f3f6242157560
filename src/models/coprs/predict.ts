/**
 * Greedy CoPRS predictions at the images' own size: the response, the positional prior as
 * probabilities and the mask as bits, padding removed and logits resized (DESIGN §1) — what
 * `coprs infer` writes and what the figures of `npm start` and the notebooks draw.
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, RGBImage, Sample } from '../../data/sample';
import { postprocessLogits } from '../../io/postprocess';
import { maskIoU } from '../../metrics/iou';
import { gridPng, heatmapImage, overlayMask, PALETTE, type Tile } from '../../notebook/overlay';
import type { CoprsModel } from './model';

export interface Prediction {
  response: string;
  refPosFound: boolean;
  /** sigmoid(H_prior) at the image's size, row-major [H·W]. */
  priorProb: Float32Array;
  /** The mask (logit ≥ 0) at the image's size. */
  mask: BinaryMask;
  /** The prior thresholded at 0.5 (logit ≥ 0). */
  priorMask: BinaryMask;
}

/** Greedy predictions for images and queries (one batch). */
export function predict(model: CoprsModel, images: RGBImage[], queries: string[], opts: { maxTokens?: number } = {}): Prediction[] {
  const r = model.run(images, queries, { maxTokens: opts.maxTokens });
  try {
    const n = model.maskSize;
    return images.map((img, i) => {
      const [p, m] = tf.tidy(() => {
        const prior = postprocessLogits(r.prior.slice([i, 0, 0, 0], [1, n, n, 1]).reshape([n, n]) as tf.Tensor2D, r.infos[i]); // H x W logits
        const mask = postprocessLogits(r.masks.slice([i, 0, 0], [1, n, n]).reshape([n, n]) as tf.Tensor2D, r.infos[i]); // H x W logits
        return [prior.sigmoid(), mask.greaterEqual(0).toInt()];
      });
      const priorProb = p.dataSync() as Float32Array;
      const bits = Uint8Array.from(m.dataSync());
      tf.dispose([p, m]);
      const priorBits = new Uint8Array(priorProb.length);
      for (let k = 0; k < priorProb.length; k++) priorBits[k] = priorProb[k] >= 0.5 ? 1 : 0;
      return {
        response: r.generation.text[i],
        refPosFound: r.refPosFound[i],
        priorProb,
        mask: { width: img.width, height: img.height, data: bits },
        priorMask: { width: img.width, height: img.height, data: priorBits },
      };
    });
  } finally {
    tf.dispose([r.prior, r.masks]);
  }
}

/** The chain of thought's last sentence (its conclusion), for captions. */
function conclusion(response: string): string {
  const think = response.replace(/^[\s\S]*?<think>/, '').replace(/<\/think>[\s\S]*$/, '');
  const sentences = think.split(/(?<=\.)\s+/).filter((s) => s.trim());
  return sentences[sentences.length - 1] ?? response;
}

/**
 * A figure of samples, three tiles each: the image with the ground truth (red) and the query; the
 * positional prior as a heatmap with its IoU; the mask (blue) with its IoU and the response's
 * conclusion. Returns the PNG and the per-sample IoUs.
 */
export async function predictionGridPng(model: CoprsModel, samples: Sample[], opts: { scale?: number } = {}): Promise<{ png: Buffer; rows: { id: string; priorIoU: number; maskIoU: number; response: string }[] }> {
  const preds = predict(model, samples.map((s) => s.image), samples.map((s) => s.query));
  const tiles: Tile[] = [];
  const rows = samples.map((s, i) => {
    const p = preds[i];
    const priorIoU = maskIoU(p.priorMask, s.mask);
    const mIoU = maskIoU(p.mask, s.mask);
    tiles.push({ image: overlayMask(s.image, s.mask, PALETTE.target), caption: s.query });
    tiles.push({ image: heatmapImage(p.priorProb, s.image.width, s.image.height), caption: `prior IoU ${priorIoU.toFixed(2)}` });
    tiles.push({ image: overlayMask(s.image, p.mask, PALETTE.prediction), caption: `mask IoU ${mIoU.toFixed(2)} · ${conclusion(p.response)}` });
    return { id: s.id, priorIoU, maskIoU: mIoU, response: p.response };
  });
  return { png: await gridPng(tiles, { columns: 3, scale: opts.scale ?? 2, captionLines: 4 }), rows };
}
