/**
 * The frozen reference policy π_ref of the KL term: a copy of the policy's weights at the start of
 * stage 3 (GRPO's "usually the initial policy"), in its own variables, never trained. Built on
 * PolicyModel's public constructor and parameter store only.
 */
import * as tf from '@tensorflow/tfjs';
import { PolicyModel } from '../policy/model';

/** A frozen copy of `policy` (same config, vocabulary and weights). The caller disposes it. */
export function frozenCopy(policy: PolicyModel): PolicyModel {
  const ref = new PolicyModel(policy.config, policy.tokenizer, policy.encoder);
  try {
    for (const [name, v] of policy.params.entries()) ref.params.get(name).assign(v);
  } catch (e) {
    ref.dispose();
    throw e;
  }
  ref.params.setTrainable(false);
  return ref;
}

/** True when two policies hold the same weights (tests and checks). */
export function sameWeights(a: PolicyModel, b: PolicyModel): boolean {
  return a.params.entries().every(([n, v]) => tf.tidy(() => v.equal(b.params.get(n)).all().dataSync()[0] === 1));
}
