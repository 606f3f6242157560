/**
 * The policy (src/models/policy): tokenizer and vocabulary coverage, prompt layout, the decoder
 * (padding invariance, the wasm batched-matmul route), KV-cache decoding against a full forward
 * pass (logits ≤ 1e-4), generation (determinism, rollouts, stop tokens, cache/no-cache agreement),
 * teacher-forced log-probabilities and the <REF_POS> hidden state, the format reward, the
 * conclusion check, checkpoints, evaluation, and a leak test for batched generation.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { DEFAULT_DATA_DIR, frozenSplits, trainStream, shapeWorldMeta, composeScene } from '../src/data/shapeworld/index';
import { readIndex } from '../src/data/shapeworld/store';
import { Tokenizer, SPECIAL_TOKENS, BOS, EOS, IMAGE, REF_POS, THINK, UNK, PAD } from '../src/models/policy/tokenizer';
import { encodePrompt, encodeResponse, promptText, responseText, INSTRUCTION } from '../src/models/policy/prompt';
import { PolicyModel } from '../src/models/policy/model';
import { resolvePolicyConfig } from '../src/models/policy/config';
import { packRows } from '../src/models/policy/batch';
import { generate } from '../src/models/policy/generate';
import { logProbs, lastRefPosIndex, disposeLogProbs, packForScoring, scoreResponses } from '../src/models/policy/logprobs';
import { batchMatMul } from '../src/models/policy/bmm';
import { formatReward, checkFormat, parseConclusion, conclusionHitsTarget } from '../src/models/policy/format';
import { StubImageEncoder, EmbeddingCache } from '../src/models/policy/vision';
import { savePolicy, loadPolicy } from '../src/models/policy/checkpoint';
import { evaluatePolicy } from '../src/models/policy/eval';
import { pickToken } from '../src/models/policy/sampling';
import { Rng } from '../src/util/rng';
import { saveCheckpoint } from '../src/train/checkpoint';

const tok = Tokenizer.default();
let encoder: StubImageEncoder;
let model: PolicyModel;

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, `wasm must start: ${a.detail}`);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(16, 16, 128, 3);
  model = PolicyModel.create('tiny', encoder, { seed: 5 });
});

const samples = trainStream('refshapes', { seed: 99 }).take(3);
const reasonSamples = trainStream('reasonshapes', { seed: 99 }).take(2);

// ---------------------------------------------------------------- tokenizer, vocabulary, prompt

test('special tokens have fixed ids and the vocabulary holds digits, JSON punctuation and answer keys', () => {
  SPECIAL_TOKENS.forEach((s, i) => assert.equal(tok.id(s), i));
  assert.deepEqual([PAD, BOS, EOS, UNK, IMAGE, THINK, REF_POS], [0, 1, 2, 3, 4, 5, 7]);
  for (const t of [...'0123456789', '{', '}', '[', ']', ':', ',', '"', '.', '?', 'bbox', 'points_1', 'points_2', '[SEG]', '[LOC]', '<answer>', '</answer>']) assert.ok(tok.has(t), `missing ${t}`);
  assert.ok(tok.size > 300 && tok.size < 600, `vocabulary size ${tok.size}`);
});

test('encode lower-cases, splits punctuation and digits, keeps special tokens whole; unknown words become <unk>', () => {
  assert.deepEqual(tok.encode('The RED circle.').map((i) => tok.tokens[i]), ['the', 'red', 'circle', '.']);
  assert.deepEqual(tok.encode('<think>a</think> <REF_POS>').map((i) => tok.tokens[i]), ['<think>', 'a', '</think>', '<REF_POS>']);
  assert.deepEqual(tok.encode('xylophone medium-sized'), [UNK, tok.id('medium-sized')]);
  assert.deepEqual(tok.encode('{"bbox": [12, 3]}').map((i) => tok.tokens[i]), ['{', '"', 'bbox', '"', ':', '[', '1', '2', ',', '3', ']', '}']);
  assert.equal(tok.decode(tok.encode('{"bbox": [12, 3], "points_1": [4, 56]}')), '{"bbox": [12, 3], "points_1": [4, 56]}');
  assert.deepEqual(tok.unknownWords('a xylophone'), ['xylophone']);
  assert.throws(() => tok.decode([tok.size]), /outside the vocabulary/);
  assert.throws(() => new Tokenizer(['<bos>', '<pad>']), /token 0 must be "<pad>"/);
});

test('decode(encode(response)) reproduces a chain of thought, lower-cased', () => {
  for (const s of [...samples, ...reasonSamples]) {
    const r = responseText(s.cot!.text);
    assert.equal(tok.decode(tok.encode(r)), r.toLowerCase().replace('<ref_pos>', '<REF_POS>'));
    assert.deepEqual(tok.unknownWords(r), []);
  }
});

test('the frozen vocabulary covers every query and chain of thought of the frozen splits and of fresh stream samples', async () => {
  const missing = new Set<string>();
  for (const spec of frozenSplits()) {
    for (const r of await readIndex(path.join(DEFAULT_DATA_DIR, spec.dataset, spec.split))) for (const w of tok.unknownWords(`${r.query} ${r.cot.text}`)) missing.add(w);
  }
  for (const ds of ['refshapes', 'reasonshapes']) for (const s of trainStream(ds, { seed: 4242 }).take(40)) for (const w of tok.unknownWords(`${s.query} ${s.cot!.text}`)) missing.add(w);
  for (const w of tok.unknownWords(INSTRUCTION)) missing.add(w);
  assert.deepEqual([...missing], []);
});

test('a prompt is <bos>, N <image> tokens, the instruction, then the query; an empty query is an error', () => {
  const ids = encodePrompt(tok, 'the red circle', 16);
  assert.equal(ids[0], BOS);
  assert.deepEqual(ids.slice(1, 17), new Array(16).fill(IMAGE));
  assert.ok(!ids.slice(17).includes(IMAGE));
  assert.match(tok.decode(ids.slice(17)), /^find the object .*<think><\/think>.*<REF_POS>\. query: the red circle$/);
  assert.throws(() => promptText('  '), /query is empty/);
  const r = encodeResponse(tok, 'So the target is the small red circle on the left.');
  assert.equal(r[0], THINK);
  assert.deepEqual(r.slice(-2), [REF_POS, EOS]);
});

// ---------------------------------------------------------------- model

test('policy configs: presets resolve, invariants throw with what to change', () => {
  assert.equal(resolvePolicyConfig('small').dim, 128);
  assert.throws(() => resolvePolicyConfig('small', { heads: 3 }), /divisible by policy.heads/);
  assert.throws(() => resolvePolicyConfig('small', { width: 3 }), /unknown key/);
  assert.throws(() => resolvePolicyConfig('huge'), /unknown preset/);
  const counts = Object.fromEntries(['tiny', 'small', 'base'].map((p) => {
    const m = PolicyModel.create(p, { embedDim: 64, gridSize: 16 });
    const n = m.paramCount();
    m.dispose();
    return [p, n];
  }));
  assert.ok(counts.tiny < counts.small && counts.small < counts.base, JSON.stringify(counts));
});

test('batchMatMul (depthwise route on wasm) equals tf.matMul, values and gradients, for every transpose combination', () => {
  const rng = new Rng(1);
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    tf.tidy(() => {
      const a = rand(ta ? [2, 3, 40, 48] : [2, 3, 48, 40]);
      const b = rand(tb ? [2, 3, 36, 40] : [2, 3, 40, 36]);
      const w = rand([2, 3, 48, 36]);
      const f1 = (x: tf.Tensor, y: tf.Tensor) => batchMatMul(x, y, ta, tb).mul(w).sum();
      const f2 = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb).mul(w).sum();
      const [y1, y2] = [batchMatMul(a, b, ta, tb), tf.matMul(a, b, ta, tb)];
      assert.ok(tf.max(tf.abs(y1.sub(y2))).dataSync()[0] < 1e-4);
      const g1 = tf.grads(f1)([a, b]);
      const g2 = tf.grads(f2)([a, b]);
      for (let i = 0; i < 2; i++) assert.ok(tf.max(tf.abs(g1[i].sub(g2[i]))).dataSync()[0] < 1e-4, `grad ${i} ta=${ta} tb=${tb}`);
    });
  }
});

test('padding changes nothing: a padded batch gives each row the hidden states of its unpadded run', () => {
  const prompts = samples.map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const emb = model.embedImages(encoder, samples.map((s) => s.image));
  tf.tidy(() => {
    const vis = model.visionTokens(emb);
    for (const layout of ['right', 'end'] as const) {
      const batch = packRows(prompts, model.imageTokens, layout);
      const all = model.forward(batch, vis).hidden;
      prompts.forEach((p, b) => {
        const one = model.forward(packRows([p], model.imageTokens), vis.slice([b, 0, 0], [1, -1, -1]) as tf.Tensor3D).hidden;
        const start = batch.bodyStart[b];
        const prefix = 1 + model.imageTokens;
        const rowA = all.slice([b, 0, 0], [1, prefix, -1]);
        const rowB = one.slice([0, 0, 0], [1, prefix, -1]);
        const bodyA = all.slice([b, start, 0], [1, p.length - prefix, -1]);
        const bodyB = one.slice([0, prefix, 0], [1, p.length - prefix, -1]);
        assert.ok(tf.max(tf.abs(rowA.sub(rowB))).dataSync()[0] < 1e-4, `${layout} prefix row ${b}`);
        assert.ok(tf.max(tf.abs(bodyA.sub(bodyB))).dataSync()[0] < 1e-4, `${layout} body row ${b}`);
      });
    }
  });
  emb.dispose();
});

// ---------------------------------------------------------------- generation

test('KV-cache decoding and a full forward pass give the same logits (≤ 1e-4), batched over prompts × G', () => {
  const prompts = samples.map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const emb = model.embedImages(encoder, samples.map((s) => s.image));
  const G = 2;
  const r = generate(model, prompts, emb, { maxTokens: 12, G, temperature: 1, rng: 3, stopIds: [], collectLogits: true });
  const V = tok.size;
  tf.tidy(() => {
    const vis = model.visionTokens(emb);
    const visRep = tf.gather(vis, tf.tensor1d(r.promptIndex, 'int32')) as tf.Tensor3D;
    const rows = r.ids.map((ids, i) => [...prompts[r.promptIndex[i]], ...ids]);
    const batch = packRows(rows, model.imageTokens, 'right');
    const logits = model.logits(model.forward(batch, visRep).hidden).dataSync();
    let maxErr = 0;
    r.ids.forEach((ids, i) => {
      const p = prompts[r.promptIndex[i]].length;
      for (let t = 0; t < ids.length; t++) {
        const full = logits.subarray((i * batch.L + p + t - 1) * V, (i * batch.L + p + t) * V);
        const step = r.stepLogits![t].subarray(i * V, (i + 1) * V);
        for (let v = 0; v < V; v++) maxErr = Math.max(maxErr, Math.abs(full[v] - step[v]));
      }
    });
    assert.ok(maxErr <= 1e-4, `max |cache − full| = ${maxErr}`);
  });
  emb.dispose();
});

test('generation: deterministic per seed, cache and no-cache agree, G rollouts per prompt, stop token ends a row', () => {
  const prompts = samples.slice(0, 2).map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const emb = model.embedImages(encoder, samples.slice(0, 2).map((s) => s.image));
  const a = generate(model, prompts, emb, { maxTokens: 10, G: 3, temperature: 1, topP: 0.9, rng: 11 });
  const b = generate(model, prompts, emb, { maxTokens: 10, G: 3, temperature: 1, topP: 0.9, rng: 11 });
  const c = generate(model, prompts, emb, { maxTokens: 10, G: 3, temperature: 1, topP: 0.9, rng: 11, useCache: false });
  assert.deepEqual(a.ids, b.ids);
  assert.deepEqual(a.ids, c.ids);
  assert.equal(a.ids.length, 6);
  assert.deepEqual(a.promptIndex, [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(a.lengths, a.ids.map((x) => x.length));
  assert.equal(a.text.length, 6);
  // greedy: every rollout of a prompt is the same
  const g = generate(model, prompts, emb, { maxTokens: 6, G: 2 });
  assert.deepEqual(g.ids[0], g.ids[1]);
  // a stop token that the model emits ends its row there, kept as the last id
  const first = g.ids[0][2];
  const s = generate(model, prompts, emb, { maxTokens: 6, G: 2, stopIds: [first] });
  assert.equal(s.ids[0][s.ids[0].length - 1], first);
  assert.ok(s.finished[0] && s.lengths[0] <= 3);
  assert.throws(() => generate(model, prompts, emb, { maxTokens: 6, temperature: -1 }), /temperature/);
  assert.throws(() => generate(model, prompts, emb, { maxTokens: 10_000 }), /maxSeqLen/);
  emb.dispose();
});

test('top-p sampling keeps only the nucleus; temperature 0 is argmax', () => {
  const logits = Float32Array.from([0, 5, 4.9, -3]);
  const rng = new Rng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(pickToken(logits, 0, 4, { temperature: 1, topP: 0.5 }, rng));
  assert.deepEqual([...seen].sort(), [1]);
  for (let i = 0; i < 200; i++) seen.add(pickToken(logits, 0, 4, { temperature: 1, topP: 0.99 }, rng));
  assert.deepEqual([...seen].sort(), [1, 2]);
  assert.equal(pickToken(logits, 0, 4, { temperature: 0, topP: 1 }, rng), 1);
});

test('leak test: a batched generation allocates no lasting tensors', () => {
  const prompts = samples.map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const emb = model.embedImages(encoder, samples.map((s) => s.image));
  const run = () => generate(model, prompts, emb, { maxTokens: 8, G: 4, temperature: 1, rng: 1 });
  run();
  const before = tf.memory().numTensors;
  run();
  generate(model, prompts, emb, { maxTokens: 8, G: 2, useCache: false });
  assert.equal(tf.memory().numTensors, before);
  emb.dispose();
});

// ---------------------------------------------------------------- teacher-forced scoring

test('logProbs: per-token log-probabilities match the full forward pass; hidden state at the LAST <REF_POS>; a response without one falls back to its last token', () => {
  const prompts = samples.slice(0, 2).map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const emb = model.embedImages(encoder, samples.slice(0, 2).map((s) => s.image));
  const responses = [tok.encode('<think>a red circle</think> <REF_POS> <REF_POS>').concat(EOS), tok.encode('<think>no token</think>')];
  assert.equal(lastRefPosIndex(responses[0]), responses[0].length - 2);
  assert.equal(lastRefPosIndex(responses[1]), -1);
  tf.tidy(() => {
    const vis = model.visionTokens(emb);
    const r = logProbs(model, prompts, responses, vis, { withHidden: true });
    assert.deepEqual(r.refPosIndex, [responses[0].length - 2, -1]);
    assert.deepEqual(r.refPosFound, [true, false]);
    const R = Math.max(...responses.map((x) => x.length));
    assert.deepEqual(r.logProbs.shape, [2, R]);
    assert.deepEqual(r.hidden!.shape, [2, R, model.config.dim]);
    const lay = packForScoring(model, prompts, responses);
    const hidden = model.forward(lay.batch, vis).hidden;
    const logp = tf.logSoftmax(model.logits(hidden)).arraySync() as number[][][];
    const got = r.logProbs.arraySync();
    const mask = r.mask.arraySync();
    responses.forEach((resp, b) => {
      resp.forEach((t, i) => assert.ok(Math.abs(got[b][i] - logp[b][lay.respStart[b] + i - 1][t]) < 1e-4, `row ${b} token ${i}`));
      for (let i = resp.length; i < R; i++) assert.equal(mask[b][i], 0);
    });
    const h = hidden.arraySync() as number[][][];
    const e = r.refPosHidden.arraySync();
    const at0 = lay.respStart[0] + responses[0].length - 2; // the last <REF_POS>
    const at1 = lay.respStart[1] + responses[1].length - 1; // fallback: the last response token
    assert.ok(Math.max(...e[0].map((v, k) => Math.abs(v - h[0][at0][k]))) < 1e-5);
    assert.ok(Math.max(...e[1].map((v, k) => Math.abs(v - h[1][at1][k]))) < 1e-5);
    const hid = r.hidden!.arraySync();
    assert.ok(Math.max(...hid[0][2].map((v, k) => Math.abs(v - h[0][lay.respStart[0] + 2][k]))) < 1e-5);
  });
  assert.throws(() => logProbs(model, prompts, responses.slice(0, 1), emb as unknown as tf.Tensor3D), /one response per prompt/);
  emb.dispose();
});

test('logProbs is differentiable and leaves no tensors behind', () => {
  const prompts = samples.slice(0, 2).map((s) => encodePrompt(tok, s.query, model.imageTokens));
  const responses = samples.slice(0, 2).map((s) => encodeResponse(tok, s.cot!.text).slice(0, 20));
  const emb = model.embedImages(encoder, samples.slice(0, 2).map((s) => s.image));
  const vars = model.params.entries().map(([, v]) => v);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const r = scoreResponses(model, packForScoring(model, prompts, responses), model.visionTokens(emb));
      return r.logProbs.sum().add(r.refPosHidden.sum()).neg() as tf.Scalar;
    }, vars);
    assert.ok(Object.keys(grads).length === vars.length);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  step();
  const r = logProbs(model, prompts, responses, tf.tidy(() => model.visionTokens(emb)));
  disposeLogProbs(r);
  assert.equal(tf.memory().numTensors, before + 1); // the vision tokens passed in above
  emb.dispose();
});

// ---------------------------------------------------------------- format reward and conclusions

test('format reward: the paper\'s five canonical cases, and the official code\'s words rule', () => {
  assert.equal(formatReward('<think>the red one</think> <REF_POS>'), 1.0);
  assert.equal(formatReward('<think>the red one</think>'), 0);
  assert.equal(formatReward('<think> </think> <REF_POS>'), 0);
  assert.equal(formatReward('<think>a</think> <REF_POS> <REF_POS>'), 0);
  assert.equal(formatReward('<REF_POS> <think>a</think>'), 0);
  assert.equal(formatReward('<think>a</think><think>b</think> <REF_POS>'), 0);
  assert.equal(formatReward(`<think>${'x'.repeat(2049)}</think> <REF_POS>`), 0.9);
  assert.equal(formatReward(`<think>${'x'.repeat(2048)}</think> <REF_POS>`), 1.0);
  assert.equal(formatReward('hello <think>a</think> <REF_POS>'), 0.9);
  assert.equal(formatReward('<think>a</think> <REF_POS> bye'), 0.9);
  assert.equal(formatReward('  <think>a</think> here it is: <REF_POS>  '), 1.0);
  const many = `<think>a</think> ${'w '.repeat(11)}<REF_POS>`;
  assert.equal(formatReward(many, 'paper'), 1.0);
  assert.equal(formatReward(many, 'code'), 0.9);
  assert.deepEqual(checkFormat('<think>a</think> <REF_POS> bye').reasons, ['text after <REF_POS>']);
});

test('conclusions: parsed from the last "so the target is" sentence; attributes must single out the target, position only where needed', () => {
  assert.deepEqual(parseConclusion('... So the target is the medium-sized blue star on the left.'), { size: 'medium', color: 'blue', shape: 'star', position: 'left' });
  assert.deepEqual(parseConclusion('so the target is the large red circle in the top left.</think>'), { size: 'large', color: 'red', shape: 'circle', position: 'top left' });
  assert.equal(parseConclusion('so the target is the red circle.'), null);
  assert.equal(parseConclusion('no conclusion here'), null);
  for (const s of [...samples, ...reasonSamples]) {
    const m = shapeWorldMeta(s);
    assert.ok(conclusionHitsTarget(parseConclusion(s.cot!.text), m.scene, m.targetIds), s.cot!.text);
    const other = m.scene.objects.find((o) => o.id !== m.targetIds[0] && (o.color !== m.scene.objects[m.targetIds[0]].color || o.shape !== m.scene.objects[m.targetIds[0]].shape));
    if (other) assert.ok(!conclusionHitsTarget({ size: other.size, color: other.color, shape: other.shape, position: other.position }, m.scene, m.targetIds));
  }
  // two identical objects: the position word decides
  const scene = composeScene([
    { shape: 'circle', color: 'red', size: 'small', cx: 20, cy: 20 },
    { shape: 'circle', color: 'red', size: 'small', cx: 108, cy: 108 },
  ]);
  const [a, b] = scene.objects;
  assert.ok(conclusionHitsTarget({ size: 'small', color: 'red', shape: 'circle', position: a.position }, scene, [a.id]));
  assert.ok(!conclusionHitsTarget({ size: 'small', color: 'red', shape: 'circle', position: b.position }, scene, [a.id]));
  assert.ok(!conclusionHitsTarget({ size: 'small', color: 'red', shape: 'circle', position: null }, scene, [a.id]));
});

// ---------------------------------------------------------------- checkpoints, caching, evaluation

test('checkpoints round-trip (weights, vocabulary, config, encoder record); a wrong kind or size is a clear error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-ckpt-'));
  const source = { kind: 'stub' as const, embedDim: 16, gridSize: 16, seed: 3 };
  await savePolicy(path.join(dir, 'p'), model, source, { step: 7 });
  const bundle = loadPolicy(path.join(dir, 'p'));
  try {
    assert.equal(bundle.meta!.step, 7);
    assert.equal(bundle.model.tokenizer.size, tok.size);
    const prompts = [encodePrompt(tok, samples[0].query, model.imageTokens)];
    const emb = model.embedImages(encoder, [samples[0].image]);
    const a = generate(model, prompts, emb, { maxTokens: 5 });
    const e2 = bundle.model.embedImages(bundle.encoder!, [samples[0].image]);
    const b = generate(bundle.model, prompts, e2, { maxTokens: 5 });
    e2.dispose();
    assert.deepEqual(a.ids, b.ids);
    emb.dispose();
  } finally {
    bundle.dispose();
  }
  assert.throws(() => loadPolicy(path.join(dir, 'p'), { size: 'small' }), /holds size "tiny"; expected size "small"/);
  await saveCheckpoint(path.join(dir, 'sam'), { kind: 'sam', size: 'S', config: {}, step: 0, tensors: [] });
  assert.throws(() => loadPolicy(path.join(dir, 'sam')), /is a "sam" checkpoint; this command needs a "policy" checkpoint/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the embedding cache embeds each image once and frees its tensors', () => {
  const before = tf.memory().numTensors;
  const cache = new EmbeddingCache(encoder, { maxEntries: 2, pixelPool: 4 });
  const e1 = cache.embed(['a', 'b'], samples.slice(0, 2).map((s) => s.image));
  const e2 = cache.embed(['b', 'a'], [samples[1].image, samples[0].image]);
  assert.ok(tf.tidy(() => tf.max(tf.abs(e1.slice([0], [1]).sub(e2.slice([1], [1])))).dataSync()[0]) === 0);
  assert.equal(cache.size, 2);
  cache.embed(['c'], [samples[2].image]).dispose();
  assert.equal(cache.size, 2);
  tf.dispose([e1, e2]);
  cache.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('evaluatePolicy scores generated responses (format validity, target accuracy, distinct responses per group)', async () => {
  const r = await evaluatePolicy(model, { samples: samples.slice(0, 2), encoder, maxTokens: 6, G: 3, temperature: 1, perSample: true });
  assert.equal(r.count, 2);
  assert.equal(r.responses, 6);
  assert.ok(r.distinctPerGroup! >= 1 && r.distinctPerGroup! <= 3);
  assert.ok(r.formatValidity >= 0 && r.formatValidity <= 1);
  assert.equal(r.perSample!.length, 6);
  const families = samples.slice(0, 2).map((s) => (s.meta as { family: string }).family);
  assert.deepEqual(Object.keys(r.byFamily).sort(), [...new Set(families)].sort());
  assert.equal(Object.values(r.byFamily).reduce((n, f) => n + f.count, 0), 2);
  const hits = r.perSample!.filter((p) => p.correct && p.id === samples[0].id).length / 3;
  if (families[0] !== families[1]) assert.equal(r.byFamily[families[0]].targetAccuracy, hits);
  await assert.rejects(() => evaluatePolicy(model, { samples: samples.slice(0, 1) }), /no image encoder/);
});

test('the wasm attention core equals plain attention, values and gradients', async () => {
  const { attentionCore } = await import('../src/models/policy/attention-core');
  const rng = new Rng(9);
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
  tf.tidy(() => {
    const [B, H, T, dh] = [2, 3, 20, 8];
    const q = rand([B, H, T, dh]) as tf.Tensor4D;
    const k = rand([B, H, T, dh]) as tf.Tensor4D;
    const v = rand([B, H, T, dh]) as tf.Tensor4D;
    const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9).reshape([1, 1, T, T]);
    const pad = tf.tensor4d(Array.from({ length: B * T }, (_, i) => (i === 3 ? -1e9 : 0)), [B, 1, 1, T]);
    const bias = causal.add(pad) as tf.Tensor4D;
    const w = rand([B, T, H * dh]);
    const plain = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.matMul(tf.softmax(tf.matMul(a, b, false, true).add(bias)), c).transpose([0, 2, 1, 3]).reshape([B, T, H * dh]);
    const core = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attentionCore(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, bias);
    assert.ok(tf.max(tf.abs(core(q, k, v).sub(plain(q, k, v)))).dataSync()[0] < 1e-5);
    const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => core(a, b, c).mul(w).sum())([q, k, v]);
    const g2 = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => plain(a, b, c).mul(w).sum())([q, k, v]);
    for (let i = 0; i < 3; i++) assert.ok(tf.max(tf.abs(g1[i].sub(g2[i]))).dataSync()[0] < 1e-4, `grad ${i}`);
  });
});

test('the colour side channel stacks the pooled encoder input onto each embedding cell', async () => {
  const { withPixelChannel, encoderInput, pixelChannels } = await import('../src/models/policy/vision');
  assert.equal(pixelChannels({ ...model.config, vision: { ...model.config.vision, pixelPool: 4 } }, 16), 12);
  assert.equal(pixelChannels(model.config, 16), 192); // pixelPool 1: every pixel of the 8×8 cell
  tf.tidy(() => {
    const x = encoderInput(encoder, [samples[0].image]);
    const e = encoder.apply(x);
    const y = withPixelChannel(e, x, 4);
    assert.deepEqual(y.shape, [1, 16, 16, 16 + 12]);
    // cell (row 3, col 5), pooled pixel (1, 0), green channel = mean of x[28..31, 40..43, 1]
    const want = x.slice([0, 28, 40, 1], [1, 4, 4, 1]).mean().dataSync()[0];
    const got = y.slice([0, 3, 5, 16 + (1 * 2 + 0) * 3 + 1], [1, 1, 1, 1]).dataSync()[0];
    assert.ok(Math.abs(got - want) < 1e-5);
    assert.throws(() => model.visionTokens(e), /pixel channels; use PolicyModel.embedImages/);
  });
});

test('the patch tower reads the full-resolution image back from the image input and reaches the token grid', async () => {
  const { withPixelChannel, encoderInput } = await import('../src/models/policy/vision');
  const { PatchTower, pixelsToImage } = await import('../src/models/policy/tower');
  const { Params } = await import('../src/nn/params');
  tf.tidy(() => {
    const x = encoderInput(encoder, [samples[0].image, samples[1].image]);
    const y = withPixelChannel(encoder.apply(x), x, 1); // B x 16 x 16 x (16 + 192)
    assert.deepEqual(y.shape, [2, 16, 16, 16 + 192]);
    const back = pixelsToImage(y.slice([0, 0, 0, 16], [-1, -1, -1, 192]) as tf.Tensor4D);
    assert.equal(back.sub(x).abs().max().dataSync()[0], 0);
    const p = Params.create(3);
    const tower = new PatchTower(p, 128, 8, [4, 8, 8, 12], 1);
    assert.deepEqual(tower.apply(x).shape, [2, 8, 8, 12]);
    assert.throws(() => new PatchTower(Params.create(4), 128, 8, [4, 8, 8], 1), /needs log2\(128\/8\) = 4/);
    p.dispose();
  });
  const { resolvePolicyConfig } = await import('../src/models/policy/config');
  assert.throws(() => resolvePolicyConfig('small', { vision: { pixelPool: 4 } }), /set policy.vision.pixelPool to 1/);
  assert.doesNotThrow(() => resolvePolicyConfig('small', { vision: { pixelPool: 4, tower: [] } }));
});
