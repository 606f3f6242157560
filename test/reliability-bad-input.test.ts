/**
 * Reliability, item 4: bad input through the command line and the library. Each case gets a clear
 * error that names the value and what was expected (or the documented fallback), a non-zero exit code
 * from the CLI (2: usage — bad flags or config; 1: failure — bad files), and no partial output.
 * Cases already tested elsewhere are listed in docs/promises.md; this file adds the missing ones:
 *
 * - infer: a truncated JPEG, a text file named .png, a missing image, an empty query, a query of
 *   unknown words (fallback: read as <unk>, with a warning naming them), a truncated weights.bin;
 * - train coprs: --set with an unknown key or a wrong type, --config with an unknown key, a wrong
 *   type or invalid JSON, --resume from a truncated checkpoint or from another stage's checkpoint,
 *   a loss that turns non-finite (the run stops with exit 1, or skips with onNonFinite=skip);
 * - library: mask data of the wrong type, size or values; empty masks (documented: IoU 1 when both
 *   are empty, a finite SEG loss on an empty ground truth); a coprs checkpoint of another size;
 *   responses with none or several <REF_POS> (format reward 0; e_conc from the last one, or zeros).
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { prepareBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { checkMask } from '../src/data/sample';
import { saveImagePng, maskToTensor } from '../src/io/image';
import { maskIoU } from '../src/metrics/iou';
import { maskScores } from '../src/rewards/mask';
import { formatReward } from '../src/rewards/format';
import { SEG_LOSS_PRESETS, segLoss, segLossWeights } from '../src/train/coprs/losses';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../src/train/checkpoint';
import { resolveCoprsTrainConfig } from '../src/train/coprs/config';
import { trainCoprs } from '../src/train/coprs/trainer';
import { runCli } from './helpers/cli';
import { tmpDir, writeParts } from './coprs-fixtures';

let root: string;
let parts: { sam: string; policy: string };
let run: string;
let img: string;

before(async () => {
  assert.ok((await prepareBackend('wasm')).ok);
  await tf.setBackend('wasm');
  root = tmpDir('reliability-bad-');
  parts = await writeParts(root);
  run = path.join(root, 'run');
  await trainCoprs(resolveCoprsTrainConfig('tiny', { steps: 1, completionsEvery: 0, rollout: { maxTokens: 6 } }), { out: run, sam: parts.sam, policy: parts.policy, log: null });
  img = path.join(root, 'scene.png');
  await saveImagePng(trainStream('refshapes', { seed: 4 }).next().image, img);
});

const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).sort() : []);
const infer = (over: Record<string, string>, extra: string[] = []) => {
  const a = { ckpt: run, image: img, query: 'the red circle', out: path.join(root, `infer-${Math.random().toString(36).slice(2)}`), ...over };
  return { out: a.out, r: runCli(['infer', '--ckpt', a.ckpt, '--image', a.image, '--query', a.query, '--out', a.out, '--backend', 'wasm', ...extra]) };
};

test('infer: truncated JPEG, a text file named .png, a missing file: exit 1, the file named, what was expected, no output folder', async () => {
  const jpg = path.join(root, 'cut.jpg');
  const full = await sharp(img).jpeg().toBuffer();
  fs.writeFileSync(jpg, full.subarray(0, Math.floor(full.length / 2)));
  const txt = path.join(root, 'notes.png');
  fs.writeFileSync(txt, 'this is not an image\n');
  for (const [file, re] of [[jpg, /cannot read image "[^"]*cut\.jpg": expected a PNG or JPEG file that decodes cleanly/], [txt, /cannot read image "[^"]*notes\.png": expected a PNG or JPEG/], [path.join(root, 'nope.png'), /nope\.png": file not found/]] as const) {
    const { out, r } = infer({ image: file });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(fs.existsSync(out), false, 'no partial output');
    assert.deepEqual(fs.readdirSync(root).filter((n) => n.includes('.tmp-')), [], 'no staging folder left');
  }
});

test('infer: an empty query is a usage error (exit 2); unknown words fall back to <unk> with a warning naming them', () => {
  const e = infer({ query: '   ' });
  assert.equal(e.r.code, 2);
  assert.match(e.r.stderr, /--query is required/);
  assert.equal(fs.existsSync(e.out), false);
  const u = infer({ query: 'the xylophone beside the red zorb' }, ['--json', '--max-tokens', '4']);
  assert.equal(u.r.code, 0, u.r.stderr);
  assert.match(u.r.stderr, /warning: 2 query word\(s\) not in the policy's vocabulary, read as <unk>: "xylophone", "zorb"/);
  assert.deepEqual(u.r.json?.unknownWords, ['xylophone', 'zorb']);
});

test('infer and train --resume on a truncated weights.bin: exit 1, sizes named, nothing written', () => {
  const cut = path.join(root, 'run-cut');
  fs.cpSync(run, cut, { recursive: true });
  for (const f of [path.join(cut, 'weights.bin'), path.join(cut, 'latest', 'weights.bin')]) fs.truncateSync(f, fs.statSync(f).size - 100);
  const { out, r } = infer({ ckpt: cut });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /run-cut: weights\.bin has \d+ bytes, expected \d+ \(truncated or cut off mid-write\)/);
  assert.equal(fs.existsSync(out), false);
  const before = listing(cut);
  const log = fs.readFileSync(path.join(cut, 'log.jsonl'));
  const t = runCli(['train', 'coprs', '--preset', 'tiny', '--out', cut, '--resume', '--steps', '2', '--backend', 'wasm']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /latest: weights\.bin has \d+ bytes, expected \d+ \(truncated/);
  assert.deepEqual(listing(cut), before, 'no new files');
  assert.deepEqual(fs.readFileSync(path.join(cut, 'log.jsonl')), log, 'the log is untouched');
});

test('train --resume from another stage\'s checkpoint: exit 1, both kinds named', () => {
  const other = path.join(root, 'run-other');
  fs.mkdirSync(other);
  fs.cpSync(parts.sam, path.join(other, 'latest'), { recursive: true });
  const t = runCli(['train', 'coprs', '--preset', 'tiny', '--out', other, '--resume', '--backend', 'wasm']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /latest is a "sam" checkpoint; this command needs a "coprs" checkpoint/);
  assert.deepEqual(listing(other).filter((n) => !n.startsWith('latest')), [], 'no log or model written');
});

test('train coprs config: unknown keys and wrong types through --set and --config are usage errors (exit 2) naming the key, value and expectation; nothing written', () => {
  const out = path.join(root, 'never');
  const base = ['train', 'coprs', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--out', out, '--backend', 'wasm'];
  const cfgFile = (name: string, text: string) => {
    const f = path.join(root, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const cases: [string[], RegExp][] = [
    [['--set', 'grpo.Gx=2'], /coprs\.train\.tiny\.grpo\.Gx: unknown key; valid keys: G, lossType/],
    [['--set', 'grpo.G=two'], /coprs\.train\.tiny\.grpo\.G: expected a number, got "two" \(string\)/],
    [['--set', 'optim.lr=Infinity'], /coprs\.train\.tiny\.optim\.lr: expected a number, got "Infinity"/],
    [['--set', 'steps=2.5'], /steps must be an integer ≥ 1, got 2\.5/],
    [['--set', 'rewards.nope=1'], /rewards\.nope: unknown reward; registered rewards: /],
    [['--config', cfgFile('unknown.json', '{"optim": {"learningRate": 1}}')], /coprs\.train\.tiny\.optim\.learningRate: unknown key; valid keys: lr, /],
    [['--config', cfgFile('type.json', '{"rollout": {"maxTokens": "many"}}')], /coprs\.train\.tiny\.rollout\.maxTokens: expected a number, got "many" \(string\)/],
    [['--config', cfgFile('bad.json', '{"grpo": {"G": 2,}}')], /--config .*bad\.json: not valid JSON/],
    [['--config', path.join(root, 'missing.json')], /--config .*missing\.json: cannot read it/],
    [['--config', cfgFile('array.json', '[1, 2]')], /expected an object of overrides, got \[1,2\]/],
  ];
  for (const [extra, re] of cases) {
    const r = runCli([...base, ...extra]);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, extra.join(' '));
    assert.equal(fs.existsSync(out), false, `${extra.join(' ')}: no output folder`);
  }
});

test('a loss that turns non-finite: the run stops with exit 1 naming the step and what to change (latest/ keeps the last good step); with onNonFinite=skip it goes on', () => {
  const out = path.join(root, 'nan');
  const base = ['train', 'coprs', '--preset', 'tiny', '--sam', parts.sam, '--policy', parts.policy, '--steps', '3', '--backend', 'wasm', '--json'];
  // A learning rate of 1e38 throws the weights to ±1e38 in the first update; the next forward pass overflows.
  const r = runCli([...base, '--out', out, '--set', 'optim.lr=1e38,checkpointEvery=1,completionsEvery=0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /step \d: non-finite (loss|gradient).*refused and no weights were changed.*onNonFinite=skip/);
  const latest = readCheckpointMeta(path.join(out, 'latest'));
  assert.ok(latest.step >= 1);
  const skip = runCli([...base, '--out', path.join(root, 'nan-skip'), '--set', 'optim.lr=1e38,completionsEvery=0,onNonFinite=skip']);
  assert.equal(skip.code, 0, skip.stderr);
  assert.ok((skip.json?.skipped as number) >= 1, `skipped ${skip.json?.skipped}`);
  assert.match(skip.stderr, /skipped \(onNonFinite=skip\)/);
});

test('library: mask data of the wrong type, size or values is an error naming both; empty masks have the documented values', () => {
  assert.throws(() => checkMask({ width: 4, height: 4, data: new Float32Array(16) as unknown as Uint8Array }), /expected a Uint8Array of 16 values \(4x4\)/);
  assert.throws(() => checkMask({ width: 4, height: 4, data: new Uint8Array(15) }), /expected a Uint8Array of 16 values \(4x4\), got 15/);
  assert.throws(() => checkMask({ width: 2, height: 1, data: Uint8Array.from([0, 255]) }), /values must be 0 or 1, found 255 at index 1/);
  assert.throws(() => checkMask({ width: 2, height: 2, data: new Uint8Array(4) }, { width: 4, height: 4 }, 'target'), /target: size 2x2 differs from its image 4x4/);
  assert.throws(() => maskToTensor({ width: 3, height: 3, data: new Uint8Array(4) }), /expected a Uint8Array of 9 values \(3x3\), got 4/);
  const empty = { width: 4, height: 4, data: new Uint8Array(16) };
  assert.equal(maskIoU(empty, empty), 1, 'both empty: IoU 1 (nothing to find, nothing found)');
  assert.equal(maskIoU({ ...empty, data: new Uint8Array(16).fill(1) }, empty), 0);
  const s = maskScores(new Float32Array(16), new Float32Array(16));
  assert.ok(Number.isFinite(s.reward) && s.reward === 1, 'mask reward: both empty = 1');
  assert.ok(Number.isFinite(maskScores(new Float32Array(16).fill(0.7), new Float32Array(16)).reward));
  // SEG loss on an empty ground truth, and on an empty valid region: finite, no NaN reaches the optimizer
  const cfg = { ...SEG_LOSS_PRESETS.paper, switchStep: 2 };
  for (const valid of [tf.ones([2, 8, 8]), tf.zeros([2, 8, 8])]) {
    const values = tf.tidy(() => {
      const out = segLoss({ prior: tf.randomNormal([2, 8, 8, 1], 0, 3, 'float32', 1), masks: tf.randomNormal([2, 8, 8], 0, 3, 'float32', 2), targets: tf.zeros([2, 8, 8]), valid }, { ...cfg, ignorePadding: true }, segLossWeights(cfg, 0));
      return [out.total, out.bce, out.dice, out.focal].map((t) => Array.from(t.dataSync())).flat();
    });
    valid.dispose();
    assert.ok(values.every(Number.isFinite), `finite SEG loss terms on an empty target: ${values}`);
  }
});

test('library: a coprs checkpoint of another size; responses with none or several <REF_POS>', async () => {
  assert.throws(() => loadCheckpoint(run, { kind: 'coprs', size: 'small' }), /holds size "tiny"; expected size "small"/);
  const fake = path.join(root, 'sam-as-coprs');
  const t = tf.zeros([2]);
  await saveCheckpoint(fake, { kind: 'sam', size: 'S', config: {}, step: 0, tensors: [['x', t]] });
  t.dispose();
  const r = runCli(['eval', '--ckpt', fake, '--split', 'refshapes/testA', '--limit', '1', '--backend', 'wasm']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /sam-as-coprs/);
  assert.equal(formatReward('<think>a</think> <REF_POS> <REF_POS>'), 0, 'several <REF_POS>: format 0');
  assert.equal(formatReward('<think>a</think>'), 0, 'no <REF_POS>: format 0');
});
