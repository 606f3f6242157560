/**
 * SAM's prompt encoder (segment-anything `modeling/prompt_encoder.py`).
 *
 * - Sparse prompts (points, box corners) → one token each: the random-Fourier encoding of the
 *   position plus a learned embedding of its type: `pointEmbeddings[0]` negative point, `[1]`
 *   positive point, `[2]` box top-left, `[3]` box bottom-right. Padding points (label −1) get
 *   `notAPointEmbed` and no positional encoding. As in SAM, a point-only prompt is padded with one
 *   not-a-point token. Labels 2 and 3 may also be given directly as point labels (SAM 2's
 *   convention), which lets one batch mix point and box prompts (pad shorter rows with −1).
 * - Dense prompts: a mask of logits at 4x the embedding grid (B x 64 x 64 x 1 in the kit) through
 *   `maskDownscaling` (conv 2x2 s2 → LayerNorm2d → GELU → conv 2x2 s2 → LayerNorm2d → GELU →
 *   conv 1x1 → C), or `noMaskEmbed` at every position when there is no mask. Any float logits
 *   are accepted (CoPRS feeds its heatmap prior, −50 outside the valid region).
 *
 * Coordinates are pixels of the model input (S x S, after `preprocess`), x right, y down; the
 * encoder shifts them by 0.5 to pixel centers as SAM does.
 */
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../nn/params';
import { Activation, Conv2d, Embedding, LayerNorm2d, activate } from '../../nn/layers';
import { checkShape, tidy } from './common';
import { PositionEmbeddingRandom } from './position-embedding';

export interface PromptEncoderConfig {
  /** Channel dimension C of the prompt embeddings (= the image embedding's). */
  embedDim: number;
  /** Size [h, w] of the image embedding grid (16 x 16 in the kit). */
  imageEmbeddingSize: [number, number];
  /** Size [H, W] of the padded model input (128 x 128 in the kit). */
  inputImageSize: [number, number];
  /** Hidden channels of the mask path (SAM: 16). */
  maskInChans: number;
  /** Activation of the mask path (SAM: GELU). */
  activation?: Activation;
  /** Seed of the fixed Gaussian matrix of the positional encoding. */
  seed: number;
}

/** Point prompts: coordinates (B x N x 2, pixels x, y) and labels (B x N). */
export interface PointPrompts {
  coords: tf.Tensor;
  /** −1 padding, 0 negative, 1 positive, 2 box top-left, 3 box bottom-right (as tensor or plain rows). */
  labels: tf.Tensor | number[][];
}

export interface PromptInputs {
  points?: PointPrompts;
  /** B x 4 boxes (x0, y0, x1, y1), pixels. */
  boxes?: tf.Tensor;
  /** B x 4h x 4w x 1 mask logits. */
  masks?: tf.Tensor;
}

export interface PromptEmbeddings {
  /** B x N_tokens x C (N_tokens may be 0). */
  sparse: tf.Tensor3D;
  /** B x h x w x C */
  dense: tf.Tensor4D;
}

/** Number of label kinds: −1 (not a point), 0, 1, 2, 3. */
const LABEL_KINDS = 5;

export class PromptEncoder {
  readonly embedDim: number;
  readonly imageEmbeddingSize: [number, number];
  readonly inputImageSize: [number, number];
  readonly maskInputSize: [number, number];
  readonly peLayer: PositionEmbeddingRandom;
  readonly numPointEmbeddings = 4; // pos/neg point + 2 box corners
  readonly pointEmbeddings: Embedding[];
  readonly notAPointEmbed: Embedding;
  readonly maskDownscaling: { conv1: Conv2d; norm1: LayerNorm2d; conv2: Conv2d; norm2: LayerNorm2d; conv3: Conv2d };
  readonly noMaskEmbed: Embedding;
  private readonly act: Activation;

  constructor(readonly params: Params, readonly config: PromptEncoderConfig) {
    const p = params;
    const { embedDim, imageEmbeddingSize, inputImageSize, maskInChans } = config;
    if (embedDim % 2 !== 0) throw new Error(`PromptEncoder: embedDim must be even (half sin, half cos features), got ${embedDim}`);
    if (maskInChans % 4 !== 0) throw new Error(`PromptEncoder: maskInChans must be a multiple of 4, got ${maskInChans}`);
    this.embedDim = embedDim;
    this.imageEmbeddingSize = imageEmbeddingSize;
    this.inputImageSize = inputImageSize;
    this.act = config.activation ?? 'gelu';
    this.peLayer = new PositionEmbeddingRandom(p.scope('peLayer'), embedDim / 2, config.seed);
    this.pointEmbeddings = [];
    for (let i = 0; i < this.numPointEmbeddings; i++) this.pointEmbeddings.push(new Embedding(p.scope(`pointEmbeddings.${i}`), 1, embedDim, { kind: 'normal', std: 1 }));
    this.notAPointEmbed = new Embedding(p.scope('notAPointEmbed'), 1, embedDim, { kind: 'normal', std: 1 });
    this.maskInputSize = [4 * imageEmbeddingSize[0], 4 * imageEmbeddingSize[1]];
    const md = p.scope('maskDownscaling');
    this.maskDownscaling = {
      conv1: new Conv2d(md.scope('0'), 1, maskInChans / 4, 2, { stride: 2, pad: 'valid' }),
      norm1: new LayerNorm2d(md.scope('1'), maskInChans / 4),
      conv2: new Conv2d(md.scope('3'), maskInChans / 4, maskInChans, 2, { stride: 2, pad: 'valid' }),
      norm2: new LayerNorm2d(md.scope('4'), maskInChans),
      conv3: new Conv2d(md.scope('6'), maskInChans, embedDim, 1, { pad: 'valid' }),
    };
    this.noMaskEmbed = new Embedding(p.scope('noMaskEmbed'), 1, embedDim, { kind: 'normal', std: 1 });
  }

  /** The positional encoding of the image embedding grid: 1 x h x w x C. */
  getDensePe(): tf.Tensor4D {
    const [h, w] = this.imageEmbeddingSize;
    return tf.tidy(() => this.peLayer.forward(h, w).expandDims(0) as tf.Tensor4D); // 1 x h x w x C
  }

  /** The type embeddings as one table, rows in label order −1, 0, 1, 2, 3: 5 x C. */
  private labelTable(): tf.Tensor2D {
    return tf.concat([this.notAPointEmbed.table, ...this.pointEmbeddings.map((e) => e.table)], 0) as tf.Tensor2D; // 5 x C
  }

  /** Point tokens: coords B x N x 2, labels B x N -> B x N(+1 when padded) x C. */
  embedPoints(coords: tf.Tensor, labels: tf.Tensor | number[][], pad: boolean): tf.Tensor3D {
    checkShape(coords, [null, null, 2], 'PromptEncoder points.coords (B x N x 2)');
    const [b, n] = coords.shape;
    const rows = labelRows(labels, b, n);
    return tf.tidy(() => {
      let points = coords.toFloat().add(0.5); // Shift to center of pixel
      const m = pad ? n + 1 : n;
      if (pad) points = tf.concat([points, tf.zeros([b, 1, 2])], 1); // B x (N+1) x 2
      const oneHot = new Float32Array(b * m * LABEL_KINDS);
      const isPoint = new Float32Array(b * m);
      for (let i = 0; i < b; i++) {
        for (let j = 0; j < m; j++) {
          const label = j < n ? rows[i][j] : -1;
          oneHot[(i * m + j) * LABEL_KINDS + label + 1] = 1;
          isPoint[i * m + j] = label === -1 ? 0 : 1;
        }
      }
      const pe = this.peLayer.forwardWithCoords(points, this.inputImageSize); // B x M x C
      const typeEmbed = tf.matMul(tf.tensor2d(oneHot, [b * m, LABEL_KINDS]), this.labelTable()).reshape([b, m, this.embedDim]); // B x M x C
      return pe.mul(tf.tensor3d(isPoint, [b, m, 1])).add(typeEmbed) as tf.Tensor3D; // B x M x C
    });
  }

  /** Box tokens: B x 4 (x0, y0, x1, y1) -> B x 2 x C (top-left, bottom-right corners). */
  embedBoxes(boxes: tf.Tensor): tf.Tensor3D {
    checkShape(boxes, [null, 4], 'PromptEncoder boxes (B x 4: x0, y0, x1, y1)');
    return tf.tidy(() => {
      const b = boxes.shape[0];
      const coords = boxes.toFloat().add(0.5).reshape([b, 2, 2]); // B x 2 x 2, shifted to pixel centers
      const corners = this.peLayer.forwardWithCoords(coords, this.inputImageSize); // B x 2 x C
      const cornerEmbed = tf.concat([this.pointEmbeddings[2].table, this.pointEmbeddings[3].table], 0); // 2 x C
      return corners.add(cornerEmbed) as tf.Tensor3D; // B x 2 x C
    });
  }

  /** Mask logits B x 4h x 4w x 1 -> B x h x w x C. */
  embedMasks(masks: tf.Tensor): tf.Tensor4D {
    const [mh, mw] = this.maskInputSize;
    checkShape(masks, [null, mh, mw, 1], `PromptEncoder masks (B x ${mh} x ${mw} x 1 logits)`);
    return tf.tidy(() => {
      const d = this.maskDownscaling;
      let x = d.conv1.apply(masks.toFloat() as tf.Tensor4D); // B x 2h x 2w x maskInChans/4
      x = activate(d.norm1.apply(x), this.act) as tf.Tensor4D;
      x = d.conv2.apply(x); // B x h x w x maskInChans
      x = activate(d.norm2.apply(x), this.act) as tf.Tensor4D;
      return d.conv3.apply(x); // B x h x w x C
    });
  }

  /** SAM's `_get_batch_size`. */
  private batchSize(inputs: PromptInputs): number {
    if (inputs.points) return inputs.points.coords.shape[0];
    if (inputs.boxes) return inputs.boxes.shape[0];
    if (inputs.masks) return inputs.masks.shape[0];
    return 1;
  }

  /**
   * Sparse and dense embeddings of a batch of prompts. Points are padded with one not-a-point token
   * when there are no boxes (SAM), unless `pad` says otherwise.
   */
  apply(inputs: PromptInputs, opts: { pad?: boolean } = {}): PromptEmbeddings {
    const bs = this.batchSize(inputs);
    for (const [name, t] of [['boxes', inputs.boxes], ['masks', inputs.masks]] as const) {
      if (t && t.shape[0] !== bs) throw new Error(`PromptEncoder: ${name} have batch size ${t.shape[0]}, the other prompts ${bs}`);
    }
    const [h, w] = this.imageEmbeddingSize;
    return tidy(() => {
      const parts: tf.Tensor[] = [];
      if (inputs.points) parts.push(this.embedPoints(inputs.points.coords, inputs.points.labels, opts.pad ?? inputs.boxes == null));
      if (inputs.boxes) parts.push(this.embedBoxes(inputs.boxes));
      const sparse = (parts.length === 0 ? tf.zeros([bs, 0, this.embedDim]) : parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor3D; // B x N_tokens x C
      const dense = inputs.masks
        ? this.embedMasks(inputs.masks) // B x h x w x C
        : (tf.zeros([bs, h, w, this.embedDim]).add(this.noMaskEmbed.table.reshape([1, 1, 1, this.embedDim])) as tf.Tensor4D); // B x h x w x C (broadcast: its gradient is a sum, tile's is a loop)
      return { sparse, dense };
    });
  }
}

/** Labels as plain rows, checked: B rows of N integers in −1..3. */
function labelRows(labels: tf.Tensor | number[][], b: number, n: number): number[][] {
  let rows: number[][];
  if (Array.isArray(labels)) rows = labels;
  else {
    checkShape(labels, [b, n], 'PromptEncoder points.labels (B x N)');
    rows = labels.arraySync() as number[][];
  }
  if (rows.length !== b || rows.some((r) => r.length !== n)) {
    throw new Error(`PromptEncoder points.labels: expected ${b} rows of ${n} labels (one per point), got ${rows.length} rows of [${rows.map((r) => r.length).join(', ')}]`);
  }
  for (const r of rows) {
    for (const l of r) {
      if (!Number.isInteger(l) || l < -1 || l > 3) throw new Error(`PromptEncoder points.labels: label ${l} is not one of −1 (padding), 0 (negative), 1 (positive), 2 (box top-left), 3 (box bottom-right)`);
    }
  }
  return rows;
}
