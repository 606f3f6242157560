/** GRPO pieces by hand: group advantages, the k3 KL, the clipped surrogate and each loss variant. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { groupAdvantages } from '../src/rl/advantages';
import { k3KL, k3KLScalar } from '../src/rl/kl';
import { policyLoss, parseLossType, PolicyLossInputs } from '../src/rl/policy-loss';
import { assertNear } from './helpers/compare';

test('group advantages: (r − mean) / (unbiased std + 1e-6); equal rewards and groups of one give 0', () => {
  // group [1, 0]: mean 0.5, unbiased std sqrt(0.5) = 0.70711 → ±0.5/0.70711 = ±0.70711
  const s = groupAdvantages([1, 0, 0.5, 0.5], 2);
  assertNear(s.advantages[0], 0.5 / (Math.SQRT1_2 + 1e-6), 1e-9);
  assertNear(s.advantages[1], -0.5 / (Math.SQRT1_2 + 1e-6), 1e-9);
  assert.deepEqual(s.advantages.slice(2), [0, 0]);
  assert.equal(s.zeroStdFraction, 0.5);
  assert.deepEqual(s.groupMeans, [0.5, 0.5]);
  // G = 4: r = [1, 2, 3, 4], mean 2.5, unbiased std sqrt(5/3) = 1.29099
  const g4 = groupAdvantages([1, 2, 3, 4], 4);
  assertNear(g4.advantages[0], -1.5 / (Math.sqrt(5 / 3) + 1e-6), 1e-9);
  assert.deepEqual(groupAdvantages([0.3, 0.9], 1).advantages, [0, 0]);
  assert.deepEqual(groupAdvantages([1, 0], 2, 'none').advantages, [0.5, -0.5]);
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /do not split into groups of 2/);
  assert.throws(() => groupAdvantages([1, NaN], 2), /reward 1 is NaN/);
});

test('k3 KL: exp(k) − k − 1 with k = logp_ref − logp, clamped to [−10, 10]', () => {
  // logp = log 0.5, logp_ref = log 0.25: k = log 0.5, kl = 0.5 + 0.693147 − 1 = 0.193147
  assertNear(k3KLScalar(Math.log(0.5), Math.log(0.25)), 0.5 + Math.log(2) - 1, 1e-12);
  assertNear(k3KLScalar(-1, -1), 0, 1e-12);
  assertNear(k3KLScalar(-30, -10), Math.exp(10) - 11, 1e-6, 'clamped at +10');
  assertNear(k3KLScalar(-10, -30), Math.exp(-10) + 9, 1e-9, 'clamped at −10');
  tf.tidy(() => {
    const v = k3KL(tf.tensor1d([Math.log(0.5), -1]), tf.tensor1d([Math.log(0.25), -1])).dataSync();
    assertNear(v[0], 0.193147, 1e-5);
    assertNear(v[1], 0, 1e-7);
  });
});

/** N = 2 completions, T = 2 tokens; the second completion has one token. */
function inputs(logRatio00: number, beta = false): PolicyLossInputs {
  const old = tf.tensor2d([[-1, -1], [-1, -1]]);
  return {
    logp: old.add(tf.tensor2d([[logRatio00, 0], [0, 0]])) as tf.Tensor2D,
    oldLogp: old as tf.Tensor2D,
    refLogp: beta ? (tf.tensor2d([[-1, -2], [-1, -1]]) as tf.Tensor2D) : undefined,
    advantages: tf.tensor1d([1, -1]),
    mask: tf.tensor2d([[1, 1], [1, 0]]),
  };
}

const val = (t: tf.Scalar) => t.dataSync()[0];

test('policy loss aggregations by hand (ratio 1: token loss = −A)', () => {
  tf.tidy(() => {
    const x = inputs(0);
    // token losses [[-1, -1], [1, ·]]
    assertNear(val(policyLoss(x, { lossType: 'grpo', epsilon: 0.2, beta: 0 }).loss), 0, 1e-6, 'grpo: mean of sequence means (−1, 1)');
    assertNear(val(policyLoss(x, { lossType: 'dapo', epsilon: 0.2, beta: 0 }).loss), -1 / 3, 1e-6, 'dapo: token mean');
    assertNear(val(policyLoss(x, { lossType: 'dr_grpo', epsilon: 0.2, beta: 0 }).loss), -1 / 4, 1e-6, 'dr_grpo: sum / (N·T)');
    assertNear(val(policyLoss(x, { lossType: 'dr_grpo', epsilon: 0.2, beta: 0, maxCompletionLength: 10 }).loss), -1 / 20, 1e-6);
    assertNear(val(policyLoss(x, { lossType: 'grpo', epsilon: 0.2, beta: 0, aggregation: 'token-mean' }).loss), -1 / 3, 1e-6, 'override');
  });
});

test('clipped surrogate: ratio 1.5 with A > 0 is clipped at 1 + ε; ε_high widens it; clip fractions', () => {
  tf.tidy(() => {
    const x = inputs(Math.log(1.5));
    // token (0,0): min(1.5·1, 1.2·1) = 1.2 → loss −1.2; others as before: [[-1.2, -1], [1]]
    const o = policyLoss(x, { lossType: 'dapo', epsilon: 0.2, beta: 0 });
    assertNear(val(o.loss), (-1.2 - 1 + 1) / 3, 1e-6);
    assertNear(val(o.clipHigh), 1 / 3, 1e-6);
    assertNear(val(o.clipLow), 0, 1e-6);
    const hi = policyLoss(x, { lossType: 'dapo', epsilon: 0.2, epsilonHigh: 0.28, beta: 0 });
    assertNear(val(hi.loss), (-1.28 - 1 + 1) / 3, 1e-6, 'clip-higher');
    // The gradient through a clipped token is zero; through an unclipped one it is −A·ratio / (tokens).
    const g = tf.grad((lp: tf.Tensor) => policyLoss({ ...x, logp: lp as tf.Tensor2D }, { lossType: 'dapo', epsilon: 0.2, beta: 0 }).loss)(x.logp).arraySync() as number[][];
    assertNear(g[0][0], 0, 1e-7, 'clipped token has no gradient');
    assertNear(g[0][1], -1 / 3, 1e-6);
    assertNear(g[1][0], 1 / 3, 1e-6);
    assertNear(g[1][1], 0, 1e-7, 'padding has no gradient');
  });
});

test('gspo: one sequence-level ratio per completion', () => {
  tf.tidy(() => {
    // sequence 0 log-ratios [log 1.5, 0] → mean log(1.5)/2 → s = sqrt(1.5) = 1.2247 > 1 + ε (ε = 0.2) → 1.2 for both tokens
    const x = inputs(Math.log(1.5));
    const o = policyLoss(x, { lossType: 'gspo', epsilon: 0.2, beta: 0 });
    // sequence means: seq0 −1.2, seq1 +1 → mean −0.1
    assertNear(val(o.loss), (-1.2 + 1) / 2, 1e-6);
    const wide = policyLoss(x, { lossType: 'gspo', epsilon: 0.3, beta: 0 });
    assertNear(val(wide.loss), (-Math.sqrt(1.5) + 1) / 2, 1e-5);
  });
});

test('KL term: β · k3 added per token, reported as token mean', () => {
  tf.tidy(() => {
    const x = inputs(0, true);
    // ref − logp on token (0,1): −2 − (−1) = −1 → kl = e^−1 + 1 − 1 = 0.367879; other tokens 0
    const o = policyLoss(x, { lossType: 'dapo', epsilon: 0.2, beta: 0.2 });
    assertNear(val(o.kl), 0.367879 / 3, 1e-6);
    assertNear(val(o.loss), (-1 - 1 + 1 + 0.2 * 0.367879) / 3, 1e-6);
    assert.throws(() => policyLoss(inputs(0), { lossType: 'grpo', epsilon: 0.2, beta: 0.1 }), /needs reference log-probabilities/);
  });
});

test('unknown loss types throw naming the valid ones', () => {
  assert.throws(() => parseLossType('ppo'), /unknown loss type "ppo"; expected one of grpo, dr_grpo, dapo, gspo/);
  tf.tidy(() => {
    assert.throws(() => policyLoss(inputs(0), { lossType: 'ppo' as never, epsilon: 0.2, beta: 0 }), /unknown loss type "ppo"/);
  });
});

test('policy loss leaks no tensors', () => {
  const run = () => tf.tidy(() => { policyLoss(inputs(0.1, true), { lossType: 'grpo', epsilon: 0.2, beta: 0.2 }); });
  run();
  const n = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, n);
});
