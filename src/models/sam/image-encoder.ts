/**
 * The mini-SAM image encoder, in the place of SAM's `ImageEncoderViT` (segment-anything
 * `modeling/image_encoder.py`), scaled to a CPU: a convolutional stem (stride-2 3x3 convolutions
 * with LayerNorm2d + GELU) replaces the 16x16 patchify so that each cell of the 16 x 16 embedding
 * sees the fine geometry inside its 8 x 8 pixels; then `patchEmbed` (3x3 s2 conv) to the
 * transformer width, a learned absolute `posEmbed`, `depth` pre-norm ViT blocks with global
 * attention (256 tokens: no windows needed), and SAM's `neck` (1x1 conv, LayerNorm2d, 3x3 conv,
 * LayerNorm2d, no biases) to the output channels C.
 *
 *   B x 128 x 128 x 3 ─stem─► B x 32 x 32 x c ─patchEmbed─► B x 16 x 16 x D ─blocks─► ─neck─► B x 16 x 16 x C
 */
import * as tf from '@tensorflow/tfjs';
import { Params, normal } from '../../nn/params';
import { Conv2d, LayerNorm, LayerNorm2d, Linear, gelu } from '../../nn/layers';
import { MLPBlock, checkShape, scaledDotProductAttention } from './common';

export interface ImageEncoderConfig {
  /** Side S of the (padded, square) input image. */
  imgSize: number;
  /** Channels of the stride-2 stem convolutions before the patch embedding (total stride 2^(n+1)). */
  stemChans: number[];
  /** Transformer width D. */
  embedDim: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads per block. */
  numHeads: number;
  /** MLP hidden size = mlpRatio · D. */
  mlpRatio: number;
  /** Output channels C of the neck (= the image embedding's). */
  outChans: number;
}

/** Multi-head self-attention over the B x HW tokens of the grid (fused qkv, as SAM's ViT). */
export class EncoderAttention {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(p: Params, readonly dim: number, readonly numHeads: number) {
    if (dim % numHeads !== 0) throw new Error(`EncoderAttention: numHeads ${numHeads} must divide dim ${dim}`);
    this.qkv = new Linear(p.scope('qkv'), dim, 3 * dim);
    this.proj = new Linear(p.scope('proj'), dim, dim);
  }

  /** B x N x D -> B x N x D */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, n, d] = x.shape;
      const hd = d / this.numHeads;
      const qkv = this.qkv.apply(x); // B x N x 3D
      // B x N x D -> B x heads x N x hd (4-D transposes: wasm's 5-D transpose is slow)
      const heads = (i: number): tf.Tensor => qkv.slice([0, 0, i * d], [b, n, d]).reshape([b, n, this.numHeads, hd]).transpose([0, 2, 1, 3]); // B x heads x N x hd
      const [q, k, v] = [heads(0), heads(1), heads(2)]; // B x heads x N x hd each
      const out = scaledDotProductAttention(q, k, v).out.transpose([0, 2, 1, 3]).reshape([b, n, d]); // B x N x D
      return this.proj.apply(out);
    });
  }
}

/** Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)). */
export class Block {
  readonly norm1: LayerNorm;
  readonly attn: EncoderAttention;
  readonly norm2: LayerNorm;
  readonly mlp: MLPBlock;
  constructor(p: Params, dim: number, numHeads: number, mlpRatio: number) {
    this.norm1 = new LayerNorm(p.scope('norm1'), dim, 1e-6);
    this.attn = new EncoderAttention(p.scope('attn'), dim, numHeads);
    this.norm2 = new LayerNorm(p.scope('norm2'), dim, 1e-6);
    this.mlp = new MLPBlock(p.scope('mlp'), dim, Math.round(dim * mlpRatio), 'gelu');
  }

  /** B x N x D -> B x N x D */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = x.add(this.attn.apply(this.norm1.apply(x)));
      return y.add(this.mlp.apply(this.norm2.apply(y)));
    });
  }
}

export class ImageEncoder {
  readonly stem: { conv: Conv2d; norm: LayerNorm2d }[];
  readonly patchEmbed: Conv2d;
  readonly posEmbed: tf.Variable;
  readonly blocks: Block[];
  readonly neck: { conv1: Conv2d; norm1: LayerNorm2d; conv2: Conv2d; norm2: LayerNorm2d };
  /** Side of the output grid (imgSize / 2^(stemChans.length + 1)). */
  readonly embedSize: number;

  constructor(readonly params: Params, readonly config: ImageEncoderConfig) {
    const p = params;
    const { imgSize, stemChans, embedDim, depth, numHeads, mlpRatio, outChans } = config;
    const stride = 2 ** (stemChans.length + 1);
    if (imgSize % stride !== 0) throw new Error(`ImageEncoder: imgSize ${imgSize} must be divisible by the total stride ${stride} (2^(stemChans.length + 1))`);
    this.embedSize = imgSize / stride;
    this.stem = [];
    let ch = 3;
    stemChans.forEach((c, i) => {
      this.stem.push({ conv: new Conv2d(p.scope(`stem.${i}.conv`), ch, c, 3, { stride: 2, pad: 'same' }), norm: new LayerNorm2d(p.scope(`stem.${i}.norm`), c) });
      ch = c;
    });
    this.patchEmbed = new Conv2d(p.scope('patchEmbed'), ch, embedDim, 3, { stride: 2, pad: 'same' });
    this.posEmbed = p.add('posEmbed', [1, this.embedSize, this.embedSize, embedDim], normal(0.02));
    this.blocks = [];
    for (let i = 0; i < depth; i++) this.blocks.push(new Block(p.scope(`blocks.${i}`), embedDim, numHeads, mlpRatio));
    const neck = p.scope('neck');
    this.neck = {
      conv1: new Conv2d(neck.scope('0'), embedDim, outChans, 1, { pad: 'valid', bias: false }),
      norm1: new LayerNorm2d(neck.scope('1'), outChans),
      conv2: new Conv2d(neck.scope('2'), outChans, outChans, 3, { pad: 'same', bias: false }),
      norm2: new LayerNorm2d(neck.scope('3'), outChans),
    };
  }

  /** Normalized, padded images B x S x S x 3 -> image embeddings B x h x w x C. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const S = this.config.imgSize;
    checkShape(x, [null, S, S, 3], `ImageEncoder input (B x ${S} x ${S} x 3, normalized and padded)`);
    return tf.tidy(() => {
      let y: tf.Tensor4D = x;
      for (const s of this.stem) y = gelu(s.norm.apply(s.conv.apply(y))) as tf.Tensor4D; // B x S/2^i x S/2^i x c_i
      y = this.patchEmbed.apply(y).add(this.posEmbed) as tf.Tensor4D; // B x h x w x D
      const [b, h, w, d] = y.shape;
      let t: tf.Tensor = y.reshape([b, h * w, d]); // B x HW x D
      for (const blk of this.blocks) t = blk.apply(t);
      y = t.reshape([b, h, w, d]) as tf.Tensor4D; // B x h x w x D
      const n = this.neck;
      y = n.norm1.apply(n.conv1.apply(y)) as tf.Tensor4D; // B x h x w x C
      return n.norm2.apply(n.conv2.apply(y)) as tf.Tensor4D; // B x h x w x C
    });
  }
}
