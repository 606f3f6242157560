/**
 * SAM's `PositionEmbeddingRandom`: random Fourier features of 2-D positions (Tancik et al.).
 * A fixed Gaussian matrix G (2 x F, N(0, scale²), seeded, never trained) maps a position in
 * [0, 1]² to [sin(2π(2p − 1)G), cos(2π(2p − 1)G)], 2F features. The same encoding serves the
 * dense grid of the image embedding (`forward`) and point / box-corner prompts
 * (`forwardWithCoords`), so prompts and image positions live in one space.
 *
 * G is stored as a non-trainable parameter (SAM registers it as a buffer), so checkpoints carry it.
 */
import * as tf from '@tensorflow/tfjs';
import { Params, zeros } from '../../nn/params';
import { Rng, deriveSeed } from '../../util/rng';

export class PositionEmbeddingRandom {
  /** 2 x numPosFeats, fixed. */
  readonly positionalEncodingGaussianMatrix: tf.Variable;

  constructor(p: Params, readonly numPosFeats: number, seed: number, scale = 1.0) {
    if (!(scale > 0)) scale = 1.0;
    const g = p.add('positionalEncodingGaussianMatrix', [2, numPosFeats], zeros, false);
    const rng = new Rng(deriveSeed(seed, 'PositionEmbeddingRandom'));
    const values = new Float32Array(2 * numPosFeats);
    for (let i = 0; i < values.length; i++) values[i] = scale * rng.normal();
    tf.tidy(() => g.assign(tf.tensor(values, [2, numPosFeats])));
    this.positionalEncodingGaussianMatrix = g;
  }

  /** Positions normalized to [0, 1]², d1 x ... x dn x 2 -> d1 x ... x dn x 2F. */
  peEncoding(coords: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = coords.shape.slice(0, -1);
      let c = coords.mul(2).sub(1).reshape([-1, 2]); // M x 2
      c = tf.matMul(c, this.positionalEncodingGaussianMatrix).mul(2 * Math.PI); // M x F
      return tf.concat([tf.sin(c), tf.cos(c)], -1).reshape([...lead, 2 * this.numPosFeats]); // d1 x ... x dn x 2F
    });
  }

  /** The encoding of every cell center of an h x w grid: h x w x 2F. */
  forward(h: number, w: number): tf.Tensor3D {
    const grid = new Float32Array(h * w * 2);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        grid[(y * w + x) * 2] = (x + 0.5) / w;
        grid[(y * w + x) * 2 + 1] = (y + 0.5) / h;
      }
    }
    return tf.tidy(() => this.peEncoding(tf.tensor(grid, [h, w, 2])) as tf.Tensor3D); // h x w x 2F
  }

  /** Pixel coordinates (x, y) in an image of `imageSize` = [H, W]: B x N x 2 -> B x N x 2F. */
  forwardWithCoords(coords: tf.Tensor, imageSize: [number, number]): tf.Tensor3D {
    return tf.tidy(() => {
      const scale = tf.tensor1d([1 / imageSize[1], 1 / imageSize[0]]); // x by width, y by height
      return this.peEncoding(coords.toFloat().mul(scale)) as tf.Tensor3D; // B x N x 2F
    });
  }
}
