/**
 * The conclusion probe — a departure from the paper, off by default (`model.conceptProbe` and
 * `concept.weight` in the stage-3 config; README "CoPRS (stage 3)" says why).
 *
 * CoPRS reads e_conc, the last-layer hidden state at `<REF_POS>`, as "what the chain of thought
 * concluded" (paper §3.1). In a 7B MLLM that state is rich; in the kit's 1.2M-parameter policy,
 * trained only to predict the next token, the state at `<REF_POS>` just has to predict `<eos>`:
 * measured on coprs-small (`tools/head-sensitivity.ts`), rewriting a chain's conclusion to another
 * object changes e_conc by cos 0.9989 and the prior not at all, while the head given the target's
 * attributes directly does pick the target (`tools/head-oracle.ts`). The SEG loss alone (150 warm-up
 * steps, policy lr ×10) did not make e_conc depend on the conclusion.
 *
 * The probe asks e_conc to name the words of the response's own concluding sentence — the sentence
 * that ends at the last "." before the last `<REF_POS>` ("So the target is the small red circle in
 * the top left.") — as a softmax over the vocabulary against the sentence's bag of words:
 *
 *   L_concept = mean over rows with a conclusion of  − Σ_w t_w · log softmax(W·e_conc + b)_w,
 *   t = multi-hot of the sentence's distinct word ids / their count.
 *
 * It uses only the response text (no ground truth), so it applies to rollouts as well as to
 * teacher-forced chains; the probe does not enter the prior or the mask.
 */
import * as tf from '@tensorflow/tfjs';
import { REF_POS, THINK, THINK_END, BOS, EOS, PAD } from '../policy/tokenizer';
import { lastRefPosIndex } from '../policy/logprobs';

/** Token ids that never count as a conclusion word. */
const CONTROL = new Set([PAD, BOS, EOS, THINK, THINK_END, REF_POS]);

/**
 * The distinct word ids of the concluding sentence of a response: the tokens after the
 * second-to-last "." and up to the last "." that come before the last `<REF_POS>`. Empty when the
 * response has no `<REF_POS>` or no "." before it.
 */
export function conclusionWords(responseIds: readonly number[], periodId: number): number[] {
  const ref = lastRefPosIndex(responseIds);
  if (ref < 0) return [];
  let end = -1;
  for (let i = ref - 1; i >= 0; i--) if (responseIds[i] === periodId) { end = i; break; }
  if (end < 0) return [];
  let start = 0;
  for (let i = end - 1; i >= 0; i--) if (responseIds[i] === periodId) { start = i + 1; break; }
  const words = new Set<number>();
  for (let i = start; i < end; i++) if (!CONTROL.has(responseIds[i])) words.add(responseIds[i]);
  return [...words];
}

/** Target distributions [N, V] (each row sums to 1, or 0 for a row without a conclusion) and the rows that have one. */
export function conceptTargets(responses: readonly (readonly number[])[], vocabSize: number, periodId: number): { targets: Float32Array; has: boolean[] } {
  const targets = new Float32Array(responses.length * vocabSize);
  const has = responses.map((ids, i) => {
    const words = conclusionWords(ids, periodId);
    for (const w of words) targets[i * vocabSize + w] = 1 / words.length;
    return words.length > 0;
  });
  return { targets, has };
}

/** L_concept (see the module comment): logits [N, V], targets [N, V] (rows summing to 1 or 0). 0 when no row has a conclusion. */
export function conceptLoss(logits: tf.Tensor2D, targets: tf.Tensor2D, has: readonly boolean[]): tf.Scalar {
  return tf.tidy(() => {
    const n = has.filter(Boolean).length;
    if (n === 0) return tf.scalar(0);
    const perRow = targets.mul(tf.logSoftmax(logits)).sum(-1).neg(); // N (0 for rows without targets)
    return perRow.sum().div(n) as tf.Scalar;
  });
}
