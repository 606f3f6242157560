/**
 * Teacher-forced scoring of G responses per prompt with the prompt computed ONCE per group.
 *
 * GRPO scores G rollouts of every prompt. Under causal attention the prompt's hidden states, keys
 * and values do not depend on the response, so the G rows of a group share them exactly. This runs
 *
 *   prefill   the P prompts (image block + text), packed 'end' (every prompt ends at column Lp − 1),
 *             keeping their key/value cache                                   [P, Lp]
 *   repeat    the cache G times (a differentiable gather: gradients of the G rows add up)
 *   continue  the N = P·G responses as T = R new columns over that cache       [N, R]
 *
 * and returns exactly what `scoreResponses` returns for the rows (prompts[⌊i/G⌋], responses[i])
 * (tested to 1e-4): response token r's log-probability comes from the state before it — the last
 * prompt column for r = 0, response column r − 1 otherwise — and e_conc is the state at the last
 * `<REF_POS>` (fallback: the last response token, or the last prompt token for an empty response).
 * At the `small` preset (prompts ~110 tokens, responses up to 200, G = 4) the policy's share of a
 * stage-3 update and of the reference pass shrinks by about a quarter.
 */
import * as tf from '@tensorflow/tfjs';
import { packRows, type SeqBatch } from './batch';
import type { LogProbsOptions, LogProbsResult } from './logprobs';
import { lastRefPosIndex } from './logprobs';
import type { PolicyModel } from './model';
import { PAD } from './tokenizer';
import type { KVCache } from './transformer';

/**
 * Score `responses` (N = P·G rows, prompt-major: row i answers prompts[⌊i/G⌋]) given `vis`
 * [P, n_img, d], the vision tokens of each PROMPT's image (not repeated). Differentiable.
 */
export function scoreGrouped(model: PolicyModel, prompts: readonly (readonly number[])[], responses: readonly (readonly number[])[], vis: tf.Tensor3D, G: number, opts: LogProbsOptions = {}): LogProbsResult {
  const P = prompts.length;
  const N = responses.length;
  if (!Number.isInteger(G) || G < 1 || N !== P * G) throw new Error(`scoreGrouped: ${N} responses for ${P} prompts × G = ${G}; pass G responses per prompt, prompt-major`);
  if (vis.shape[0] !== P) throw new Error(`scoreGrouped: ${P} prompts but vision tokens for ${vis.shape[0]} images`);
  const V = model.tokenizer.size;
  const pre = packRows(prompts, model.imageTokens, 'end'); // P x Lp
  const Lp = pre.L;
  const respLen = responses.map((r) => r.length);
  const R = Math.max(1, ...respLen);
  const group = (i: number) => Math.floor(i / G);
  // The response columns: ids, validity, positions (each prompt's length + r).
  const ids = new Int32Array(N * R).fill(PAD);
  const valid = new Uint8Array(N * R);
  const positions = new Int32Array(N * R);
  const keyValid = new Uint8Array(N * (Lp + R)); // N x (Lp + R): the prompt's keys, then the response's
  responses.forEach((resp, i) => {
    const p = group(i);
    keyValid.set(pre.valid.subarray(p * Lp, (p + 1) * Lp), i * (Lp + R));
    for (let r = 0; r < resp.length; r++) {
      ids[i * R + r] = resp[r];
      valid[i * R + r] = 1;
      keyValid[i * (Lp + R) + Lp + r] = 1;
      positions[i * R + r] = pre.lengths[p] + r;
    }
  });
  const cont: SeqBatch = { B: N, L: R, ids, valid, positions, imageTokens: 0, bodyStart: new Array(N).fill(0), lengths: respLen };
  // Row indices into the table [prefill states (P·Lp rows); response states (N·R rows)].
  const lastPrompt = (i: number) => group(i) * Lp + Lp - 1;
  const resp = (i: number, r: number) => P * Lp + i * R + r;
  const predIdx = new Int32Array(N * R);
  const tokIdx = new Int32Array(N * R);
  const target = new Int32Array(N * R);
  const mask = new Float32Array(N * R);
  const refIdx = new Int32Array(N);
  const refPosIndex: number[] = [];
  const refPosFound: boolean[] = [];
  for (let i = 0; i < N; i++) {
    for (let r = 0; r < R; r++) {
      const j = i * R + r;
      tokIdx[j] = resp(i, r);
      if (r < respLen[i]) {
        predIdx[j] = r === 0 ? lastPrompt(i) : resp(i, r - 1);
        target[j] = j * V + responses[i][r];
        mask[j] = 1;
      } else {
        predIdx[j] = lastPrompt(i);
        target[j] = j * V;
      }
    }
    const k = lastRefPosIndex(responses[i]);
    refPosIndex.push(k);
    refPosFound.push(k >= 0);
    refIdx[i] = k >= 0 ? resp(i, k) : respLen[i] > 0 ? resp(i, respLen[i] - 1) : lastPrompt(i);
  }
  const t = tf.tidy(() => {
    const prefill = model.forward(pre, vis, { returnCache: true }); // hidden P x Lp x d
    const rep = tf.tensor1d(Array.from({ length: N }, (_, i) => group(i)), 'int32');
    const cache: KVCache = prefill.cache.map((c) => ({ k: tf.gather(c.k, rep), v: tf.gather(c.v, rep) })); // N x H x Lp x dh each
    const { hidden } = model.forward(cont, null, { cache, keyValid }); // N x R x d (the tidy frees the repeated cache)
    const d = hidden.shape[2];
    const table = tf.concat([prefill.hidden.reshape([P * Lp, d]), hidden.reshape([N * R, d])]); // (P·Lp + N·R) x d
    let z = model.logits(tf.gather(table, tf.tensor1d(predIdx, 'int32'))); // NR x V
    if (opts.temperature != null && opts.temperature !== 1) z = z.div(opts.temperature);
    const logp = tf.logSoftmax(z); // NR x V
    const m = tf.tensor2d(mask, [N, R]);
    const picked = tf.gather(logp.reshape([-1]), tf.tensor1d(target, 'int32')).reshape([N, R]).mul(m);
    const out: Record<string, tf.Tensor> = { logProbs: picked, mask: m, refPosHidden: tf.gather(table, tf.tensor1d(refIdx, 'int32')) };
    if (opts.withHidden) out.hidden = tf.gather(table, tf.tensor1d(tokIdx, 'int32')).reshape([N, R, d]); // N x R x d
    if (opts.withEntropy) out.entropy = tf.exp(logp).mul(logp).sum(-1).neg().reshape([N, R]).mul(m);
    if (opts.withImageHidden) out.imageHidden = tf.gather(prefill.hidden.slice([0, 1, 0], [P, pre.imageTokens, d]), rep); // N x n_img x d
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
  };
}
