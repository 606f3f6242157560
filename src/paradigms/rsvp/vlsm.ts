/**
 * RSVP's vision-language segmentation module (VLSM), the kit's small version. The paper (summary
 * only, ../shared/papers/003_*) says the VLSM fuses text and visual cues by cross-modal attention and
 * uses the region proposal as a spatial prior; every concrete choice below is THE KIT'S OWN:
 *
 *   query ids ─► own token embedding (vocab × C)                         T [N, Lq, C]
 *   region    ─► the frozen embedding E + its dense positional encoding, cells whose centre lies in
 *               the proposal box (the "crop"; at least the cell under the box centre)   [N, hw, C]
 *   fusion    ─► single-head cross-attention text → region cells (cells outside the box masked),
 *               LayerNorm(T + attn), masked mean over the query tokens, MLP(C, C, C)   ─► one token [N, C]
 *
 * The token joins the box corners (the frozen prompt encoder's box embedding) as the sparse prompt of
 * the mini-SAM mask decoder; the dense prompt is noMaskEmbed. The mask is cut to the box (logits −50
 * outside, `cropOutput`). The text is the user query, not the policy's reasoning: the two stages stay
 * decoupled (RSVP's VLSM has its own text encoder).
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../../nn/params';
import { Embedding, LayerNorm, Linear, MLP } from '../../nn/layers';
import { PAD } from '../../models/policy/tokenizer';
import type { SamBox } from '../../models/sam/prompts';

/** Additive attention bias of cells outside the box. */
const OUTSIDE = -1e9;

/**
 * 1 for cells of a g × g grid over the S × S model frame whose centre lies inside the box (model-frame
 * pixels, inclusive), else 0; a box that holds no centre keeps the cell under its centre. [g·g].
 */
export function boxCellMask(box: SamBox, S: number, g: number): Float32Array {
  const out = new Float32Array(g * g);
  const [x0, y0, x1, y1] = box;
  const cell = S / g;
  let any = false;
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const cx = (j + 0.5) * cell;
      const cy = (i + 0.5) * cell;
      if (cx >= x0 && cx <= x1 + 1 && cy >= y0 && cy <= y1 + 1) {
        out[i * g + j] = 1;
        any = true;
      }
    }
  }
  if (!any) {
    const j = Math.min(g - 1, Math.max(0, Math.floor((x0 + x1 + 1) / 2 / cell)));
    const i = Math.min(g - 1, Math.max(0, Math.floor((y0 + y1 + 1) / 2 / cell)));
    out[i * g + j] = 1;
  }
  return out;
}

/** 1 for pixels of an r × r mask over the S × S frame whose centre lies inside the box (model-frame pixels, inclusive), else 0. [r·r]. */
export function boxPixelMask(box: SamBox, S: number, r: number): Float32Array {
  return boxCellMask(box, S, r);
}

export class VisionLanguageSegModule {
  readonly textEmbed: Embedding;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;
  readonly norm: LayerNorm;
  readonly fuse: MLP;

  constructor(p: Params, vocabSize: number, readonly dim: number) {
    this.textEmbed = new Embedding(p.scope('textEmbed'), vocabSize, dim, { kind: 'normal', std: 0.02 });
    this.qProj = new Linear(p.scope('qProj'), dim, dim);
    this.kProj = new Linear(p.scope('kProj'), dim, dim);
    this.vProj = new Linear(p.scope('vProj'), dim, dim);
    this.outProj = new Linear(p.scope('outProj'), dim, dim);
    this.norm = new LayerNorm(p.scope('norm'), dim);
    this.fuse = new MLP(p.scope('fuse'), [dim, dim, dim], 'relu');
  }

  /**
   * queryIds: N rows of token ids (PAD-padded here); E [N, h, w, C] (row i's image), pe [1, h, w, C],
   * cells [N, h·w] (boxCellMask) → one fused token per row [N, C]. Differentiable.
   */
  apply(queryIds: number[][], E: tf.Tensor4D, pe: tf.Tensor4D, cells: tf.Tensor2D): tf.Tensor2D {
    const [N, h, w, C] = E.shape;
    if (queryIds.length !== N || queryIds.some((q) => q.length === 0)) throw new Error(`VLSM: expected ${N} non-empty query rows, got ${queryIds.length} (lengths ${queryIds.map((q) => q.length).join(', ')})`);
    if (C !== this.dim) throw new Error(`VLSM: image features have ${C} channels, the module ${this.dim}`);
    const Lq = Math.max(...queryIds.map((q) => q.length));
    const ids = new Int32Array(N * Lq).fill(PAD);
    const tm = new Float32Array(N * Lq);
    queryIds.forEach((q, i) => q.forEach((t, j) => {
      ids[i * Lq + j] = t;
      tm[i * Lq + j] = 1;
    }));
    return tf.tidy(() => {
      const T = this.textEmbed.apply(tf.tensor2d(ids, [N, Lq], 'int32')) as tf.Tensor3D; // N x Lq x C
      const region = E.reshape([N, h * w, C]); // N x h x w x C -> N x hw x C
      const regionPe = region.add(pe.reshape([1, h * w, C])); // N x hw x C
      const q = this.qProj.apply(T); // N x Lq x C
      const k = this.kProj.apply(regionPe); // N x hw x C
      const v = this.vProj.apply(region); // N x hw x C
      const bias = tf.scalar(1).sub(cells).mul(OUTSIDE).reshape([N, 1, h * w]); // N x hw -> N x 1 x hw
      const attn = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(C)).add(bias)); // N x Lq x hw
      const fused = this.norm.apply(T.add(this.outProj.apply(tf.matMul(attn, v)))); // N x Lq x C
      const m = tf.tensor2d(tm, [N, Lq]).reshape([N, Lq, 1]); // N x Lq -> N x Lq x 1
      const pooled = fused.mul(m).sum(1).div(m.sum(1)); // N x C
      return this.fuse.apply(pooled) as tf.Tensor2D; // N x C
    });
  }
}
