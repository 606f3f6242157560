/**
 * Stage 2's lookup drills (`sft.lookupDrill`, src/train/sft/lookup-drill.ts): the filter sentences
 * in the benchmark's words (hand-written for one scene), the drill's draws, the batch rows it
 * changes, the config checks, and a training step with drills that leaks no tensors.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { filterSentence } from '../src/data/shapeworld/cot';
import { shapeWorldMeta, trainStream } from '../src/data/shapeworld/index';
import { Tokenizer } from '../src/models/policy/tokenizer';
import { StubImageEncoder } from '../src/models/policy/vision';
import type { EncoderSource } from '../src/models/policy/checkpoint';
import { resolveSftConfig } from '../src/train/sft/config';
import { SftData, encodeSample, makeBatch } from '../src/train/sft/data';
import { drillPredicates, lookupDrill } from '../src/train/sft/lookup-drill';
import { halfBatchGrads } from '../src/train/sft/grad-worker';
import { POLICY_PRESETS } from '../src/models/policy/config';
import { PolicyModel } from '../src/models/policy/model';
import { disposeLogProbs, logProbs } from '../src/models/policy/logprobs';
import { tokenLabels } from '../src/train/sft/perception';
import { SftTrainer } from '../src/train/sft/trainer';
import { Rng } from '../src/util/rng';

const tok = Tokenizer.default();
const source: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };
let encoder: StubImageEncoder;

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(64, 16, 128, 1);
});

// The first refshapes train sample of stream seed 7; its chain lists: "a large red cross at the top, a
// medium-sized purple star in the center, a small orange star on the right, a small yellow square in the
// bottom left, a medium-sized orange diamond at the bottom and a large green circle at the bottom".
const sample = () => trainStream('refshapes', { seed: 7 }).take(1)[0];

test('filterSentence: the benchmark\'s filter step, in reading order, for a hand-read scene', () => {
  const s = sample();
  assert.match(s.cot!.text, /a large red cross at the top, a medium-sized purple star in the center, a small orange star on the right, a small yellow square in the bottom left, a medium-sized orange diamond at the bottom and a large green circle at the bottom\./);
  const scene = shapeWorldMeta(s).scene;
  const id = (shape: string, color: string) => scene.objects.find((o) => o.shape === shape && o.color === color)!.id;
  const stars = [id('star', 'orange'), id('star', 'purple')]; // any order in: reading order out
  assert.equal(filterSentence(scene, { type: 'shape', value: 'star' }, false, stars), 'Keeping only the stars leaves the medium-sized purple star and the small orange star.');
  assert.equal(filterSentence(scene, { type: 'color', value: 'orange' }, true, [id('circle', 'green'), id('square', 'yellow'), id('star', 'purple'), id('cross', 'red')]), 'Leaving out the orange ones leaves the large red cross, the medium-sized purple star, the small yellow square and the large green circle.');
  assert.equal(filterSentence(scene, { type: 'size', value: 'large' }, false, [id('cross', 'red'), id('circle', 'green')]), 'Keeping only the large ones leaves the large red cross and the large green circle.');
  assert.equal(filterSentence(scene, { type: 'color', value: 'blue' }, false, []), 'Keeping only the blue ones leaves nothing.');
});

test('lookupDrill: distinct predicates while they last, each keeps what it says (negation too) and something; deterministic', () => {
  const scene = shapeWorldMeta(sample()).scene;
  const preds = drillPredicates(scene);
  assert.equal(preds.length, 5 + 5 + 3, 'five colours, five shapes, three sizes in this scene');
  const steps = lookupDrill(scene, new Rng(11), 13, 0.5);
  assert.equal(new Set(steps.map((s) => `${s.pred.type}:${s.pred.value}`)).size, 13);
  assert.ok(steps.some((s) => s.negate) && steps.some((s) => !s.negate));
  for (const s of steps) {
    const match = scene.objects.filter((o) => (s.pred.type === 'color' ? o.color : s.pred.type === 'shape' ? o.shape : o.size) === s.pred.value).map((o) => o.id);
    const want = s.negate ? scene.objects.map((o) => o.id).filter((i) => !match.includes(i)) : match;
    assert.deepEqual([...s.kept].sort(), [...want].sort());
    assert.ok(s.kept.length > 0);
    assert.equal(s.sentence, filterSentence(scene, s.pred, s.negate, s.kept));
    assert.equal(s.opening + s.result, s.sentence);
    assert.ok(s.opening.endsWith(' leaves') && s.result.startsWith(' the ') && s.result.endsWith('.'));
  }
  assert.deepEqual(lookupDrill(scene, new Rng(11), 13, 0.5), steps);
  assert.equal(lookupDrill(scene, new Rng(1), 20).length, 20, 'more steps than predicates: the pool repeats');
  assert.throws(() => lookupDrill(scene, new Rng(1), 0), /n ≥ 1/);
});

test('makeBatch with drill rows: listing into the prompt, drill sentences (no end token) as the response, the next row\'s image; a row cannot be both', () => {
  const samples = trainStream('refshapes', { seed: 4 }).take(3);
  const plain = makeBatch(tok, samples, 16);
  const b = makeBatch(tok, samples, 16, [], { rows: [1], sentences: 3, rng: new Rng(5) });
  assert.equal(b.drilledRows, 1);
  assert.equal(b.listedRows, 0);
  const e = encodeSample(tok, samples[1], 16);
  const context = tok.decode(b.prompts[1].slice(e.prompt.length));
  assert.match(context, /the picture shows/);
  assert.ok(context.trim().endsWith('.'));
  const steps = lookupDrill(shapeWorldMeta(samples[1]).scene, new Rng(5), 3);
  assert.deepEqual(b.responses[1], tok.encode(steps.map((s) => s.sentence).join(' ')));
  assert.equal(tok.decode(b.responses[1]).split('.').length - 1, 3);
  // the loss counts each step's result (from the word after "leaves" to the full stop), nothing else
  const mask = b.lossMask[1]!;
  assert.equal(mask.length, b.responses[1].length);
  const counted = b.responses[1].filter((_, t) => mask[t] === 1);
  assert.deepEqual(counted, steps.flatMap((s) => tok.encode(s.result)));
  assert.equal(tok.decode(b.responses[1].filter((_, t) => mask[t] === 0)).split('leaves').length - 1, 3, 'the masked-out tokens are the three openings');
  assert.deepEqual([b.lossMask[0], b.lossMask[2]], [null, null]);
  assert.equal(b.responseTokens, plain.responseTokens - plain.responses[1].length + mask.reduce((a, x) => a + x, 0));
  assert.notEqual(b.responses[1][b.responses[1].length - 1], e.response[e.response.length - 1], 'no end token');
  assert.equal(b.images[1], samples[2].image);
  assert.deepEqual(b.tokenLabels[1], tokenLabels(samples[2], 4));
  for (const i of [0, 2]) assert.deepEqual(b.responses[i], plain.responses[i]);
  assert.throws(() => makeBatch(tok, samples, 16, [1], { rows: [1], sentences: 3, rng: new Rng(5) }), /both/);
});

test('halfBatchGrads with a loss mask: the loss sums −log p over the counted tokens only, and masked-out tokens get no gradient', () => {
  const cfg = { ...POLICY_PRESETS.tiny, vision: { ...POLICY_PRESETS.tiny.vision } };
  const model = new PolicyModel(cfg, tok, source);
  const samples = trainStream('refshapes', { seed: 4 }).take(2);
  const b = makeBatch(tok, samples, model.imageTokens, [], { rows: [0], sentences: 2, rng: new Rng(5) });
  const vars = [...model.params.entries()].map(([n, v]) => [n, v] as [string, tf.Variable]);
  const emb = model.embedImages(encoder, b.images);
  const r = logProbs(model, b.prompts, b.responses, model.visionTokens(emb));
  const lp = r.logProbs.arraySync() as number[][];
  disposeLogProbs(r);
  emb.dispose();
  const want = -b.responses.reduce((acc, resp, i) => acc + resp.reduce((a, _, t) => a + (b.lossMask[i] ? b.lossMask[i]![t] : 1) * lp[i][t], 0), 0);
  const n0 = tf.memory().numTensors;
  const g = halfBatchGrads(model, encoder, b.prompts, b.responses, b.images, b.responseTokens, vars, null, b.lossMask);
  assert.ok(Math.abs(g.lossSum - want) < 1e-3 * Math.abs(want), `${g.lossSum} vs ${want}`);
  const all = halfBatchGrads(model, encoder, b.prompts, b.responses, b.images, b.responseTokens, vars, null);
  assert.ok(all.lossSum > g.lossSum + 1, 'the drill openings add loss when unmasked');
  // a row whose every token is masked out contributes nothing: its gradients equal those without it
  const zero = halfBatchGrads(model, encoder, b.prompts.slice(0, 1), b.responses.slice(0, 1), b.images.slice(0, 1), 1, vars, null, [b.lossMask[0]!.map(() => 0)]);
  assert.equal(Math.abs(zero.lossSum), 0);
  assert.equal(Math.max(...Object.values(zero.grads).map((t) => tf.tidy(() => t.abs().max().dataSync()[0]))), 0);
  tf.dispose([...Object.values(g.grads), ...Object.values(all.grads), ...Object.values(zero.grads)]);
  assert.equal(tf.memory().numTensors, n0);
  model.dispose();
});

test('SftData with lookupDrill: about that share, disjoint from listing rows, the listing rows unchanged by it; config checks; a step leaks nothing', async () => {
  const opts = { seed: 3, dataSeed: 5, batchSize: 8, reasonFraction: 0.5, bucketBatches: 2, imageTokens: 16, listingFraction: 0.3 };
  const a = new SftData(tok, { ...opts, lookupDrill: { fraction: 0.4, sentences: 2 } });
  const b = new SftData(tok, { ...opts, lookupDrill: { fraction: 0.4, sentences: 2 } });
  const c = new SftData(tok, opts);
  let drilled = 0;
  let rows = 0;
  for (let k = 0; k < 6; k++) {
    const x = a.next();
    const y = b.next();
    const z = c.next();
    assert.deepEqual(x.responses, y.responses);
    assert.equal(x.listedRows, z.listedRows, 'the same rows get the listing context with or without drills');
    assert.ok(x.listedRows + x.drilledRows <= x.samples.length);
    drilled += x.drilledRows;
    rows += x.samples.length;
  }
  assert.ok(drilled / rows > 0.15 && drilled / rows < 0.65, `${drilled} of ${rows}`);
  assert.throws(() => resolveSftConfig('tiny', { lookupDrill: { fraction: 1 } }), /lookupDrill\.fraction/);
  assert.throws(() => resolveSftConfig('tiny', { lookupDrill: { sentences: 0 } }), /lookupDrill\.sentences/);
  assert.throws(() => resolveSftConfig('tiny', { listingFraction: 0.5, lookupDrill: { fraction: 0.5 } }), /must stay below 1/);
  const t = new SftTrainer(resolveSftConfig('tiny', { listingFraction: 0.25, lookupDrill: { fraction: 0.5, sentences: 2 }, workers: 1 }), encoder, source);
  await t.trainStep();
  const n = tf.memory().numTensors;
  const r = await t.trainStep();
  assert.ok(Number.isFinite(r.loss));
  assert.ok(r.drilledRows >= 0);
  assert.equal(tf.memory().numTensors, n);
  t.dispose();
});
