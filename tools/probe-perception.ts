/**
 * Per-token perception probe (README, policy section): can an MLP read each 16-px vision token's
 * covering object (colour, shape, size; scene-graph labels from src/train/sft/perception.ts) from
 * the frozen mini-SAM embedding + pooled pixels (`sam`), a small conv tower (`tower`; `T8=1 ... both`:
 * the 8×8 tower of src/models/policy/tower.ts beside the SAM features)? 2,400 training scenes to
 * train, 400 held out; prints accuracy over object tokens and over the tokens at objects' centroids.
 *
 *   node --import tsx tools/probe-perception.ts sam 600
 *   T8=1 node --import tsx tools/probe-perception.ts both 600
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select';
import { trainStream } from '../src/data/shapeworld/index';
import { tokenLabels, PERCEPTION_CLASSES } from '../src/train/sft/perception';
import { loadSamCheckpoint } from '../src/models/sam/eval';
import { samImageEncoder, withPixelChannel, encoderInput } from '../src/models/policy/vision';
import { Params, normal } from '../src/nn/params';
import { Conv2d, Linear, gelu } from '../src/nn/layers';
import { AdamW } from '../src/train/adamw';

const MODE = process.argv[2] ?? 'tower'; // tower | sam | both
const STEPS = Number(process.argv[3] ?? 600);
(async () => {
  await selectBackend({ backend: 'wasm' } as any);
  const sam = loadSamCheckpoint('data/checkpoints/sam-S');
  const enc = samImageEncoder(sam as any);
  const stream = trainStream('refshapes', { seed: 123 });
  const N = 2400, NT = 400;
  const samples = stream.take(N + NT);
  const G = 8;
  const labels = samples.map((s) => tokenLabels(s, G)!);
  // precompute inputs
  const X: tf.Tensor4D[] = []; const E: tf.Tensor4D[] = [];
  for (let i = 0; i < samples.length; i += 50) {
    const x = encoderInput(enc, samples.slice(i, i + 50).map((s) => s.image));
    const e = tf.tidy(() => withPixelChannel(enc.apply(x), x, 4));
    X.push(x); E.push(e);
  }
  const xAll = tf.concat(X); const eAll = tf.concat(E); X.forEach(t=>t.dispose()); E.forEach(t=>t.dispose());
  console.log('inputs', xAll.shape, eAll.shape);
  const p = Params.create(1);
  const useTower = MODE !== 'sam', useSam = MODE !== 'tower';
  const t1 = new Conv2d(p.scope('t1'), 3, 24, 3, { stride: 2, pad: 'same' } as any);
  const t2 = new Conv2d(p.scope('t2'), 24, 48, 3, { stride: 2, pad: 'same' } as any);
  const t3 = new Conv2d(p.scope('t3'), 48, 64, 3, { stride: 2, pad: 'same' } as any);
  const t4 = new Conv2d(p.scope('t4'), 64, 64, 3, { pad: 'same' } as any);
  const t5 = new Conv2d(p.scope('t5'), 64, 64, 3, { pad: 'same', dilation: 2 } as any);
  const t6 = new Conv2d(p.scope('t6'), 64, 64, 3, { pad: 'same', dilation: 4 } as any);
  const T8 = process.env.T8 === '1';
  const u4 = new Conv2d(p.scope('u4'), 64, 96, 3, { stride: 2, pad: 'same' } as any);
  const u5 = new Conv2d(p.scope('u5'), 96, 96, 3, { pad: 'same' } as any);
  const u6 = new Conv2d(p.scope('u6'), 96, 96, 3, { pad: 'same' } as any);
  const cellDim = T8 ? 76 : (useTower ? 64 : 0) + (useSam ? 76 : 0);
  const extra = T8 ? 96 : 0;
  const fc1 = new Linear(p.scope('fc1'), T8 ? (useSam ? 4 * 76 : 0) + 96 : 4 * cellDim, 128);
  const fc2 = new Linear(p.scope('fc2'), 128, 8 + 8 + 4);
  const feats = (x: tf.Tensor4D, e: tf.Tensor4D) => {
    const parts: tf.Tensor[] = [];
    if (T8) { const B = x.shape[0]; let h = gelu(t1.apply(x)) as tf.Tensor4D; h = gelu(t2.apply(h)) as tf.Tensor4D; h = gelu(t3.apply(h)) as tf.Tensor4D; h = gelu(u4.apply(h)) as tf.Tensor4D; h = h.add(gelu(u5.apply(h))) as tf.Tensor4D; h = h.add(gelu(u6.apply(h))) as tf.Tensor4D;
      const m = e.reshape([B, 8, 2, 8, 2, 76]).transpose([0, 1, 3, 2, 4, 5]).reshape([B * 64, 4 * 76]);
      const f = useSam ? tf.concat([m, h.reshape([B * 64, 96])], -1) : h.reshape([B * 64, 96]);
      return fc2.apply(gelu(fc1.apply(f)));
    }
    if (useTower) { let h = gelu(t1.apply(x)) as tf.Tensor4D; h = gelu(t2.apply(h)) as tf.Tensor4D; h = gelu(t3.apply(h)) as tf.Tensor4D; h = gelu(t4.apply(h)) as tf.Tensor4D; if (process.env.RF) { h = h.add(gelu(t5.apply(h))) as tf.Tensor4D; h = h.add(gelu(t6.apply(h))) as tf.Tensor4D; } parts.push(h); }
    if (useSam) parts.push(e);
    const f = parts.length > 1 ? tf.concat(parts, -1) : parts[0];
    const B = x.shape[0];
    const m = f.reshape([B, 8, 2, 8, 2, cellDim]).transpose([0, 1, 3, 2, 4, 5]).reshape([B * 64, 4 * cellDim]);
    return fc2.apply(gelu(fc1.apply(m)));
  };
  const lossOf = (logits: tf.Tensor, lab: Int32Array) => {
    const L = tf.tensor2d(lab, [lab.length / 3, 3], 'int32'); let off = 0; let tot: tf.Tensor = tf.scalar(0);
    PERCEPTION_CLASSES.forEach((k, a) => { const z = logits.slice([0, off], [-1, k]); const y = tf.oneHot(L.slice([0, a], [-1, 1]).reshape([-1]), k); tot = tot.add(tf.logSoftmax(z).mul(y).sum(-1).mean().neg()); off += k; });
    return tot as tf.Scalar;
  };
  const opt = new AdamW([{ name: 'all', vars: p.entries() }], { weightDecay: 0.01, clipNorm: 1 });
  const BS = 32; const t0 = Date.now();
  for (let step = 0; step < STEPS; step++) {
    const idx = Array.from({ length: BS }, () => Math.floor(Math.random() * N));
    const lab = new Int32Array(BS * 64 * 3); idx.forEach((j, b) => lab.set(labels[j], b * 64 * 3));
    const it = tf.tensor1d(idx, 'int32');
    const x = tf.gather(xAll, it) as tf.Tensor4D, e = tf.gather(eAll, it) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => lossOf(feats(x, e), lab), p.entries().map(([, v]) => v));
    const byName: Record<string, tf.Tensor> = {}; for (const [n, v] of p.entries()) byName[n] = grads[v.name];
    const lr = 2e-3 * Math.min(1, (step + 1) / 50) * (0.5 + 0.5 * Math.cos(Math.PI * step / STEPS));
    opt.apply(byName, lr);
    if (step % 100 === 0) console.log(step, value.dataSync()[0].toFixed(3), ((Date.now() - t0) / (step + 1)).toFixed(0), 'ms/step');
    tf.dispose([value, ...Object.values(grads), x, e, it]);
  }
  // eval
  const correct = [0, 0, 0]; let n = 0; const cc = [0,0,0]; let nc = 0;
  for (let i = N; i < N + NT; i += 50) {
    const it = tf.range(i, Math.min(N + NT, i + 50), 1, 'int32');
    const logits = tf.tidy(() => feats(tf.gather(xAll, it) as tf.Tensor4D, tf.gather(eAll, it) as tf.Tensor4D));
    const z = logits.arraySync() as number[][]; logits.dispose(); it.dispose();
    for (let b = 0; b < z.length / 64; b++) {
      const s = samples[i + b]; const lab = labels[i + b];
      // centroid tokens
      const meta: any = s.meta; const objs = meta.scene.objects;
      for (const o of objs) {
        const [cx, cy] = o.centroid; const tok = Math.min(7, Math.floor(cy / 16)) * 8 + Math.min(7, Math.floor(cx / 16));
        const row = z[b * 64 + tok]; let off = 0; const truth = [lab[tok*3], lab[tok*3+1], lab[tok*3+2]];
        if (truth[0] === 7) continue;
        nc++;
        PERCEPTION_CLASSES.forEach((k, a) => { const sl = row.slice(off, off + k); const am = sl.indexOf(Math.max(...sl)); if (am === truth[a]) cc[a]++; off += k; });
      }
      for (let tok = 0; tok < 64; tok++) { if (lab[tok*3] === 7) continue; n++; const row = z[b*64+tok]; let off = 0; PERCEPTION_CLASSES.forEach((k, a) => { const sl = row.slice(off, off + k); if (sl.indexOf(Math.max(...sl)) === lab[tok*3+a]) correct[a]++; off += k; }); }
    }
  }
  console.log(MODE, 'object tokens', n, 'acc colour/shape/size', correct.map((c) => (c / n).toFixed(3)).join(' '), '| centroid tokens', nc, cc.map((c) => (c / nc).toFixed(3)).join(' '), 'time', ((Date.now()-t0)/1000).toFixed(0), 's');
})();
