/**
 * One stage-1 batch: scenes from the refshapes train stream, and for each scene `promptsPerImage`
 * instances drawn from *all* its visible instances (not only the query target), each with a soft
 * low-res target and a random first prompt (one positive point or a noisy box).
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, Sample } from '../../data/sample';
import { shapeWorldMeta } from '../../data/shapeworld/make-sample';
import { antialiasWeights } from '../../io/resize';
import { computePreprocessInfo, preprocessMask } from '../../io/preprocess';
import type { Sam } from '../../models/sam/sam';
import type { SamPrompt } from '../../models/sam/prompts';
import type { Rng } from '../../util/rng';
import type { SamTrainConfig } from './config';
import { noisyBox, samplePositivePoint } from './prompts';

/** One prompted instance. */
export interface TrainItem {
  /** Index of its scene in the batch. */
  imageIndex: number;
  /** Instance mask in model-input pixels (S x S, 0/1). */
  mask: BinaryMask;
  /** Soft target r x r in [0, 1] (the mask resized with antialiasing), row-major. */
  target: Float32Array;
  /** The first prompt (model-input pixels). */
  first: SamPrompt;
  kind: 'point' | 'box';
}

export interface TrainBatch {
  /** Normalized, padded images B x S x S x 3 (the caller disposes). */
  images: tf.Tensor4D;
  items: TrainItem[];
}

/** Antialiased (triangle filter) resize of a 0/1 S x S mask to r x r soft values, in plain JS. */
export function softTarget(mask: BinaryMask, r: number): Float32Array {
  const { width: W, height: H, data } = mask;
  const wy = antialiasWeights(H, r); // r x H
  const wx = antialiasWeights(W, r); // r x W
  const tmp = new Float32Array(r * W); // rows resized: r x W
  for (let i = 0; i < r; i++) {
    for (let y = 0; y < H; y++) {
      const a = wy[i * H + y];
      if (a === 0) continue;
      for (let x = 0; x < W; x++) if (data[y * W + x] !== 0) tmp[i * W + x] += a;
    }
  }
  const out = new Float32Array(r * r);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let x = 0; x < W; x++) s += wx[j * W + x] * tmp[i * W + x];
      out[i * r + j] = Math.min(1, Math.max(0, s));
    }
  }
  return out;
}

/** A mask in the model frame (resized longest side to S, padded), 0/1. */
export function toModelFrame(mask: BinaryMask, S: number): BinaryMask {
  if (mask.width === S && mask.height === S) return mask;
  const { tensor } = preprocessMask(mask, S);
  const data = Uint8Array.from(tensor.dataSync());
  tensor.dispose();
  return { width: S, height: S, data };
}

/** Visible instance masks of a ShapeWorld-RS scene with at least `minPixels` pixels (all objects, not only the target). */
export function sceneInstances(sample: Sample, minPixels: number): BinaryMask[] {
  const meta = shapeWorldMeta(sample);
  return meta.instanceMasks.filter((m) => {
    let n = 0;
    for (let i = 0; i < m.data.length; i++) n += m.data[i];
    return n >= minPixels;
  });
}

/** Build a batch: images and prompted instances with their first prompts. */
export function buildTrainBatch(sam: Sam, samples: Sample[], cfg: SamTrainConfig, rng: Rng): TrainBatch {
  const S = sam.imageSize;
  const r = sam.maskSize;
  const items: TrainItem[] = [];
  samples.forEach((s, imageIndex) => {
    const info = computePreprocessInfo(s.image.height, s.image.width, S);
    if (info.validH < 1 || info.validW < 1) throw new Error(`sample ${s.id}: empty image`);
    const instances = sceneInstances(s, cfg.minInstancePixels);
    if (instances.length === 0) return;
    const order = rng.shuffle(instances.map((_, i) => i));
    for (let k = 0; k < cfg.promptsPerImage; k++) {
      const mask = toModelFrame(instances[order[k % order.length]], S);
      const isPoint = rng.bool(cfg.prompts.pointProb);
      let first: SamPrompt;
      if (isPoint) {
        const p = samplePositivePoint(mask, rng);
        if (!p) continue;
        first = { points: [p] };
      } else {
        const box = noisyBox(mask, rng, { noiseFrac: cfg.prompts.boxNoiseFrac, maxNoise: cfg.prompts.boxNoiseMax });
        if (!box) continue;
        first = { box };
      }
      items.push({ imageIndex, mask, target: softTarget(mask, r), first, kind: isPoint ? 'point' : 'box' });
    }
  });
  if (items.length === 0) throw new Error(`no usable instance (>= ${cfg.minInstancePixels} visible pixels) in the ${samples.length} scenes of this batch`);
  const { tensor } = sam.preprocess(samples.map((s) => s.image));
  return { images: tensor, items };
}
