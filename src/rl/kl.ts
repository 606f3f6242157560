/**
 * The k3 estimator of KL(π_θ ‖ π_ref) per token (Schulman's "low-variance" form, GRPO eq. 12):
 *
 *   k = logp_ref − logp  (clamped to [−10, 10])      kl = exp(k) − k − 1  ≥ 0
 *
 * Unbiased for KL(π_θ‖π_ref) when tokens are sampled from π_θ, always non-negative.
 */
import * as tf from '@tensorflow/tfjs';

export const KL_CLAMP = 10;

/** Elementwise k3 KL of two log-probability tensors of the same shape. */
export function k3KL(logp: tf.Tensor, logpRef: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const k = tf.clipByValue(logpRef.sub(logp), -KL_CLAMP, KL_CLAMP);
    return tf.exp(k).sub(k).sub(1);
  });
}

/** The same on numbers (for tests and logs). */
export function k3KLScalar(logp: number, logpRef: number): number {
  const k = Math.min(KL_CLAMP, Math.max(-KL_CLAMP, logpRef - logp));
  return Math.exp(k) - k - 1;
}
