/**
 * Pieces shared by the mini-SAM modules (segment-anything's `modeling/common.py`): `MLPBlock`
 * (Linear → act → Linear) and `LayerNorm2d` (re-exported from the kit's layers: NHWC, so it
 * normalizes over the last axis). Also the one helper every module needs to read its inputs: a
 * shape check whose error names the tensor, its shape and what was expected.
 */
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../nn/params';
import { Activation, Linear, activate } from '../../nn/layers';

export { LayerNorm2d } from '../../nn/layers';

/** SAM's MLPBlock: lin1 (dim → mlpDim), activation, lin2 (mlpDim → dim). */
export class MLPBlock {
  readonly lin1: Linear;
  readonly lin2: Linear;
  constructor(p: Params, readonly embeddingDim: number, readonly mlpDim: number, readonly act: Activation = 'gelu') {
    this.lin1 = new Linear(p.scope('lin1'), embeddingDim, mlpDim);
    this.lin2 = new Linear(p.scope('lin2'), mlpDim, embeddingDim);
  }

  /** [..., dim] -> [..., dim] */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.lin2.apply(activate(this.lin1.apply(x), this.act)));
  }
}

/**
 * Throws unless `t` has rank `expect.length` and matches `expect` where it is a number (null: any
 * size). The error names the tensor, its shape and the expected one.
 */
export function checkShape(t: tf.Tensor, expect: (number | null)[], what: string): void {
  const ok = t.rank === expect.length && expect.every((d, i) => d == null || t.shape[i] === d);
  if (!ok) {
    const want = expect.map((d) => (d == null ? '*' : String(d))).join(', ');
    throw new Error(`${what}: expected shape [${want}], got [${t.shape.join(', ')}]`);
  }
}

/**
 * `tf.tidy` for functions that return an object or array of tensors with a declared interface
 * (tfjs' `TensorContainer` type has an index signature that interfaces lack); same semantics.
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

/**
 * Split a [..., ...shape] tensor into its entries (the leading axes flattened), each of `shape`. On wasm a Slice copies its
 * whole input first (tfjs-backend-wasm 4.22 reads the full tensor), so slicing B entries of a large
 * tensor costs B x its size; splitting in two levels (groups, then entries) keeps it near 2x.
 */
function entries(t: tf.Tensor, shape: number[]): tf.Tensor[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const batch = t.size / size;
  const flat = t.reshape([batch, size]); // batch x size
  const group = batch <= 8 ? batch : Math.ceil(Math.sqrt(batch));
  const out: tf.Tensor[] = [];
  const temps: tf.Tensor[] = [flat];
  for (let g0 = 0; g0 < batch; g0 += group) {
    const gn = Math.min(group, batch - g0);
    const part = batch <= 8 ? flat : flat.slice([g0, 0], [gn, size]);
    if (part !== flat) temps.push(part);
    for (let i = 0; i < gn; i++) {
      const row = part.slice([part === flat ? g0 + i : i, 0], [1, size]);
      out.push(row.reshape(shape)); // ...shape
      temps.push(row);
    }
  }
  tf.dispose(temps);
  return out;
}

/** Concatenate equal-shaped entries back into [batch, ...shape]. */
function joinEntries(parts: tf.Tensor[], shape: number[]): tf.Tensor {
  const rows = parts.map((p) => p.reshape([1, p.size])); // 1 x size each
  const y = tf.concat(rows, 0).reshape([parts.length, ...shape]); // batch x ...shape
  tf.dispose(rows);
  return y;
}

/** softmax(q·kᵀ·scale)·v for one entry (2-D operands), and the probabilities. */
function attendOne(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, scale: number): { o: tf.Tensor2D; p: tf.Tensor2D } {
  return tf.tidy(() => {
    const p = tf.softmax(tf.matMul(q, k, false, true).mul(scale)) as tf.Tensor2D; // Nq x Nk
    return { o: tf.matMul(p, v), p };
  });
}

/**
 * Scaled dot-product attention softmax(Q·Kᵀ/sqrt(d))·V over the last two axes of
 * [..., Nq, d], [..., Nk, d], [..., Nk, dv] (leading axes equal; d = the last axis of Q).
 *
 * On wasm, tfjs 4.22's BatchMatMul takes XNNPACK's fast path (~25 GFLOP/s here) only for a batch of
 * one and runs a batch > 1 at ~2 GFLOP/s. When the per-entry product is large (the encoder's
 * 256 x 256 self-attention) this op loops over the entries with 2-D matmuls, forward and backward
 * (a custom gradient that recomputes the probabilities, so the tape holds one op and no N x N
 * matrix is kept). Small products (the decoder's token ↔ image attention) and other backends use
 * batched `tf.matMul`. `returnWeights` always takes the batched path (notebooks).
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: { returnWeights?: boolean } = {}): { out: tf.Tensor; weights?: tf.Tensor } {
  const rank = q.rank;
  const lead = q.shape.slice(0, -2);
  if (rank < 3 || k.rank !== rank || v.rank !== rank || k.shape.slice(0, -2).join(',') !== lead.join(',') || v.shape.slice(0, -2).join(',') !== lead.join(',')) {
    throw new Error(`scaledDotProductAttention: expected q, k, v with equal leading axes, got [${q.shape.join(', ')}], [${k.shape.join(', ')}], [${v.shape.join(', ')}]`);
  }
  const [nq, d] = q.shape.slice(-2);
  const [nk, dk] = k.shape.slice(-2);
  const dv = v.shape[rank - 1];
  if (dk !== d || v.shape[rank - 2] !== nk) throw new Error(`scaledDotProductAttention: q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}] do not match`);
  const scale = 1 / Math.sqrt(d);
  const batch = lead.reduce((x, y) => x * y, 1);
  if (opts.returnWeights || tf.getBackend() !== 'wasm' || batch === 1 || nq * nk * d < LOOP_MIN_MACS) {
    return tf.tidy(() => {
      const p = tf.softmax(tf.matMul(q, k, false, true).mul(scale)); // ... x Nq x Nk
      const out = tf.matMul(p, v); // ... x Nq x dv
      return opts.returnWeights ? { out, weights: p } : { out };
    });
  }
  const f = tf.customGrad(((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => {
    save([qq, kk, vv]);
    const qs = entries(qq, [nq, d]);
    const ks = entries(kk, [nk, d]);
    const vs = entries(vv, [nk, dv]);
    const outs = qs.map((qi, i) => {
      const { o, p } = attendOne(qi as tf.Tensor2D, ks[i] as tf.Tensor2D, vs[i] as tf.Tensor2D, scale);
      p.dispose();
      return o;
    });
    const value = joinEntries(outs, [nq, dv]).reshape([...lead, nq, dv]); // ... x Nq x dv
    tf.dispose([...qs, ...ks, ...vs, ...outs]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sq, sk, sv] = saved;
      const qs2 = entries(sq, [nq, d]);
      const ks2 = entries(sk, [nk, d]);
      const vs2 = entries(sv, [nk, dv]);
      const dys = entries(dy, [nq, dv]);
      const dq: tf.Tensor[] = [];
      const dk: tf.Tensor[] = [];
      const dvv: tf.Tensor[] = [];
      for (let i = 0; i < batch; i++) {
        const [gq, gk, gv] = tf.tidy(() => {
          const qi = qs2[i] as tf.Tensor2D;
          const ki = ks2[i] as tf.Tensor2D;
          const vi = vs2[i] as tf.Tensor2D;
          const g = dys[i] as tf.Tensor2D;
          const { p } = attendOne(qi, ki, vi, scale); // Nq x Nk
          const gV = tf.matMul(p, g, true, false); // Nk x dv
          const gP = tf.matMul(g, vi, false, true); // Nq x Nk
          const gS = p.mul(gP.sub(gP.mul(p).sum(1, true))).mul(scale); // Nq x Nk, through softmax and the scale
          return [tf.matMul(gS, ki), tf.matMul(gS, qi, true, false), gV]; // Nq x d, Nk x d, Nk x dv
        });
        dq.push(gq);
        dk.push(gk);
        dvv.push(gv);
      }
      const grads = [joinEntries(dq, [nq, d]).reshape(sq.shape), joinEntries(dk, [nk, d]).reshape(sk.shape), joinEntries(dvv, [nk, dv]).reshape(sv.shape)]; // shapes of q, k, v
      tf.dispose([...qs2, ...ks2, ...vs2, ...dys, ...dq, ...dk, ...dvv]);
      return grads;
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return { out: f(q, k, v) };
}

/** Per-entry work (Nq·Nk·d multiply-adds) from which attention loops over 2-D matmuls on wasm. */
const LOOP_MIN_MACS = 64 * 1024;
