/**
 * The policy's decoder-only transformer (LLaMA/Qwen2 style): pre-norm blocks of RMSNorm → causal
 * multi-head attention with rotary position embeddings (RoPE) → residual, RMSNorm → SwiGLU MLP →
 * residual; a final RMSNorm. Linear layers have no bias. The q/k/v projections are one fused
 * Linear and the SwiGLU gate/up projections another, so a step runs few, larger ops (per-op
 * overhead dominates tiny tensors on CPU backends).
 *
 * Every sequence carries its own position ids, and attention takes an additive bias
 * [B, 1, T, S] (causal + key padding), so padded batches compute exactly what each unpadded sequence
 * would. `forward` optionally reads and extends a key/value cache (one [B, H, S, dh] pair per layer).
 */
import * as tf from '@tensorflow/tfjs';
import { Params, normal } from '../../nn/params';
import { Linear, RMSNorm, silu } from '../../nn/layers';
import { batchMatMul } from './bmm';
import { attentionCore, useAttentionCore } from './attention-core';
import { decodeAttention, useDecodeAttention } from './decode-attention';
import type { PolicyConfig } from './config';

/** Additive attention bias of masked entries. */
export const MASKED = -1e9;

/** One layer's cached keys and values, [B, H, S, dh] each. */
export interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}
export type KVCache = LayerCache[];

/**
 * Rotary position embedding, "rotate half" convention (HF LLaMA/Qwen2): x·cos + rotateHalf(x)·sin
 * with frequencies θ^(−2i/dh) repeated over both halves. rotateHalf is a fixed [dh, dh] matrix, so
 * it is one matmul instead of split/negate/concat.
 */
export class Rope {
  readonly cos: tf.Tensor2D; // maxLen x dh
  readonly sin: tf.Tensor2D; // maxLen x dh
  readonly rot: tf.Tensor2D; // dh x dh: x · rot = [−x2, x1]

  constructor(readonly headDim: number, readonly maxLen: number, theta: number) {
    const half = headDim / 2;
    const cos = new Float32Array(maxLen * headDim);
    const sin = new Float32Array(maxLen * headDim);
    for (let p = 0; p < maxLen; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * Math.pow(theta, (-2 * i) / headDim);
        cos[p * headDim + i] = cos[p * headDim + i + half] = Math.cos(a);
        sin[p * headDim + i] = sin[p * headDim + i + half] = Math.sin(a);
      }
    }
    const rot = new Float32Array(headDim * headDim);
    for (let i = 0; i < half; i++) {
      rot[(i + half) * headDim + i] = -1; // out[i] = −x[i + half]
      rot[i * headDim + i + half] = 1; // out[i + half] = x[i]
    }
    this.cos = tf.tensor2d(cos, [maxLen, headDim]);
    this.sin = tf.tensor2d(sin, [maxLen, headDim]);
    this.rot = tf.tensor2d(rot, [headDim, headDim]);
  }

  /** cos and sin for position ids [B, T] → [B, 1, T, dh] each. */
  tables(positions: tf.Tensor2D): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
    return tf.tidy(() => {
      const [B, T] = positions.shape;
      const flat = positions.reshape([-1]);
      const cos = tf.gather(this.cos, flat).reshape([B, 1, T, this.headDim]) as tf.Tensor4D;
      const sin = tf.gather(this.sin, flat).reshape([B, 1, T, this.headDim]) as tf.Tensor4D;
      return { cos, sin };
    });
  }

  /** x [B, H, T, dh] rotated by the tables from `tables`. */
  apply(x: tf.Tensor4D, t: { cos: tf.Tensor4D; sin: tf.Tensor4D }): tf.Tensor4D {
    return tf.tidy(() => {
      const [B, H, T, dh] = x.shape;
      const rotated = tf.matMul(x.reshape([-1, dh]), this.rot).reshape([B, H, T, dh]);
      return x.mul(t.cos).add(rotated.mul(t.sin)) as tf.Tensor4D;
    });
  }

  dispose(): void {
    this.cos.dispose();
    this.sin.dispose();
    this.rot.dispose();
  }
}

export class Attention {
  readonly qkv: Linear;
  readonly out: Linear;
  readonly headDim: number;

  constructor(p: Params, readonly cfg: PolicyConfig) {
    const d = cfg.dim;
    this.headDim = d / cfg.heads;
    this.qkv = new Linear(p.scope('qkv'), d, 3 * d, { bias: false, init: normal(cfg.initStd) });
    this.out = new Linear(p.scope('out'), d, d, { bias: false, init: normal(cfg.initStd / Math.sqrt(2 * cfg.layers)) });
  }

  /**
   * x [B, T, d], rope tables of the T new positions, bias [B, 1, T, S] with S = cached + T.
   * Returns the output [B, T, d] and this layer's cache extended by the T new keys/values.
   */
  apply(x: tf.Tensor3D, rope: Rope, tables: { cos: tf.Tensor4D; sin: tf.Tensor4D }, bias: tf.Tensor4D, cache?: LayerCache, opts: { returnProbs?: boolean } = {}): { y: tf.Tensor3D; cache: LayerCache; probs?: tf.Tensor4D } {
    const out = tf.tidy(() => {
      const [B, T, d] = x.shape;
      const H = this.cfg.heads;
      const dh = this.headDim;
      // Three products, then one rank-4 transpose per part: the wasm backend's rank-5 Transpose runs at
      // ~70 ns per element (167 ms for [16, 310, 3, 4, 32]), the rank-4 one ~100× faster.
      const heads = (t: tf.Tensor) => t.reshape([B, T, H, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // B x H x T x dh
      const [q0, k0, v] = this.qkv.applySplit(x, 3).map(heads); // B x H x T x dh each
      const q = rope.apply(q0, tables).mul(1 / Math.sqrt(dh)) as tf.Tensor4D; // scaled here: B·H·T·dh values, not B·H·T·S
      const kNew = rope.apply(k0, tables);
      const k = cache ? (tf.concat([cache.k, kNew], 2) as tf.Tensor4D) : kNew; // B x H x S x dh
      const vv = cache ? (tf.concat([cache.v, v], 2) as tf.Tensor4D) : v; // B x H x S x dh
      const S = k.shape[2];
      let o: tf.Tensor;
      let probs: tf.Tensor | null = null;
      if (opts.returnProbs) {
        // The attention probabilities are asked for (CR-Seg's attention maps): the plain path, which has them.
        const scores = batchMatMul(q, k, false, true).add(bias); // B x H x T x S
        probs = tf.softmax(scores); // B x H x T x S
        o = batchMatMul(probs as tf.Tensor4D, vv).transpose([0, 2, 1, 3]).reshape([B, T, d]); // B x T x d
      } else if (cache && useDecodeAttention(T)) {
        o = decodeAttention(q, k, vv, bias); // B x 1 x d (wasm decode step: broadcast products instead of batched matmuls)
      } else if (useAttentionCore(B, H, T, S, dh)) {
        o = attentionCore(q, k, vv, bias); // B x T x d (wasm: one op, scores kept in the convolution's layout)
      } else {
        const scores = batchMatMul(q, k, false, true).add(bias); // B x H x T x S
        const attn = tf.softmax(scores); // B x H x T x S
        o = batchMatMul(attn, vv).transpose([0, 2, 1, 3]).reshape([B, T, d]); // B x T x d
      }
      return probs ? { y: this.out.apply(o), k, v: vv, probs } : { y: this.out.apply(o), k, v: vv };
    });
    const res: { y: tf.Tensor3D; cache: LayerCache; probs?: tf.Tensor4D } = { y: out.y as tf.Tensor3D, cache: { k: out.k as tf.Tensor4D, v: out.v as tf.Tensor4D } };
    if ((out as { probs?: tf.Tensor }).probs) res.probs = (out as { probs?: tf.Tensor }).probs as tf.Tensor4D;
    return res;
  }
}

/** SwiGLU MLP: down(silu(gate(x)) · up(x)), gate and up fused in one Linear. */
export class SwiGLU {
  readonly gateUp: Linear;
  readonly down: Linear;
  constructor(p: Params, readonly cfg: PolicyConfig) {
    this.gateUp = new Linear(p.scope('gateUp'), cfg.dim, 2 * cfg.mlpHidden, { bias: false, init: normal(cfg.initStd) });
    this.down = new Linear(p.scope('down'), cfg.mlpHidden, cfg.dim, { bias: false, init: normal(cfg.initStd / Math.sqrt(2 * cfg.layers)) });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [g, u] = this.gateUp.applySplit(x, 2); // ... x hidden each
      return this.down.apply(silu(g).mul(u));
    });
  }
}

export class Block {
  readonly attnNorm: RMSNorm;
  readonly attn: Attention;
  readonly mlpNorm: RMSNorm;
  readonly mlp: SwiGLU;
  constructor(p: Params, cfg: PolicyConfig) {
    this.attnNorm = new RMSNorm(p.scope('attnNorm'), cfg.dim, cfg.normEps);
    this.attn = new Attention(p.scope('attn'), cfg);
    this.mlpNorm = new RMSNorm(p.scope('mlpNorm'), cfg.dim, cfg.normEps);
    this.mlp = new SwiGLU(p.scope('mlp'), cfg);
  }

  apply(x: tf.Tensor3D, rope: Rope, tables: { cos: tf.Tensor4D; sin: tf.Tensor4D }, bias: tf.Tensor4D, cache?: LayerCache, opts: { returnProbs?: boolean } = {}): { y: tf.Tensor3D; cache: LayerCache; probs?: tf.Tensor4D } {
    const out = tf.tidy(() => {
      const a = this.attn.apply(this.attnNorm.apply(x) as tf.Tensor3D, rope, tables, bias, cache, opts);
      const h = x.add(a.y);
      const y = h.add(this.mlp.apply(this.mlpNorm.apply(h)));
      return a.probs ? { y, k: a.cache.k, v: a.cache.v, probs: a.probs } : { y, k: a.cache.k, v: a.cache.v };
    });
    const res: { y: tf.Tensor3D; cache: LayerCache; probs?: tf.Tensor4D } = { y: out.y as tf.Tensor3D, cache: { k: out.k as tf.Tensor4D, v: out.v as tf.Tensor4D } };
    if ((out as { probs?: tf.Tensor }).probs) res.probs = (out as { probs?: tf.Tensor }).probs as tf.Tensor4D;
    return res;
  }
}

/** The block stack + final norm (embedding and LM head live in the policy model). */
export class Decoder {
  readonly blocks: Block[];
  readonly finalNorm: RMSNorm;
  readonly rope: Rope;

  constructor(p: Params, readonly cfg: PolicyConfig) {
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new Block(p.scope(`layers.${i}`), cfg));
    this.finalNorm = new RMSNorm(p.scope('finalNorm'), cfg.dim, cfg.normEps);
    this.rope = new Rope(cfg.dim / cfg.heads, cfg.maxSeqLen, cfg.ropeTheta);
  }

  /**
   * x [B, T, d] (embedded new tokens), positions [B, T] int32, bias [B, 1, T, S]; with a cache of
   * S − T earlier positions. Returns the final-norm hidden states [B, T, d] and, with
   * `returnCache`, the extended cache (the caller disposes it); otherwise an empty cache. With
   * `returnAttention`, also the LAST layer's attention probabilities [B, H, T, S] (that layer then
   * runs the plain softmax path; added for CR-Seg's attention maps, off by default).
   */
  apply(x: tf.Tensor3D, positions: tf.Tensor2D, bias: tf.Tensor4D, cache?: KVCache, opts: { returnCache?: boolean; returnAttention?: boolean } = {}): { hidden: tf.Tensor3D; cache: KVCache; attention?: tf.Tensor4D } {
    return tf.tidy(() => {
      const tables = this.rope.tables(positions);
      let h = x;
      const next: KVCache = [];
      let attention: tf.Tensor4D | undefined;
      this.blocks.forEach((b, i) => {
        const last = i === this.blocks.length - 1;
        const r = b.apply(h, this.rope, tables, bias, cache?.[i], { returnProbs: !!opts.returnAttention && last });
        h = r.y;
        next.push(r.cache);
        if (r.probs) attention = r.probs;
      });
      const hidden = this.finalNorm.apply(h) as tf.Tensor3D;
      // Without returnCache the keys/values stay inside this tidy and are freed with it.
      const out: Record<string, unknown> = { hidden, cache: opts.returnCache ? next : [] };
      if (attention) out.attention = attention;
      return out as unknown as tf.TensorContainer;
    }) as unknown as { hidden: tf.Tensor3D; cache: KVCache; attention?: tf.Tensor4D };
  }

  dispose(): void {
    this.rope.dispose();
  }
}

/** Dispose every tensor of a cache. */
export function disposeCache(cache: KVCache | null | undefined): void {
  if (!cache) return;
  for (const c of cache) {
    c.k.dispose();
    c.v.dispose();
  }
}
