/**
 * Stage 2's auxiliary perception loss: what object each vision token shows.
 *
 * The paper's policy starts from Qwen2.5-VL, whose vision tokens already name what they see; the
 * kit's policy starts from scratch, and reading colours and shapes out of the frozen mini-SAM
 * embedding only through the chain-of-thought loss — a weak signal that must pass through
 * attention — takes most of a CPU training budget before it starts. This term gives every vision
 * token a direct target (LLaVA's stage-1 alignment, with the scene graph as the caption): the
 * colour, shape and size class of the object that covers most of the token's pixels, or
 * "background". A linear head reads them from the decoder's last hidden state at the image
 * positions; its cross-entropy (mean of the three) is added with weight `sft.auxPerception`
 * (0 turns it off). The head (`aux.perception`) is used by nothing else.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../../data/sample';
import { COLORS, SHAPES, SIZES, shapeWorldMeta } from '../../data/shapeworld/index';
import { Params, normal } from '../../nn/params';
import { Linear } from '../../nn/layers';

/** Classes per attribute (the last class of each is "background"). */
export const PERCEPTION_CLASSES = [COLORS.length + 1, SHAPES.length + 1, SIZES.length + 1] as const;
/** Width of the head's output (the three attributes' logits side by side). */
export const PERCEPTION_OUTPUTS = PERCEPTION_CLASSES[0] + PERCEPTION_CLASSES[1] + PERCEPTION_CLASSES[2];

/**
 * Per vision token (row-major over the tokenGrid × tokenGrid grid), the class ids [color, shape,
 * size] of the object with the most visible pixels in the token's image region when it covers at
 * least `minFraction` of it, else background. Null for samples without a ShapeWorld label map.
 */
export function tokenLabels(sample: Sample, tokenGrid: number, minFraction = 1 / 16): Int32Array | null {
  if (!sample.meta || (sample.meta as { generator?: string }).generator !== 'shapeworld-rs') return null;
  const meta = shapeWorldMeta(sample);
  const { width: W, height: H, data } = meta.labelMap;
  const side = Math.max(W, H); // the encoder input is the longest side, padded (top-left aligned)
  const cell = side / tokenGrid;
  const n = meta.scene.objects.length;
  const out = new Int32Array(tokenGrid * tokenGrid * 3);
  const counts = new Int32Array(n + 1);
  for (let r = 0; r < tokenGrid; r++) {
    for (let c = 0; c < tokenGrid; c++) {
      counts.fill(0);
      const y0 = Math.floor(r * cell);
      const y1 = Math.min(H, Math.floor((r + 1) * cell));
      const x0 = Math.floor(c * cell);
      const x1 = Math.min(W, Math.floor((c + 1) * cell));
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) counts[data[y * W + x]]++;
      let best = 0;
      for (let k = 1; k <= n; k++) if (counts[k] > 0 && (best === 0 || counts[k] > counts[best])) best = k;
      const o = (r * tokenGrid + c) * 3;
      if (best > 0 && counts[best] >= minFraction * cell * cell) {
        const obj = meta.scene.objects[best - 1];
        out[o] = COLORS.indexOf(obj.color);
        out[o + 1] = SHAPES.indexOf(obj.shape);
        out[o + 2] = SIZES.indexOf(obj.size);
      } else {
        out[o] = COLORS.length;
        out[o + 1] = SHAPES.length;
        out[o + 2] = SIZES.length;
      }
    }
  }
  return out;
}

/** The linear head of the auxiliary loss, in its own parameter set (`aux.perception.*`). */
export class PerceptionHead {
  readonly params: Params;
  readonly linear: Linear;
  constructor(dim: number, seed: number) {
    this.params = Params.create(seed);
    this.linear = new Linear(this.params.scope('aux').scope('perception'), dim, PERCEPTION_OUTPUTS, { init: normal(0.02) });
  }

  /**
   * Σ over tokens of the mean (over colour, shape, size) cross-entropy, for image-position hidden
   * states h [B, N, d] and labels (B × N × 3 class ids, row-major) — a sum, so halves of a batch add.
   */
  lossSum(h: tf.Tensor3D, labels: Int32Array): tf.Scalar {
    return tf.tidy(() => {
      const [B, N] = h.shape;
      const logits = this.linear.apply(h.reshape([B * N, -1])); // BN x outputs
      const lab = tf.tensor2d(labels, [B * N, 3], 'int32');
      let total: tf.Tensor = tf.scalar(0);
      let off = 0;
      PERCEPTION_CLASSES.forEach((k, a) => {
        const z = logits.slice([0, off], [-1, k]); // BN x k
        const y = tf.oneHot(lab.slice([0, a], [-1, 1]).reshape([-1]), k); // BN x k
        total = total.add(tf.logSoftmax(z).mul(y).sum().neg());
        off += k;
      });
      return total.div(3) as tf.Scalar;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}
