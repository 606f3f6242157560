/**
 * Vision tokens for the policy (LLaVA-style): a trainable projector over the FROZEN mini-SAM image
 * embedding, joined by a small patch tower of the policy's own (tower.ts).
 *
 * The mini-SAM embedding is the frozen visual feature that both the policy and (in CoPRS) the
 * heatmap head read, as LLaVA reads a frozen CLIP and as the paper precomputes its SAM ViT-H
 * features offline (appendix B.1). Because the encoder is frozen, its embedding is computed once per
 * image and cached (`EmbeddingCache`), and a group of G rollouts of one prompt shares it. It is not
 * enough on its own to name objects (see below and tower.ts), hence the tower: four stride-2
 * convolutions and two residual ones on the token grid.
 *
 * Pixels in the image input (`vision.pixelPool`): the encoder's own normalized input, average-pooled
 * by `pixelPool` and regrouped per embedding cell, travels with the embedding (so the cache, the
 * generator and the G rollouts of a prompt share one tensor). With pool 1 (every preset) it is the
 * whole image, which the policy's own patch tower (tower.ts) reads: the mini-SAM embedding is nearly
 * colour-blind (segmentation needs boundaries, not hue) and, being local, cannot tell a shape from
 * inside it. Without a tower (`vision.tower: []`) the pooled pixels are stacked on each cell instead
 * (pool 4: 2×2 px × RGB = 12 values per 8×8-px cell, the earlier colour side channel).
 *
 * Shapes (small preset): E [B, 16, 16, C] → RMSNorm over C → pool 2×2 windows to an 8×8 grid
 * ('concat': Qwen2.5-VL's patch merger stacks each window's 4 cells → 4C; 'avg': mean) ‖ tower
 * features [B, 8, 8, 96] → Linear → GELU → Linear to d → + learned 2-D position embedding
 * (row + column) → [B, 64, d].
 */
import * as tf from '@tensorflow/tfjs';
import { Params, normal } from '../../nn/params';
import { Linear, RMSNorm, gelu } from '../../nn/layers';
import type { RGBImage } from '../../data/sample';
import { SAM_PIXEL_MEAN, SAM_PIXEL_STD, preprocessImages } from '../../io/preprocess';
import type { PolicyConfig } from './config';
import { PatchTower, pixelsToImage } from './tower';

/** The frozen image encoder the policy reads (the mini-SAM's, or a stub in tests). */
export interface ImageEncoderLike {
  /** Channels C of the embedding. */
  embedDim: number;
  /** Side of the embedding grid (16 in the kit). */
  gridSize: number;
  /** [B, 128, 128, 3] float in the SAM input convention → [B, gridSize, gridSize, C]. */
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** Images → the encoder's input [B, S, S, 3] (default: `samInputBatch`, the kit's SAM convention). */
  preprocess?(images: RGBImage[]): tf.Tensor4D;
}

/** The encoder side of a mini-SAM (anything with `preprocess`, `imageEmbed`, `embedDim`, `embedSize`). */
export interface SamLike {
  embedDim: number;
  embedSize: number;
  preprocess(images: RGBImage[]): { tensor: tf.Tensor4D };
  imageEmbed(x: tf.Tensor4D): tf.Tensor4D;
}

/** A mini-SAM's (frozen) image encoder as the policy's `ImageEncoderLike`. */
export function samImageEncoder(sam: SamLike): ImageEncoderLike {
  return {
    embedDim: sam.embedDim,
    gridSize: sam.embedSize,
    apply: (x) => sam.imageEmbed(x),
    preprocess: (images) => sam.preprocess(images).tensor,
  };
}

/** The encoder input of a batch of images. */
export function encoderInput(encoder: ImageEncoderLike, images: RGBImage[], imageSize = 128): tf.Tensor4D {
  return encoder.preprocess ? encoder.preprocess(images) : samInputBatch(images, imageSize);
}

/** Channels the colour side channel adds to each embedding cell (0 when off). */
export function pixelChannels(cfg: PolicyConfig, gridSize: number): number {
  const { pixelPool, imageSize } = cfg.vision;
  if (pixelPool === 0) return 0;
  const cell = imageSize / gridSize;
  if (!Number.isInteger(cell) || cell % pixelPool !== 0) throw new Error(`vision: pixelPool ${pixelPool} must divide the encoder's cell size ${imageSize}/${gridSize}`);
  return (cell / pixelPool) ** 2 * 3;
}

/**
 * The policy's image input: the encoder embedding E [B, g, g, C] with the colour side channel
 * stacked on (`pixelPool` > 0): the encoder input x [B, S, S, 3] average-pooled by `pixelPool` and
 * regrouped per embedding cell → [B, g, g, C + P].
 */
export function withPixelChannel(e: tf.Tensor4D, x: tf.Tensor4D, pixelPool: number): tf.Tensor4D {
  if (pixelPool === 0) return e;
  return tf.tidy(() => {
    const [B, g] = e.shape;
    const S = x.shape[1];
    const k = S / g / pixelPool; // pooled pixels per cell side
    if (!Number.isInteger(k) || x.shape[2] !== S) throw new Error(`vision: the encoder input [${x.shape}] does not tile the ${g}×${g} embedding with pixelPool ${pixelPool}`);
    const pooled = tf.avgPool(x, pixelPool, pixelPool, 'valid'); // B x S/pool x S/pool x 3
    const cells = pooled.reshape([B, g, k, g, k, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, g, g, k * k * 3]); // B x g x g x P
    return tf.concat([e, cells], -1) as tf.Tensor4D; // B x g x g x (C + P)
  });
}

export class VisionProjector {
  readonly norm: RMSNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly rowEmbed: tf.Variable;
  readonly colEmbed: tf.Variable;
  /** Pool window side (gridSize / tokenGrid). */
  readonly window: number;
  readonly tokens: number;
  /** Pixel channels per cell in the image input (0: none). */
  readonly pixels: number;
  /** The policy's own patch tower (tower.ts), or null. */
  readonly tower: PatchTower | null;

  constructor(p: Params, readonly cfg: PolicyConfig, readonly embedDim: number, readonly gridSize: number) {
    const t = cfg.vision.tokenGrid;
    if (gridSize % t !== 0) throw new Error(`vision: the encoder grid (${gridSize}) must be a multiple of policy.vision.tokenGrid (${t})`);
    this.window = gridSize / t;
    this.tokens = t * t;
    this.pixels = pixelChannels(cfg, gridSize);
    this.tower = cfg.vision.tower.length > 0 ? new PatchTower(p.scope('tower'), cfg.vision.imageSize, t, cfg.vision.tower, cfg.vision.towerBlocks) : null;
    // With a tower the pixels go to the tower only; without, they are stacked on each cell.
    const cellDim = embedDim + (this.tower ? 0 : this.pixels);
    const inDim = (cfg.vision.pool === 'concat' ? this.window * this.window * cellDim : cellDim) + (this.tower?.outDim ?? 0);
    const hidden = cfg.vision.projectorHidden || cfg.dim;
    this.norm = new RMSNorm(p.scope('norm'), embedDim, cfg.normEps);
    this.fc1 = new Linear(p.scope('fc1'), inDim, hidden);
    this.fc2 = new Linear(p.scope('fc2'), hidden, cfg.dim);
    this.rowEmbed = p.add('rowEmbed', [t, cfg.dim], normal(cfg.initStd));
    this.colEmbed = p.add('colEmbed', [t, cfg.dim], normal(cfg.initStd));
  }

  /** Image input [B, g, g, C (+ P)] (`PolicyModel.embedImages`) → vision tokens [B, t·t, d] (row-major over the token grid). */
  apply(e: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, g, g2, CP] = e.shape;
      const C = this.embedDim;
      if (g !== this.gridSize || g2 !== this.gridSize || CP !== C + this.pixels) {
        throw new Error(`vision: expected an image input [B, ${this.gridSize}, ${this.gridSize}, ${C + this.pixels}] (embedding ${C}${this.pixels ? ` + ${this.pixels} pixel channels; use PolicyModel.embedImages` : ''}), got [${e.shape}]`);
      }
      const t = this.cfg.vision.tokenGrid;
      const w = this.window;
      let x: tf.Tensor = this.norm.apply(this.pixels ? e.slice([0, 0, 0, 0], [-1, -1, -1, C]) : e); // B x g x g x C
      const px = this.pixels ? (e.slice([0, 0, 0, C], [-1, -1, -1, this.pixels]) as tf.Tensor4D) : null; // B x g x g x P
      if (px && !this.tower) x = tf.concat([x, px], -1); // B x g x g x (C + P)
      const D = x.shape[3]!;
      let pooled: tf.Tensor;
      if (this.cfg.vision.pool === 'concat') {
        pooled = x.reshape([B, t, w, t, w, D]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, t * t, w * w * D]); // B x tt x wwD
      } else {
        pooled = x.reshape([B, t, w, t, w, D]).mean([2, 4]).reshape([B, t * t, D]); // B x tt x D
      }
      if (this.tower) {
        const f = this.tower.apply(pixelsToImage(px!)); // B x t x t x Dt
        pooled = tf.concat([pooled, f.reshape([B, t * t, this.tower.outDim])], -1); // B x tt x (wwD + Dt)
      }
      const h = this.fc2.apply(gelu(this.fc1.apply(pooled))); // B x tt x d
      const pos = this.rowEmbed.reshape([t, 1, -1]).add(this.colEmbed.reshape([1, t, -1])).reshape([1, t * t, -1]); // 1 x tt x d
      return h.add(pos) as tf.Tensor3D;
    });
  }
}

/** Images → [B, S, S, 3] in the SAM input convention (longest side to S, SAM pixel normalisation, zero padding). */
export function samInputBatch(images: RGBImage[], size = 128): tf.Tensor4D {
  return preprocessImages(images, size, { normalize: { mean: SAM_PIXEL_MEAN, std: SAM_PIXEL_STD } }).tensor;
}

/**
 * A frozen, randomly initialized stand-in for the mini-SAM encoder (tests and development only):
 * 8×8 patches → Linear(192 → C) → GELU → Linear(C → C). It keeps colors and coarse shapes, which
 * is enough to exercise the policy; the shipped policy reads the shipped mini-SAM.
 */
export class StubImageEncoder implements ImageEncoderLike {
  readonly params: Params;
  private readonly fc1: Linear;
  private readonly fc2: Linear;
  readonly patch: number;

  constructor(readonly embedDim = 64, readonly gridSize = 16, readonly imageSize = 128, seed = 1) {
    if (imageSize % gridSize !== 0) throw new Error(`StubImageEncoder: imageSize ${imageSize} must be a multiple of gridSize ${gridSize}`);
    this.patch = imageSize / gridSize;
    this.params = Params.create(seed);
    const inDim = this.patch * this.patch * 3;
    this.fc1 = new Linear(this.params.scope('fc1'), inDim, embedDim);
    this.fc2 = new Linear(this.params.scope('fc2'), embedDim, embedDim);
    this.params.setTrainable(false);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, H, W] = x.shape;
      if (H !== this.imageSize || W !== this.imageSize) throw new Error(`StubImageEncoder: expected [B, ${this.imageSize}, ${this.imageSize}, 3], got [${x.shape}]`);
      const g = this.gridSize;
      const p = this.patch;
      const patches = x.reshape([B, g, p, g, p, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, g, g, p * p * 3]);
      return this.fc2.apply(gelu(this.fc1.apply(patches))) as tf.Tensor4D;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * Image embeddings of a frozen encoder, computed in batches and cached by key (sample id). The
 * cache owns its tensors: `dispose()` frees them; `get` returns a new tensor the caller disposes.
 */
export class EmbeddingCache {
  private readonly map = new Map<string, tf.Tensor3D>();
  constructor(readonly encoder: ImageEncoderLike, readonly opts: { imageSize?: number; batch?: number; maxEntries?: number; pixelPool?: number } = {}) {}

  get size(): number {
    return this.map.size;
  }

  /** Embeddings [B, g, g, C] of the images (computed for keys not yet cached). */
  embed(keys: string[], images: RGBImage[]): tf.Tensor4D {
    if (keys.length !== images.length) throw new Error(`EmbeddingCache.embed: ${keys.length} keys for ${images.length} images`);
    const missing: number[] = [];
    keys.forEach((k, i) => {
      if (!this.map.has(k) && !missing.some((j) => keys[j] === k)) missing.push(i);
    });
    const bs = this.opts.batch ?? 32;
    for (let s = 0; s < missing.length; s += bs) {
      const idx = missing.slice(s, s + bs);
      const out = tf.tidy(() => {
        const x = encoderInput(this.encoder, idx.map((i) => images[i]), this.opts.imageSize);
        return withPixelChannel(this.encoder.apply(x), x, this.opts.pixelPool ?? 0);
      });
      const parts = tf.unstack(out) as tf.Tensor3D[];
      out.dispose();
      idx.forEach((i, j) => this.map.set(keys[i], parts[j]));
    }
    const result = tf.tidy(() => tf.stack(keys.map((k) => this.map.get(k)!)) as tf.Tensor4D);
    const max = this.opts.maxEntries ?? Infinity;
    while (this.map.size > max) {
      const first = this.map.keys().next().value as string;
      this.map.get(first)!.dispose();
      this.map.delete(first);
    }
    return result;
  }

  dispose(): void {
    for (const t of this.map.values()) t.dispose();
    this.map.clear();
  }
}

/**
 * Embeddings of images without caching (the caller disposes the result), with the colour side
 * channel when `pixelPool` > 0 (`PolicyModel.embedImages` passes the policy's).
 */
export function embedImages(encoder: ImageEncoderLike, images: RGBImage[], opts: { imageSize?: number; batch?: number; pixelPool?: number } = {}): tf.Tensor4D {
  const bs = opts.batch ?? 32;
  const parts: tf.Tensor4D[] = [];
  for (let s = 0; s < images.length; s += bs) {
    parts.push(tf.tidy(() => {
      const x = encoderInput(encoder, images.slice(s, s + bs), opts.imageSize);
      return withPixelChannel(encoder.apply(x), x, opts.pixelPool ?? 0);
    }));
  }
  if (parts.length === 1) return parts[0];
  const out = tf.concat(parts, 0) as tf.Tensor4D;
  parts.forEach((p) => p.dispose());
  return out;
}
