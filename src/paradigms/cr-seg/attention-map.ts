/**
 * CR-Seg's "Extract Attention Maps and Points" (EAP) module, the kit's version. Only the abstract is
 * published (../shared/papers/004_*: "attention maps for coarse target localization and … informative
 * points, both fed into SAM"); EVERY concrete choice here is THE KIT'S OWN:
 *
 * - The map: the policy's LAST-layer attention probabilities from the answer tokens (inside
 *   `<answer>…</answer>`) over the image tokens, averaged over heads and over those tokens, then
 *   renormalised over the image tokens (sum 1) → a g × g map over the policy's token grid
 *   (row-major, as the vision tokens; g = policy.vision.tokenGrid: 8 for `small`).
 * - The dense prompt: log(g²·A) — the log-ratio of the attention to uniform (0 where a cell gets its
 *   share) — bilinearly resized to the mask-prompt size r × r, times a learned scale plus a learned
 *   bias (init 1 and 0), −50 outside the unpadded region (as CoPRS's prior), through the frozen
 *   prompt encoder's mask_downscaling.
 * - The points: greedy top-k cells (k = `points.count`), a cell is taken if its value is at least
 *   `minRatio` × the map's maximum and it is more than `suppress` cells (Chebyshev) from every cell
 *   already taken, only cells whose centre is inside the unpadded image; at least one point; each is
 *   a positive point at its cell's centre in model-input pixels.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * imageAttention [B, R, H, N] (last layer, response tokens × heads × image tokens), rowWeights [B, R]
 * (1 for the answer tokens) → the map [B, N], each row summing to 1.
 */
export function attentionMap(imageAttention: tf.Tensor4D, rowWeights: tf.Tensor2D, eps = 1e-9): tf.Tensor2D {
  const [B, R, , N] = imageAttention.shape;
  if (rowWeights.shape[0] !== B || rowWeights.shape[1] !== R) throw new Error(`attentionMap: row weights [${rowWeights.shape}] must be [B, R] = [${B}, ${R}]`);
  return tf.tidy(() => {
    const perRow = imageAttention.mean(2); // B x R x N (mean over heads)
    const w = rowWeights.reshape([B, R, 1]); // B x R -> B x R x 1
    const m = perRow.mul(w).sum(1); // B x N
    return m.div(m.sum(1, true).maximum(eps)).reshape([B, N]) as tf.Tensor2D;
  });
}

export interface PointOptions {
  /** Most points per map. */
  count: number;
  /** A cell qualifies when its value ≥ minRatio × the map's maximum. */
  minRatio: number;
  /** Cells within this Chebyshev distance of a chosen cell are skipped. */
  suppress: number;
}

export interface MapPoint {
  /** Row and column of the cell. */
  i: number;
  j: number;
  value: number;
}

/**
 * Greedy top-k cells of one g × g map (row-major values); `allowed` (0/1 per cell, optional) limits
 * the candidates. Ties go to the lower index. At least one point when any cell is allowed.
 */
export function topPoints(map: ArrayLike<number>, g: number, opts: PointOptions, allowed?: ArrayLike<number>): MapPoint[] {
  if (map.length !== g * g) throw new Error(`topPoints: the map has ${map.length} values, a ${g} × ${g} grid needs ${g * g}`);
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`topPoints: count must be a positive integer, got ${opts.count}`);
  const cand = Array.from({ length: g * g }, (_, k) => k).filter((k) => !allowed || allowed[k] > 0);
  if (cand.length === 0) return [];
  cand.sort((a, b) => map[b] - map[a] || a - b);
  const max = map[cand[0]];
  const out: MapPoint[] = [];
  for (const k of cand) {
    if (out.length >= opts.count) break;
    const i = Math.floor(k / g);
    const j = k % g;
    if (out.length > 0 && map[k] < opts.minRatio * max) break;
    if (out.some((p) => Math.max(Math.abs(p.i - i), Math.abs(p.j - j)) <= opts.suppress)) continue;
    out.push({ i, j, value: map[k] });
  }
  return out;
}

/** Centre of cell (i, j) of a g × g grid over the S × S model frame, in model-input pixels. */
export function cellCenter(i: number, j: number, g: number, S: number): { x: number; y: number } {
  return { x: ((j + 0.5) * S) / g, y: ((i + 0.5) * S) / g };
}

/** Cells of a g × g grid whose centre lies inside the unpadded validW × validH region: 0/1 per cell. */
export function validCells(g: number, S: number, validW: number, validH: number): Uint8Array {
  const out = new Uint8Array(g * g);
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) {
    const c = cellCenter(i, j, g, S);
    out[i * g + j] = c.x < validW && c.y < validH ? 1 : 0;
  }
  return out;
}

/** Maps [B, g·g] (sums 1) → prompt logits [B, r, r]: scale · resize(log(g²·A + eps)) + bias. */
export function mapToMaskLogits(map: tf.Tensor2D, g: number, r: number, scale: tf.Tensor, bias: tf.Tensor, eps = 1e-6): tf.Tensor3D {
  const [B, n] = map.shape;
  if (n !== g * g) throw new Error(`mapToMaskLogits: maps of ${n} cells do not form a ${g} × ${g} grid`);
  return tf.tidy(() => {
    const z = map.mul(g * g).add(eps).log().reshape([B, g, g, 1]); // B x g·g -> B x g x g x 1
    const up = tf.image.resizeBilinear(z as tf.Tensor4D, [r, r], false, true).reshape([B, r, r]); // B x r x r x 1 -> B x r x r
    return up.mul(scale).add(bias) as tf.Tensor3D;
  });
}
