/**
 * Stage 1b, the vision pre-training (src/train/vision/): the per-token targets, the read-out loss
 * against hand-computed values, a step that trains the vision stack only and leaks nothing, resume,
 * and `coprs train sft --vision` starting stage 2 from it (and refusing a mismatched one).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { COLORS, SHAPES, SIZES, shapeWorldMeta, trainStream } from '../src/data/shapeworld/index';
import type { EncoderSource } from '../src/models/policy/checkpoint';
import { PolicyModel } from '../src/models/policy/model';
import { StubImageEncoder } from '../src/models/policy/vision';
import { resolveVisionConfig } from '../src/train/vision/config';
import { VisionReadout } from '../src/train/vision/head';
import { CENTRE_FIELDS, centreLabels } from '../src/train/vision/labels';
import { VisionPretrainer, loadVisionInit, trainVision } from '../src/train/vision/trainer';
import { resolveSftConfig } from '../src/train/sft/config';
import { trainSft } from '../src/train/sft/trainer';
import { loadCheckpoint } from '../src/train/checkpoint';

let encoder: StubImageEncoder;
const stub: EncoderSource = { kind: 'stub', embedDim: 64, gridSize: 16, seed: 1 };
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `coprs-vision-${name}-`));

before(async () => {
  const a = await prepareBackend('wasm');
  assert.ok(a.ok, a.detail);
  await tf.setBackend('wasm');
  encoder = new StubImageEncoder(64, 16, 128, 1);
});

test('centre labels: one token per object at its visible centroid, with its attributes; the rest empty', () => {
  for (const s of trainStream('refshapes', { seed: 3 }).take(6)) {
    const meta = shapeWorldMeta(s);
    const t = 8;
    const l = centreLabels(s, t);
    assert.equal(l.length, t * t * CENTRE_FIELDS);
    const centres = [];
    for (let k = 0; k < t * t; k++) if (l[k * CENTRE_FIELDS] === 1) centres.push(k);
    assert.ok(centres.length >= 1 && centres.length <= meta.scene.objects.length);
    for (const o of meta.scene.objects) {
      const k = Math.floor(o.centroid[1] / 16) * t + Math.floor(o.centroid[0] / 16); // 128 px / 8 tokens = 16 px cells
      assert.equal(l[k * CENTRE_FIELDS], 1, `object ${o.id}'s centroid token is a centre`);
      const owner = meta.scene.objects.filter((p) => Math.floor(p.centroid[1] / 16) * t + Math.floor(p.centroid[0] / 16) === k).sort((a, b) => b.visibleArea - a.visibleArea)[0];
      assert.deepEqual(Array.from(l.subarray(k * CENTRE_FIELDS, (k + 1) * CENTRE_FIELDS)), [1, COLORS.indexOf(owner.color), SHAPES.indexOf(owner.shape), SIZES.indexOf(owner.size)]);
    }
    for (let k = 0; k < t * t; k++) if (l[k * CENTRE_FIELDS] === 0) assert.deepEqual(Array.from(l.subarray(k * CENTRE_FIELDS + 1, (k + 1) * CENTRE_FIELDS)), [-1, -1, -1]);
  }
});

test('read-out loss: with zero weights, hand-computed chance values (covering (ln 7 + ln 8 + ln 4)/3, objectness ln 2, centre (ln 6 + ln 7 + ln 3)/3)', () => {
  const ro = new VisionReadout(4, 0);
  for (const [, v] of ro.params.entries()) v.assign(tf.zerosLike(v));
  const tokens = tf.randomNormal([1, 2, 4]) as tf.Tensor3D;
  // token 0: a red circle's centre covered by it; token 1: background, no centre
  const covering = new Int32Array([0, 0, 0, COLORS.length, SHAPES.length, SIZES.length]);
  const centre = new Int32Array([1, 0, 0, 0, 0, -1, -1, -1]);
  const r = ro.loss(tokens, covering, centre);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  close(r.covering.dataSync()[0], (Math.log(7) + Math.log(8) + Math.log(4)) / 3);
  close(r.objectness.dataSync()[0], Math.log(2));
  close(r.centre.dataSync()[0], (Math.log(6) + Math.log(7) + Math.log(3)) / 3);
  close(r.loss.dataSync()[0], (Math.log(7) + Math.log(8) + Math.log(4)) / 3 + Math.log(2) + (Math.log(6) + Math.log(7) + Math.log(3)) / 3);
  assert.throws(() => ro.loss(tokens, covering.subarray(0, 3), centre), /labels for 1/);
  tf.dispose([tokens, r.loss, r.covering, r.objectness, r.centre]);
  ro.dispose();
});

test('a pre-training step trains the vision stack only and leaks no tensors', () => {
  const cfg = resolveVisionConfig('tiny');
  const t = new VisionPretrainer(cfg, encoder, stub);
  const snap = (prefix: string) => t.model.params.entries(prefix).map(([, v]) => Array.from(v.dataSync()));
  const vision0 = snap('vision');
  const decoder0 = snap('decoder');
  const r1 = t.trainStep();
  assert.ok(Number.isFinite(r1.loss) && r1.loss > 0);
  assert.ok(snap('vision').some((x, i) => x.some((v, j) => v !== vision0[i][j])), 'the vision stack moved');
  assert.deepEqual(snap('decoder'), decoder0, 'the decoder is not touched');
  const n = tf.memory().numTensors;
  t.trainStep();
  t.heldout();
  assert.equal(tf.memory().numTensors, n, 'step + held-out leave no tensors');
  t.dispose();
});

test('train vision: checkpoint + resume; train sft --vision starts from its weights and refuses a mismatched one', async () => {
  const out = tmp('run');
  const cfg = resolveVisionConfig('tiny', { steps: 2 });
  await trainVision(cfg, { out, encoder, source: stub, log: null });
  const r = await trainVision(resolveVisionConfig('tiny', { steps: 3 }), { out, encoder, source: stub, resume: true, log: null });
  assert.equal(r.step, 3);
  const log = fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.filter((e) => e.event === 'train').map((e) => e.step), [1, 2, 3]);
  await assert.rejects(trainVision(cfg, { out, encoder, source: stub, log: null }), /already holds a run/);
  // loading: the policy's vision.* equal the checkpoint's
  const { tensors } = loadCheckpoint(out, { kind: 'vision' });
  const policy = new PolicyModel(cfg.model, (await import('../src/models/policy/tokenizer')).Tokenizer.default(), encoder, 5);
  loadVisionInit(policy, out, stub);
  for (const [name, v] of policy.params.entries('vision')) assert.deepEqual(Array.from(v.dataSync()), Array.from(tensors.get(name)!.dataSync()), name);
  assert.throws(() => loadVisionInit(policy, out, { ...stub, seed: 2 }), /trained on the encoder stub/);
  const other = PolicyModel.create('tiny', encoder, { overrides: { vision: { tower: [8, 8, 8, 8, 8] } } });
  assert.throws(() => loadVisionInit(other, out, stub), /is not this policy's/);
  other.dispose();
  policy.dispose();
  for (const x of tensors.values()) x.dispose();
  // stage 2 from it, the vision stack frozen (lrScale 0): after training, vision.* still equal the checkpoint's
  const sftOut = tmp('sft');
  const sftCfg = resolveSftConfig('tiny', { steps: 2, workers: 1, visionInit: { dir: out, lrScale: 0 } });
  await trainSft(sftCfg, { out: sftOut, encoder: { encoder, source: stub }, log: null });
  const a = loadCheckpoint(path.join(sftOut, 'latest'), { kind: 'policy' });
  const b = loadCheckpoint(out, { kind: 'vision' });
  for (const [name, t] of a.tensors) if (name.startsWith('vision.') && !name.startsWith('adamw')) assert.deepEqual(Array.from(t.dataSync()), Array.from(b.tensors.get(name)!.dataSync()), `${name} frozen`);
  [...a.tensors.values(), ...b.tensors.values()].forEach((x) => x.dispose());
  assert.throws(() => resolveSftConfig('tiny', { visionInit: { dir: '', lrScale: 1 } }), /visionInit.dir/);
  assert.throws(() => resolveSftConfig('tiny', { visionInit: { dir: null, lrScale: -1 } }), /visionInit.lrScale/);
});

test('CLI: coprs train vision end to end (tiny, shipped mini-SAM); train sft --vision takes it; usage errors', async () => {
  const { runCli } = await import('./helpers/cli');
  const root = tmp('cli');
  const v = runCli(['train', 'vision', '--preset', 'tiny', '--sam', 'data/checkpoints/sam-S', '--out', path.join(root, 'vision'), '--json', '--backend', 'wasm']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.json?.step, 4);
  assert.ok((v.json?.heldout as { centreColor: number }).centreColor >= 0);
  const s = runCli(['train', 'sft', '--preset', 'tiny', '--sam', 'data/checkpoints/sam-S', '--vision', path.join(root, 'vision'), '--vision-lr', '0.5', '--steps', '1', '--out', path.join(root, 'sft'), '--json', '--backend', 'wasm']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /vision stack from .* learning rate ×0\.5/);
  const noSam = runCli(['train', 'vision', '--preset', 'tiny', '--out', path.join(root, 'x'), '--backend', 'wasm']);
  assert.equal(noSam.code, 2);
  assert.match(noSam.stderr, /--sam DIR is required/);
  const resumeVision = runCli(['train', 'sft', '--preset', 'tiny', '--resume', '--vision', path.join(root, 'vision'), '--out', path.join(root, 'sft'), '--backend', 'wasm']);
  assert.equal(resumeVision.code, 2);
  assert.match(resumeVision.stderr, /only --steps may be given/);
});
