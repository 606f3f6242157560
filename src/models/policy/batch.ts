/**
 * Packing token rows into one padded batch (plain JS arrays; tensors are made by the model).
 *
 * Every prompt starts with the same block: `<bos>` then N × `<image>` (columns 0..N). Rows are
 * packed in one of two layouts:
 * - 'right' (teacher forcing): [prefix][rest][pad…] — pads at the end;
 * - 'end' (generation): [prefix][pad…][rest] — pads between the image block and the text, so every
 *   prompt ends at the same column and generated tokens line up; the image block stays at columns
 *   1..N, so vision tokens are a plain concat.
 * Pads are masked out of attention as keys and skipped by the position ids (each valid token's
 * position is the count of valid tokens before it), so either layout computes exactly what each
 * unpadded row would.
 */
import { BOS, IMAGE, PAD } from './tokenizer';

export interface SeqBatch {
  /** Rows. */
  B: number;
  /** Columns. */
  L: number;
  /** Token ids, B × L row-major (PAD at padded slots). */
  ids: Int32Array;
  /** 1 at real tokens, 0 at pads. */
  valid: Uint8Array;
  /** Position id of each slot (pads: 0). */
  positions: Int32Array;
  /** Size N of the image block at columns 1..N (0: no image block). */
  imageTokens: number;
  /** Column of each row's first token after the prefix. */
  bodyStart: number[];
  /** Number of real tokens per row. */
  lengths: number[];
}

/**
 * Pack rows of ids. With `imageTokens` N > 0 every row must start with `<bos>` + N × `<image>`.
 * `layout` 'right' pads at the end; 'end' pads between the prefix and the rest (see above).
 */
export function packRows(rows: readonly (readonly number[])[], imageTokens: number, layout: 'right' | 'end' = 'right'): SeqBatch {
  if (rows.length === 0) throw new Error('packRows: no rows');
  const prefix = imageTokens > 0 ? 1 + imageTokens : 0;
  rows.forEach((r, b) => {
    if (prefix === 0) return;
    if (r.length < prefix || r[0] !== BOS) throw new Error(`packRows: row ${b} must start with <bos> and ${imageTokens} <image> tokens`);
    for (let i = 1; i < prefix; i++) if (r[i] !== IMAGE) throw new Error(`packRows: row ${b} has token ${r[i]} at column ${i}, expected <image> (${IMAGE}); the image block is columns 1..${imageTokens}`);
  });
  const B = rows.length;
  const L = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * L).fill(PAD);
  const valid = new Uint8Array(B * L);
  const positions = new Int32Array(B * L);
  const bodyStart: number[] = [];
  rows.forEach((r, b) => {
    const pad = L - r.length;
    const o = b * L;
    for (let i = 0; i < prefix; i++) {
      ids[o + i] = r[i];
      valid[o + i] = 1;
    }
    const start = layout === 'end' ? prefix + pad : prefix;
    for (let i = prefix; i < r.length; i++) {
      ids[o + start + i - prefix] = r[i];
      valid[o + start + i - prefix] = 1;
    }
    bodyStart.push(start);
    let p = 0;
    for (let c = 0; c < L; c++) if (valid[o + c]) positions[o + c] = p++;
  });
  return { B, L, ids, valid, positions, imageTokens, bodyStart, lengths: rows.map((r) => r.length) };
}

/**
 * Additive attention bias for T new query columns at cache offset `offset` over S = offset + T key
 * columns: [1, 1, T, S] causal part and [B, 1, 1, S] key-padding part (0 or MASKED), added by the
 * model. `keyValid` is B × S.
 */
export function biasParts(keyValid: Uint8Array, B: number, S: number, T: number, offset: number, masked: number): { causal: Float32Array; pad: Float32Array } {
  if (offset + T !== S) throw new Error(`biasParts: offset ${offset} + T ${T} must equal S ${S}`);
  const causal = new Float32Array(T * S);
  for (let t = 0; t < T; t++) for (let s = offset + t + 1; s < S; s++) causal[t * S + s] = masked;
  const pad = new Float32Array(B * S);
  for (let i = 0; i < B * S; i++) if (!keyValid[i]) pad[i] = masked;
  return { causal, pad };
}
