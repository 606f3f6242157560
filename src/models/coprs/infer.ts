/**
 * `inferCoprs`: one image file and one query → the response, the positional prior as a heatmap PNG,
 * the mask PNG and an overlay, for any image sharp reads (not only ShapeWorld). Greedy decoding,
 * the training forward path, padding removed and logits resized to the original size (DESIGN §1).
 *
 * Nothing is written unless everything succeeded: the image is decoded and the model run first, the
 * files are written into a staging folder beside OUT and then moved in. A corrupt or missing image
 * is an error naming the file (src/io/image.ts), with no output.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BinaryMask } from '../../data/sample';
import { loadImage, saveImagePng, saveMaskPng } from '../../io/image';
import { heatmapImage, overlayMask, PALETTE } from '../../notebook/overlay';
import { checkFormat } from '../../rewards/format';
import { loadCoprs } from './checkpoint';
import { predict } from './predict';
import type { CoprsModel } from './model';

export interface InferResult {
  response: string;
  format: number;
  refPosFound: boolean;
  /** Foreground pixels of the mask and of the prior (logit ≥ 0) at the original size. */
  maskPixels: number;
  priorPixels: number;
  width: number;
  height: number;
  /** Query words the policy's vocabulary lacks: they are read as <unk> (the documented fallback; the CLI warns). */
  unknownWords: string[];
  files: { response: string; prior: string; mask: string; overlay: string };
}

/** Run a CoPRS checkpoint (or a loaded model) on one image file and one query; write OUT/{response.txt, prior.png, mask.png, overlay.png}. */
export async function inferCoprs(ckpt: string | CoprsModel, imageFile: string, query: string, out: string, opts: { maxTokens?: number } = {}): Promise<InferResult> {
  if (typeof query !== 'string' || query.trim() === '') throw new Error('--query: the query is empty; give the text that describes the object to segment');
  const image = await loadImage(imageFile); // throws a clear error for a missing or corrupt file, before anything is written
  const owned = typeof ckpt === 'string' ? loadCoprs(ckpt).model : null;
  const model = owned ?? (ckpt as CoprsModel);
  let response: string;
  let found: boolean;
  let priorProb: Float32Array;
  let maskBits: Uint8Array;
  let priorPixels = 0;
  const unknownWords = [...new Set(model.policy.tokenizer.unknownWords(query))];
  try {
    const [p] = predict(model, [image], [query], { maxTokens: opts.maxTokens });
    response = p.response;
    found = p.refPosFound;
    priorProb = p.priorProb;
    maskBits = p.mask.data;
    for (const v of priorProb) if (v >= 0.5) priorPixels++;
  } finally {
    owned?.dispose();
  }
  const { width, height } = image;
  const mask: BinaryMask = { width, height, data: maskBits };
  const outDir = path.resolve(out);
  const stage = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  const names = { response: 'response.txt', prior: 'prior.png', mask: 'mask.png', overlay: 'overlay.png' };
  fs.mkdirSync(stage, { recursive: true });
  try {
    fs.writeFileSync(path.join(stage, names.response), `${response}\n`);
    await saveImagePng(heatmapImage(priorProb, width, height), path.join(stage, names.prior));
    await saveMaskPng(mask, path.join(stage, names.mask));
    await saveImagePng(overlayMask(image, mask, PALETTE.prediction), path.join(stage, names.overlay));
    fs.mkdirSync(outDir, { recursive: true });
    for (const f of Object.values(names)) fs.renameSync(path.join(stage, f), path.join(outDir, f));
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  const files = Object.fromEntries(Object.entries(names).map(([k, f]) => [k, path.join(outDir, f)])) as InferResult['files'];
  let maskPixels = 0;
  for (const v of maskBits) maskPixels += v;
  return { response, format: checkFormat(response, 'paper').reward, refPosFound: found, maskPixels, priorPixels, width, height, unknownWords, files };
}
