/**
 * The linear read-out of the vision pre-training (stage 1b): from each vision token [d] to the
 * covering classes (colour, shape, size, each with background) and the centre targets (objectness
 * and the centred object's colour, shape, size) of labels.ts. Linear on purpose: what it can read,
 * the decoder's attention can read too. Used only while pre-training (`vision.readout.*`).
 *
 * Loss = mean over tokens of the covering CE (mean of three)
 *      + mean over tokens of the objectness BCE
 *      + mean over centre tokens of the centre attribute CE (mean of three).
 */
import * as tf from '@tensorflow/tfjs';
import { COLORS, SHAPES, SIZES } from '../../data/shapeworld/index';
import { Linear } from '../../nn/layers';
import { Params, normal } from '../../nn/params';
import { PERCEPTION_CLASSES, PERCEPTION_OUTPUTS } from '../sft/perception';
import { CENTRE_FIELDS } from './labels';

const ATTR_CLASSES = [COLORS.length, SHAPES.length, SIZES.length] as const;
const ATTR_OUTPUTS = ATTR_CLASSES[0] + ATTR_CLASSES[1] + ATTR_CLASSES[2];
/** Outputs of the read-out: covering logits, 1 objectness logit, centre attribute logits. */
export const READOUT_OUTPUTS = PERCEPTION_OUTPUTS + 1 + ATTR_OUTPUTS;

export interface ReadoutLoss {
  loss: tf.Scalar;
  covering: tf.Scalar;
  objectness: tf.Scalar;
  centre: tf.Scalar;
}

/** Accuracies on a batch (numbers, host side). */
export interface ReadoutMetrics {
  /** Covering colour / shape / size accuracy on tokens an object covers. */
  coverColor: number;
  coverShape: number;
  coverSize: number;
  /** Objectness: share of tokens classified right (threshold 0.5), and recall of centre tokens. */
  objectAcc: number;
  objectRecall: number;
  /** Centre colour / shape / size accuracy on the true centre tokens, and all three right. */
  centreColor: number;
  centreShape: number;
  centreSize: number;
  centreAll: number;
}

export class VisionReadout {
  readonly params: Params;
  readonly linear: Linear;

  constructor(dim: number, seed: number) {
    this.params = Params.create(seed);
    this.linear = new Linear(this.params.scope('vision').scope('readout'), dim, READOUT_OUTPUTS, { init: normal(0.02) });
  }

  /** Logits [B·N, READOUT_OUTPUTS] of vision tokens [B, N, d]. */
  logits(tokens: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, N] = tokens.shape;
      return this.linear.apply(tokens.reshape([B * N, -1])) as tf.Tensor2D; // BN x outputs
    });
  }

  /** The loss of tokens [B, N, d] against covering labels (B·N × 3) and centre labels (B·N × 4). */
  loss(tokens: tf.Tensor3D, covering: Int32Array, centre: Int32Array): ReadoutLoss {
    const [B, N] = tokens.shape;
    if (covering.length !== B * N * 3 || centre.length !== B * N * CENTRE_FIELDS) {
      throw new Error(`vision readout: labels for ${covering.length / 3} / ${centre.length / CENTRE_FIELDS} tokens, tokens [${tokens.shape}]`);
    }
    const parts = tf.tidy(() => {
      const z = this.logits(tokens); // BN x outputs
      const cov = tf.tensor2d(covering, [B * N, 3], 'int32');
      let coverCe: tf.Tensor = tf.scalar(0);
      let off = 0;
      PERCEPTION_CLASSES.forEach((k, a) => {
        const y = tf.oneHot(cov.slice([0, a], [-1, 1]).reshape([-1]), k); // BN x k
        coverCe = coverCe.add(tf.logSoftmax(z.slice([0, off], [-1, k])).mul(y).sum(1).mean().neg());
        off += k;
      });
      const isC = new Float32Array(B * N);
      for (let i = 0; i < B * N; i++) isC[i] = centre[i * CENTRE_FIELDS];
      const isCentre = tf.tensor1d(isC); // BN
      const obj = tf.losses.sigmoidCrossEntropy(isCentre, z.slice([0, off], [-1, 1]).reshape([-1])) as tf.Scalar;
      off += 1;
      const nCentre = Math.max(1, isC.reduce((a, b) => a + b, 0));
      let centreCe: tf.Tensor = tf.scalar(0);
      ATTR_CLASSES.forEach((k, a) => {
        const ids = new Int32Array(B * N);
        for (let i = 0; i < B * N; i++) ids[i] = Math.max(0, centre[i * CENTRE_FIELDS + 1 + a]);
        const y = tf.oneHot(tf.tensor1d(ids, 'int32'), k).mul(isCentre.expandDims(1)); // BN x k, zero rows off-centre
        centreCe = centreCe.add(tf.logSoftmax(z.slice([0, off], [-1, k])).mul(y).sum().neg().div(nCentre));
        off += k;
      });
      const covering_ = coverCe.div(3) as tf.Scalar;
      const centre_ = centreCe.div(3) as tf.Scalar;
      return { loss: covering_.add(obj).add(centre_) as tf.Scalar, covering: covering_, objectness: obj, centre: centre_ };
    });
    return parts;
  }

  /** Accuracies of tokens [B, N, d] (no gradient). */
  metrics(tokens: tf.Tensor3D, covering: Int32Array, centre: Int32Array): ReadoutMetrics {
    const z = tf.tidy(() => this.logits(tokens));
    const L = z.arraySync() as number[][];
    z.dispose();
    const argmax = (row: number[], off: number, k: number): number => {
      let best = off;
      for (let j = off + 1; j < off + k; j++) if (row[j] > row[best]) best = j;
      return best - off;
    };
    const bg = PERCEPTION_CLASSES.map((k) => k - 1);
    const c = { cover: [0, 0, 0], coverN: 0, obj: 0, rec: 0, recN: 0, attr: [0, 0, 0], all: 0 };
    L.forEach((row, i) => {
      if (covering[i * 3] !== bg[0]) {
        c.coverN++;
        let off = 0;
        PERCEPTION_CLASSES.forEach((k, a) => {
          if (argmax(row, off, k) === covering[i * 3 + a]) c.cover[a]++;
          off += k;
        });
      }
      const isC = centre[i * CENTRE_FIELDS] === 1;
      const pred = row[PERCEPTION_OUTPUTS] > 0;
      if (pred === isC) c.obj++;
      if (isC) {
        c.recN++;
        if (pred) c.rec++;
        let off = PERCEPTION_OUTPUTS + 1;
        let ok = 0;
        ATTR_CLASSES.forEach((k, a) => {
          if (argmax(row, off, k) === centre[i * CENTRE_FIELDS + 1 + a]) {
            c.attr[a]++;
            ok++;
          }
          off += k;
        });
        if (ok === 3) c.all++;
      }
    });
    const r = (a: number, b: number): number => (b > 0 ? a / b : 0);
    return {
      coverColor: r(c.cover[0], c.coverN), coverShape: r(c.cover[1], c.coverN), coverSize: r(c.cover[2], c.coverN),
      objectAcc: r(c.obj, L.length), objectRecall: r(c.rec, c.recN),
      centreColor: r(c.attr[0], c.recN), centreShape: r(c.attr[1], c.recN), centreSize: r(c.attr[2], c.recN), centreAll: r(c.all, c.recN),
    };
  }

  dispose(): void {
    this.params.dispose();
  }
}
