/**
 * The conclusion probe (src/models/coprs/concept.ts), a departure that is off by default: the words
 * of a response's concluding sentence, the loss by hand, the config check, and a stage-3 step with
 * the probe on (it trains, logs `loss/concept`, leaks no tensors).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { conceptLoss, conceptTargets, conclusionWords } from '../src/models/coprs/concept';
import { CoprsModel } from '../src/models/coprs/model';
import { resolveCoprsModelConfig } from '../src/models/coprs/config';
import { PolicyModel } from '../src/models/policy/model';
import { THINK, THINK_END, REF_POS, EOS } from '../src/models/policy/tokenizer';
import { resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { CoprsTrainer } from '../src/train/coprs/trainer';
import type { CoprsSources } from '../src/models/coprs/checkpoint';
import { tinySam } from './coprs-fixtures';

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
});

const P = 40; // the "." id in these hand-made responses

test('conclusionWords: the distinct words of the sentence that ends at the last "." before the last <REF_POS>', () => {
  // <think> a b . c d c . </think> <REF_POS> <eos>
  assert.deepEqual(conclusionWords([THINK, 50, 51, P, 52, 53, 52, P, THINK_END, REF_POS, EOS], P), [52, 53]);
  // one sentence only: from the start, control tokens left out
  assert.deepEqual(conclusionWords([THINK, 50, 51, P, THINK_END, REF_POS], P), [50, 51]);
  // a "." after the last <REF_POS> does not count; the sentence before it does
  assert.deepEqual(conclusionWords([50, P, 51, 52, P, REF_POS, 53, P], P), [51, 52]);
  assert.deepEqual(conclusionWords([THINK, 50, 51, P, THINK_END, EOS], P), [], 'no <REF_POS>: no conclusion');
  assert.deepEqual(conclusionWords([THINK, 50, 51, THINK_END, REF_POS], P), [], 'no "." before <REF_POS>: no conclusion');
});

test('conceptTargets and conceptLoss by hand: uniform logits over 3 words, a bag of 2 → ln 3; rows without a conclusion do not count', () => {
  const { targets, has } = conceptTargets([[20, P, 21, 22, P, REF_POS], [20, 21, REF_POS]], 41, P);
  assert.deepEqual(has, [true, false]);
  assert.equal(targets[21], 0.5);
  assert.equal(targets[22], 0.5);
  assert.equal(targets.slice(0, 41).reduce((a, b) => a + b, 0), 1);
  assert.equal(targets.slice(41).reduce((a, b) => a + b, 0), 0);
  const loss = conceptLoss(tf.tensor2d([[0, 0, 0], [5, -3, 2]]), tf.tensor2d([[0, 0.5, 0.5], [0, 0, 0]]), [true, false]);
  // −(0.5·log(1/3) + 0.5·log(1/3)) = ln 3, averaged over the one row that has a conclusion
  assert.ok(Math.abs(loss.dataSync()[0] - Math.log(3)) < 1e-6, `${loss.dataSync()[0]}`);
  loss.dispose();
  const none = conceptLoss(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 0]]), [false]);
  assert.equal(none.dataSync()[0], 0);
  none.dispose();
});

test('config: concept.weight > 0 needs model.conceptProbe; both off by default (the paper)', () => {
  const c = resolveCoprsTrainConfig('small');
  assert.equal(c.concept.weight, 0);
  assert.equal(c.model.conceptProbe, false);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { concept: { weight: 1 } }), /model\.conceptProbe=true/);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { concept: { weight: -1 }, model: { conceptProbe: true } }), /concept\.weight must be ≥ 0/);
});

test('a stage-3 step with the conclusion probe and the warm-up NLL: both logged and summed into the loss, the probe trains, no tensors leak; rl mode drops the probe', () => {
  const sources: CoprsSources = { sam: { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 }, policy: null };
  const build = () => {
    const sam = tinySam(3);
    const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed: 3 });
    return new CoprsModel(policy, sam, resolveCoprsModelConfig({ seed: 3, conceptProbe: true }));
  };
  const model = build();
  assert.ok(model.conceptProbe);
  assert.ok(model.partParams('heatmapHead').some(([n]) => n === 'head.conceptProbe.w'), 'the probe is in the head group (checkpoint name head.conceptProbe.*)');
  const t = new CoprsTrainer(resolveCoprsTrainConfig('tiny', { warmup: { steps: 1, lmWeight: 0.5 }, concept: { weight: 1 }, model: { conceptProbe: true } }), model, sources);
  const probe = Array.from(model.conceptProbe!.w.dataSync());
  const w = t.trainStep(); // warm-up step: ground-truth chains, each with a conclusion
  assert.ok(Number.isFinite(w.record['loss/concept'] as number) && (w.record['loss/concept'] as number) > 0, `loss/concept ${w.record['loss/concept']}`);
  assert.ok(Array.from(model.conceptProbe!.w.dataSync()).some((v, i) => v !== probe[i]), 'the probe trains');
  assert.ok((w.record['loss/lm'] as number) > 0, `warm-up NLL of the ground-truth chains is logged: ${w.record['loss/lm']}`);
  // the logged loss is the sum of its parts: λ_SEG·L_SEG + concept + 0.5·NLL
  const c = t.config;
  const sum = c.seg.lambdaSeg * (w.record['loss/seg'] as number) + (w.record['loss/concept'] as number) + 0.5 * (w.record['loss/lm'] as number);
  assert.ok(Math.abs(sum - (w.record.loss as number)) < 1e-4, `${sum} vs ${w.record.loss}`);
  const g = t.trainStep();
  assert.equal(g.record['loss/lm'], null, 'no NLL term in a GRPO step');
  const n = tf.memory().numTensors;
  const r = t.trainStep();
  assert.equal(tf.memory().numTensors, n, 'a step with the probe leaves no tensors behind');
  assert.ok(r.record['loss/concept'] === null || Number.isFinite(r.record['loss/concept'] as number));
  t.dispose();
  const rl = new CoprsTrainer(resolveCoprsTrainConfig('tiny', { mode: 'rl', concept: { weight: 1 }, model: { conceptProbe: true } }), build(), sources);
  assert.equal(rl.trainStep().record['loss/concept'], null, 'rl mode has no SEG side, so no probe loss');
  rl.dispose();
});

test('seg.rows = conclusion: L_SEG weights each row (Σ w·row / Σ w, 0 when all weights are 0); a GRPO step logs the share of rollouts concluding the target', async () => {
  const { segLoss } = await import('../src/train/coprs/losses');
  const cfg = resolveCoprsTrainConfig('tiny').seg;
  assert.equal(cfg.rows, 'all', 'the paper trains on every rollout');
  const w = { lambdaD: 1, lambdaF: 0, lambdaHeatDice: 0 };
  const prior = tf.randomNormal([2, 4, 4], 0, 1, 'float32', 1);
  const masks = tf.randomNormal([2, 4, 4], 0, 1, 'float32', 2);
  const targets = tf.tensor3d([...new Array(16).fill(0).map((_, i) => (i < 5 ? 1 : 0)), ...new Array(16).fill(0).map((_, i) => (i > 9 ? 1 : 0))], [2, 4, 4]);
  const plain = segLoss({ prior, masks, targets }, cfg, w);
  const rows = tf.tidy(() => plain.bce.add(plain.dice).arraySync() as number[]);
  const first = segLoss({ prior, masks, targets, rowWeights: [1, 0] }, cfg, w);
  assert.ok(Math.abs(first.total.dataSync()[0] - rows[0]) < 1e-5);
  const mixed = segLoss({ prior, masks, targets, rowWeights: [1, 0.5] }, cfg, w);
  assert.ok(Math.abs(mixed.total.dataSync()[0] - (rows[0] + 0.5 * rows[1]) / 1.5) < 1e-5);
  const none = segLoss({ prior, masks, targets, rowWeights: [0, 0] }, cfg, w);
  assert.equal(none.total.dataSync()[0], 0);
  assert.ok(Math.abs(plain.total.dataSync()[0] - (rows[0] + rows[1]) / 2) < 1e-5);
  tf.dispose([prior, masks, targets, plain, first, mixed, none] as never);
  assert.throws(() => resolveCoprsTrainConfig('tiny', { seg: { rows: 'some' } }), /seg\.rows must be "all"/);

  const sources: CoprsSources = { sam: { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 }, policy: null };
  const sam = tinySam(3);
  const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed: 3 });
  const t = new CoprsTrainer(resolveCoprsTrainConfig('tiny', { warmup: { steps: 1 }, seg: { rows: 'conclusion' } }), new CoprsModel(policy, sam, resolveCoprsModelConfig({ seed: 3 })), sources);
  assert.equal(t.trainStep().record.seg_row_share, 1, 'warm-up rows are ground-truth chains');
  const g = t.trainStep().record.seg_row_share as number;
  assert.ok(g >= 0 && g <= 1, `share ${g}`);
  const n = tf.memory().numTensors;
  t.trainStep();
  assert.equal(tf.memory().numTensors, n);
  t.dispose();
});
