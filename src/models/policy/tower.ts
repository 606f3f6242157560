/**
 * The policy's own patch tower: a small convolutional stack from the image to the vision-token grid.
 *
 * Why a tower next to the frozen mini-SAM embedding: a vision token of the kit is a 16×16-px cell,
 * and a small shape (radius 7–9 px) spreads over up to four of them. Probed per token (80/20 split
 * of 2,800 refshapes training scenes, a 128-unit MLP on each token, 600 steps; `scratch`-style
 * probe described in README), the SAM embedding with the colour side channel reads the covering
 * object's shape right on 85% of object tokens but on only ~30% of the tokens at objects'
 * centroids: inside a shape, a local feature sees a flat colour and no outline. The tower's
 * receptive field (four stride-2 3×3 convolutions, then residual 3×3 convolutions on the token
 * grid: ≈ 95 px) covers whole shapes, so every token of an object can say what the object is —
 * what the chain of thought has to copy out. It is what a pretrained VLM's vision tower brings;
 * ours is trained from scratch in stage 2 (with the perception loss, src/train/sft/perception.ts).
 *
 * Shapes (small preset, channels [24, 48, 64, 96], 2 blocks):
 *   image [B, 128, 128, 3] → conv3×3 s2 + GELU → [B, 64, 64, 24] → … → [B, 8, 8, 96]
 *   → 2 × (x + GELU(conv3×3(x))) → [B, 8, 8, 96]
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../../nn/params';
import { Conv2d, gelu } from '../../nn/layers';

export class PatchTower {
  readonly down: Conv2d[];
  readonly blocks: Conv2d[];
  /** Channels of the output. */
  readonly outDim: number;

  /**
   * `channels`: widths of the stride-2 stages (their number must halve `imageSize` down to
   * `tokenGrid`); `blocks`: residual 3×3 convolutions at the token grid.
   */
  constructor(p: Params, readonly imageSize: number, readonly tokenGrid: number, channels: readonly number[], blocks: number) {
    const stages = Math.log2(imageSize / tokenGrid);
    if (!Number.isInteger(stages) || channels.length !== stages) {
      throw new Error(`policy.vision.tower: ${channels.length} stride-2 stages given, but ${imageSize} → ${tokenGrid} needs log2(${imageSize}/${tokenGrid}) = ${stages}; give that many channel widths`);
    }
    let c = 3;
    this.down = channels.map((w, i) => {
      const conv = new Conv2d(p.scope('down').scope(i), c, w, 3, { stride: 2, pad: 'same' });
      c = w;
      return conv;
    });
    this.blocks = Array.from({ length: blocks }, (_, i) => new Conv2d(p.scope('block').scope(i), c, c, 3, { pad: 'same' }));
    this.outDim = c;
  }

  /** Image [B, S, S, 3] (the encoder's normalized input) → features [B, t, t, outDim]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x;
      for (const conv of this.down) h = gelu(conv.apply(h)) as tf.Tensor4D; // B x S/2^i x S/2^i x c_i
      for (const conv of this.blocks) h = h.add(gelu(conv.apply(h))) as tf.Tensor4D; // B x t x t x c
      return h;
    });
  }
}

/**
 * The image back from the policy's image input: with `pixelPool` 1 the input carries every pixel,
 * regrouped per embedding cell ([B, g, g, k·k·3], k = S/g); this undoes the regrouping → [B, S, S, 3].
 */
export function pixelsToImage(px: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, g, , P] = px.shape;
    const k = Math.round(Math.sqrt(P / 3));
    if (k * k * 3 !== P) throw new Error(`policy tower: ${P} pixel channels per cell are not k·k·3`);
    return px.reshape([B, g, g, k, k, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, g * k, g * k, 3]) as tf.Tensor4D; // B x S x S x 3
  });
}
