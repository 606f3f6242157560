/**
 * Teacher-forced scoring of responses: per-token log-probabilities of the response tokens under the
 * policy, and the last-layer hidden states (after the final RMSNorm) — what GRPO (ratios, KL) and
 * CoPRS (e_conc, the hidden state at the LAST `<REF_POS>` of the response) need. Differentiable:
 * call it inside `tf.variableGrads` / `tf.tidy`.
 *
 * Index conventions: response token r of row b sits at column c = respStart[b] + r; its
 * log-probability comes from the logits at column c − 1 and its hidden state is the one at column c
 * (the state that has read the token). Outputs are [B, R] / [B, R, d] with R the longest response,
 * padded with 0 (see `mask`).
 *
 * No `<REF_POS>` in a response: `refPosIndex` is −1 and `refPosHidden` falls back to the hidden
 * state of the response's LAST token (its final `<eos>`, or the last token at the length cap; for an
 * empty response, the last prompt token); `refPosFound` says which rows fell back, so a caller can
 * drop or down-weight them.
 */
import * as tf from '@tensorflow/tfjs';
import { packRows, type SeqBatch } from './batch';
import type { PolicyModel } from './model';
import { REF_POS } from './tokenizer';

/** Index of the LAST `<REF_POS>` in a response's ids, or −1 when it has none. */
export function lastRefPosIndex(responseIds: readonly number[], refPosId = REF_POS): number {
  return responseIds.lastIndexOf(refPosId);
}

export interface ScoreLayout {
  batch: SeqBatch;
  /** Column of each row's first response token. */
  respStart: number[];
  respLen: number[];
  /** Longest response. */
  R: number;
  responses: number[][];
}

/** Pack prompt + response rows (pads at the end) for teacher forcing. */
export function packForScoring(model: PolicyModel, prompts: readonly (readonly number[])[], responses: readonly (readonly number[])[]): ScoreLayout {
  if (prompts.length !== responses.length) throw new Error(`logProbs: ${prompts.length} prompts but ${responses.length} responses; pass one response per prompt (repeat a prompt G times for G rollouts)`);
  const rows = prompts.map((p, i) => [...p, ...responses[i]]);
  const batch = packRows(rows, model.imageTokens, 'right');
  const respStart = prompts.map((p) => p.length);
  const respLen = responses.map((r) => r.length);
  return { batch, respStart, respLen, R: Math.max(1, ...respLen), responses: responses.map((r) => r.slice()) };
}

export interface LogProbsResult {
  /** log π(token) of each response token [B, R] (0 at pads). */
  logProbs: tf.Tensor2D;
  /** 1 at response tokens, 0 at pads [B, R]. */
  mask: tf.Tensor2D;
  /** Hidden state at each response token [B, R, d] (only with `withHidden`). */
  hidden: tf.Tensor3D | null;
  /** Hidden state at the last `<REF_POS>` of each response (fallback: see the module comment) [B, d]. */
  refPosHidden: tf.Tensor2D;
  /** Index within the response of the last `<REF_POS>`, −1 where there is none. */
  refPosIndex: number[];
  refPosFound: boolean[];
  /** Entropy of the policy at each response position [B, R] (only with `withEntropy`). */
  entropy: tf.Tensor2D | null;
  /** Hidden states at the image block, columns 1..N [B, N, d] (only with `withImageHidden`). */
  imageHidden: tf.Tensor3D | null;
  /**
   * Last-layer attention probabilities of each response token over the image block (columns 1..N)
   * [B, R, H, N] (0 at pads; only from `scoreResponses` with `withImageAttention`; CR-Seg).
   */
  imageAttention?: tf.Tensor4D | null;
}

export interface LogProbsOptions {
  withHidden?: boolean;
  withEntropy?: boolean;
  withImageHidden?: boolean;
  /** Also return `imageAttention` (scoreResponses only; the last layer then runs the plain softmax path). */
  withImageAttention?: boolean;
  /** Divide logits by this before the softmax (rollout temperature), default 1. */
  temperature?: number;
}

/**
 * Teacher-forced log-probabilities of `layout.responses` given the prompts, and hidden states.
 * `vis` are the vision tokens [B, N, d] of each row's image (`model.visionTokens`).
 */
export function scoreResponses(model: PolicyModel, layout: ScoreLayout, vis: tf.Tensor3D, opts: LogProbsOptions = {}): LogProbsResult {
  const { batch, respStart, respLen, R, responses } = layout;
  const { B, L } = batch;
  const V = model.tokenizer.size;
  const predIdx = new Int32Array(B * R);
  const tokIdx = new Int32Array(B * R);
  const target = new Int32Array(B * R);
  const mask = new Float32Array(B * R);
  const refIdx = new Int32Array(B);
  const refPosIndex: number[] = [];
  const refPosFound: boolean[] = [];
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const i = b * R + r;
      if (r < respLen[b]) {
        predIdx[i] = b * L + respStart[b] + r - 1;
        tokIdx[i] = b * L + respStart[b] + r;
        target[i] = i * V + responses[b][r];
        mask[i] = 1;
      } else {
        predIdx[i] = tokIdx[i] = b * L;
        target[i] = i * V;
      }
    }
    const k = lastRefPosIndex(responses[b]);
    refPosIndex.push(k);
    refPosFound.push(k >= 0);
    refIdx[b] = b * L + (k >= 0 ? respStart[b] + k : respStart[b] + respLen[b] - 1);
  }
  const t = tf.tidy(() => {
    const { hidden, attention } = model.forward(batch, vis, { returnAttention: !!opts.withImageAttention });
    const flat = hidden.reshape([B * L, -1]); // BL x d
    let z = model.logits(tf.gather(flat, tf.tensor1d(predIdx, 'int32'))); // BR x V
    if (opts.temperature != null && opts.temperature !== 1) z = z.div(opts.temperature);
    const logp = tf.logSoftmax(z); // BR x V
    const m = tf.tensor2d(mask, [B, R]);
    const picked = tf.gather(logp.reshape([-1]), tf.tensor1d(target, 'int32')).reshape([B, R]).mul(m);
    const out: Record<string, tf.Tensor> = { logProbs: picked, mask: m, refPosHidden: tf.gather(flat, tf.tensor1d(refIdx, 'int32')) };
    if (opts.withHidden) out.hidden = tf.gather(flat, tf.tensor1d(tokIdx, 'int32')).reshape([B, R, -1]);
    if (opts.withEntropy) out.entropy = tf.exp(logp).mul(logp).sum(-1).neg().reshape([B, R]).mul(m);
    if (opts.withImageHidden) out.imageHidden = hidden.slice([0, 1, 0], [B, batch.imageTokens, -1]);
    if (opts.withImageAttention && attention) {
      const H = attention.shape[1];
      const N = batch.imageTokens;
      const img = attention.slice([0, 0, 0, 1], [B, H, L, N]).transpose([0, 2, 1, 3]).reshape([B * L, H * N]); // B x H x L x N -> B x L x H x N -> BL x HN
      out.imageAttention = tf.gather(img, tf.tensor1d(tokIdx, 'int32')).reshape([B, R, H, N]).mul(m.reshape([B, R, 1, 1])); // BR x HN -> B x R x H x N (0 at pads)
    }
    return out;
  });
  return {
    logProbs: t.logProbs as tf.Tensor2D,
    mask: t.mask as tf.Tensor2D,
    hidden: (t.hidden as tf.Tensor3D | undefined) ?? null,
    refPosHidden: t.refPosHidden as tf.Tensor2D,
    refPosIndex,
    refPosFound,
    entropy: (t.entropy as tf.Tensor2D | undefined) ?? null,
    imageHidden: (t.imageHidden as tf.Tensor3D | undefined) ?? null,
    imageAttention: (t.imageAttention as tf.Tensor4D | undefined) ?? null,
  };
}

/**
 * `logProbs(prompts, responses)`: pack, run and score in one call (see `scoreResponses`).
 * `vis` [B, N, d] are the rows' vision tokens.
 */
export function logProbs(model: PolicyModel, prompts: readonly (readonly number[])[], responses: readonly (readonly number[])[], vis: tf.Tensor3D, opts: LogProbsOptions = {}): LogProbsResult {
  return scoreResponses(model, packForScoring(model, prompts, responses), vis, opts);
}

/** Dispose the tensors of a `LogProbsResult`. */
export function disposeLogProbs(r: LogProbsResult): void {
  for (const t of [r.logProbs, r.mask, r.hidden, r.refPosHidden, r.entropy, r.imageHidden, r.imageAttention]) t?.dispose();
}
