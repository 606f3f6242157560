/**
 * e_conc, the concentration embedding (paper eq. 1): the policy's last-layer hidden state at the
 * LAST `<REF_POS>` of the response (`logProbs(...).refPosHidden`).
 *
 * A response without `<REF_POS>`: `logProbs` falls back to the hidden state of the response's last
 * token (`refPosFound` false). CoPRS does NOT use that fallback: its e_conc is the zero vector, so
 * the query Q = Linear_noBias(0) = 0, every per-head score is 0 and the prior is the fusion head's
 * constant response (sigmoid(−1.8) ≈ 0.14 everywhere at initialisation) — no position is preferred,
 * no gradient reaches the policy through that row, and its mask is whatever the decoder makes of a
 * flat prior. Its format reward is 0 (the rule needs exactly one `<REF_POS>`), which is what the
 * policy learns from.
 */
import * as tf from '@tensorflow/tfjs';

/** refPosHidden [N, d] with the rows where `found` is false set to 0 (a mask multiply: no gradient flows into them). */
export function conceptEmbedding(refPosHidden: tf.Tensor2D, found: readonly boolean[]): tf.Tensor2D {
  const [n] = refPosHidden.shape;
  if (found.length !== n) throw new Error(`e_conc: ${n} hidden states but ${found.length} refPosFound flags`);
  if (found.every((f) => f)) return tf.clone(refPosHidden);
  return tf.tidy(() => refPosHidden.mul(tf.tensor2d(found.map((f) => (f ? 1 : 0)), [n, 1])) as tf.Tensor2D); // N x d
}
