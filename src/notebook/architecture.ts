/**
 * Pictures and tables for the architecture walk-through (notebook 03): tensor shapes through one
 * mini-SAM forward pass, masks from box and point prompts, and the two-way transformer's
 * token → image attention maps.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../data/sample';
import type { Sam } from '../models/sam/sam';
import { groundTruthPrompt } from '../models/sam/eval';
import { transformPrompt } from '../models/sam/prompts';
import type { SamPrompt } from '../models/sam/prompts';
import { drawBox, drawPoint, gridPng, heatmapImage, overlayMask, upscale, Tile } from './overlay';

/** A type alias (not an interface) so rows fit `display.table`'s index signature. */
export type ShapeRow = {
  step: string;
  tensor: string;
  shape: string;
};

const fmt = (t: tf.Tensor) => `[${t.shape.join(', ')}]`;

/** Every intermediate shape of one mini-SAM forward pass on `sample` with a prompt. */
export function samShapeTrace(sam: Sam, sample: Sample, prompt: SamPrompt): ShapeRow[] {
  const rows: ShapeRow[] = [];
  const { tensor, infos } = sam.preprocess([sample.image]);
  try {
    tf.tidy(() => {
      rows.push({ step: 'image', tensor: 'RGB, original size', shape: `[${sample.image.height}, ${sample.image.width}, 3]` });
      rows.push({ step: 'preprocess', tensor: 'resized longest side + padded, normalized', shape: fmt(tensor) });
      const emb = sam.imageEmbed(tensor);
      rows.push({ step: 'image encoder', tensor: 'image embedding E', shape: fmt(emb) });
      const inModel = transformPrompt(prompt, infos[0]);
      const pe = sam.encodePrompts([inModel]);
      rows.push({ step: 'prompt encoder', tensor: 'sparse prompt tokens', shape: fmt(pe.sparse) });
      rows.push({ step: 'prompt encoder', tensor: 'dense prompt (noMaskEmbed)', shape: fmt(pe.dense) });
      rows.push({ step: 'prompt encoder', tensor: 'dense positional encoding', shape: fmt(sam.promptEncoder.getDensePe()) });
      const dec = sam.decode(emb, [inModel], { returnAttention: true });
      rows.push({ step: 'mask decoder', tensor: 'mask logits (single-mask mode)', shape: fmt(dec.masks) });
      rows.push({ step: 'mask decoder', tensor: 'IoU prediction', shape: fmt(dec.iouPred) });
      dec.attention?.forEach((a, i) => rows.push({ step: 'two-way transformer', tensor: `token → image attention, ${i < (dec.attention!.length - 1) ? `layer ${i}` : 'final'}`, shape: fmt(a) }));
      const [n, m, r] = dec.masks.shape;
      const low = dec.masks.reshape([n * m, r, r]).slice([0, 0, 0], [1, r, r]).reshape([r, r]) as tf.Tensor2D;
      rows.push({ step: 'postprocess', tensor: 'logits at the original size', shape: fmt(sam.postprocessMasks(low, infos[0])) });
    });
  } finally {
    tensor.dispose();
  }
  return rows;
}

/** For each sample: the ground-truth box prompt and its mask, the interior-point prompt and its mask. */
export async function promptDemoPng(sam: Sam, samples: Sample[]): Promise<Buffer> {
  const tiles: Tile[] = [];
  for (const s of samples) {
    for (const kind of ['box', 'point'] as const) {
      const prompt = groundTruthPrompt(s.mask, kind);
      if (!prompt) continue;
      const [pred] = await sam.predict(s.image, [prompt]);
      let img = overlayMask(s.image, pred.masks[0]);
      if (prompt.box) img = drawBox(img, prompt.box);
      for (const p of prompt.points ?? []) img = drawPoint(img, p.x, p.y);
      tiles.push({ image: img, caption: `${kind} prompt · predicted IoU ${pred.iouPredictions[0].toFixed(2)}` });
    }
  }
  return gridPng(tiles, { columns: 4, scale: 2, captionLines: 2 });
}

/**
 * The mask token's token → image attention (softmax weights over the 16×16 grid) for every layer
 * and head of the two-way transformer, as heatmaps beside the prompted image.
 */
export async function attentionMapsPng(sam: Sam, sample: Sample, prompt: SamPrompt): Promise<Buffer> {
  const { tensor, infos } = sam.preprocess([sample.image]);
  const g = sam.embedSize;
  let maps: { caption: string; values: Float32Array }[] = [];
  try {
    maps = tf.tidy(() => {
      const emb = sam.imageEmbed(tensor);
      const dec = sam.decode(emb, [transformPrompt(prompt, infos[0])], { returnAttention: true });
      const att = dec.attention ?? [];
      const out: { caption: string; values: Float32Array }[] = [];
      att.forEach((a, layer) => {
        const [, heads] = a.shape;
        for (let h = 0; h < heads; h++) {
          // token 1 is the first mask token (token 0 is the IoU token)
          const w = a.slice([0, h, 1, 0], [1, 1, 1, a.shape[3]]).reshape([a.shape[3]]);
          const norm = w.div(w.max().add(1e-12));
          out.push({ caption: `${layer < att.length - 1 ? `layer ${layer}` : 'final'} · head ${h}`, values: norm.dataSync() as Float32Array });
        }
      });
      return out;
    });
  } finally {
    tensor.dispose();
  }
  let img = sample.image;
  if (prompt.box) img = drawBox(img, prompt.box);
  for (const p of prompt.points ?? []) img = drawPoint(img, p.x, p.y);
  const scale = Math.max(1, Math.round(sample.image.width / g));
  const tiles: Tile[] = [{ image: img, caption: sample.query }, ...maps.map((m) => ({ image: upscale(heatmapImage(m.values, g, g), scale), caption: m.caption }))];
  return gridPng(tiles, { columns: 5, scale: 1, captionLines: 2 });
}
