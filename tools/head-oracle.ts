/**
 * Can the positional-prior head select the target at all, given a perfect query? (issue #4
 * diagnosis.) A fresh heatmap head (Algorithm 1) is trained alone — BCE of the prior against the
 * soft target, Adam — with e_conc replaced by an ORACLE vector: one-hots of the target's attributes
 * from the scene graph. The frozen mini-SAM embedding E gives the keys, as in CoPRS; the variant
 * `+rgb` appends the image's colours (8×8 average-pooled RGB, 16×16×3) to E before the key
 * projection, to test whether the keys are colour-blind. Printed on refshapes val: the share of the
 * prior's mass (64×64) inside the target and inside another object, how often the target gets more,
 * and the prior's IoU (p > 0.5) with the target.
 *
 * `attrs=econc:DIR` uses instead the e_conc of a CoPRS checkpoint's policy on each sample's
 * ground-truth chain (teacher-forced, cached once): can a head trained long enough read THAT query?
 *
 *   node --import tsx tools/head-oracle.ts [steps=600] [attrs=all|appearance|position|econc:DIR] [keys=E|E+rgb]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select';
import { loadSamCheckpoint } from '../src/models/sam/eval';
import { encodeImages, softTargets } from '../src/models/coprs/images';
import { HeatmapHead, DEFAULT_HEATMAP_HEAD } from '../src/models/coprs/heatmap-head';
import { Params } from '../src/nn/params';
import { trainStream } from '../src/data/shapeworld/splits';
import { loadSplit } from '../src/data/shapeworld/store';
import { shapeWorldMeta } from '../src/data/shapeworld/make-sample';
import { SHAPES, COLORS, SIZES, POSITIONS } from '../src/data/shapeworld/vocab';
import type { Sample } from '../src/data/sample';
import { loadCoprs } from '../src/models/coprs/checkpoint';
import { encodeResponse } from '../src/models/policy/prompt';
import { disposeImageBatch } from '../src/models/coprs/images';

const [stepsArg = '600', attrs = 'all', keys = 'E'] = process.argv.slice(2);

function oracle(s: Sample): number[] {
  const m = shapeWorldMeta(s);
  const o = m.scene.objects[m.targetIds[0]];
  const hot = (xs: readonly string[], v: string) => xs.map((x) => (x === v ? 1 : 0));
  const app = [...hot(SHAPES, o.shape), ...hot(COLORS, o.color), ...hot(SIZES, o.size)];
  const pos = hot(POSITIONS as readonly string[], o.position);
  return attrs === 'appearance' ? app : attrs === 'position' ? pos : [...app, ...pos];
}

(async () => {
  await selectBackend({ backend: 'wasm', log: null } as never);
  const coprs = attrs.startsWith('econc:') ? loadCoprs(attrs.slice(6)).model : null;
  /** The query rows of samples: oracle one-hots, or the checkpoint's e_conc on the ground-truth chains. */
  const queries = (samples: Sample[]): tf.Tensor2D => {
    if (!coprs) return tf.tensor2d(samples.map(oracle));
    const b = coprs.encode(samples.map((s) => s.image));
    const e = tf.tidy(() => coprs.score(coprs.prompts(samples.map((s) => s.query)), samples.map((s) => encodeResponse(coprs.policy.tokenizer, s.cot!.text)), b, 1).refPosHidden.clone());
    disposeImageBatch(b);
    return e;
  };
  const sam = loadSamCheckpoint('data/checkpoints/sam-S');
  const r = sam.maskSize;
  /** E (or E + pooled RGB) [B,16,16,C'], soft targets [B,r,r,1], oracle queries [B,q]. */
  const prepare = (all: Sample[]) => {
    const parts = [];
    for (let i = 0; i < all.length; i += 32) parts.push({ ...prepareChunk(all.slice(i, i + 32)), Q: queries(all.slice(i, i + 32)) });
    const cat = <T extends tf.Tensor>(xs: T[]) => { const c = tf.concat(xs) as T; tf.dispose(xs); return c; };
    return { E: cat(parts.map((p) => p.E)), T: cat(parts.map((p) => p.T)), Q: cat(parts.map((p) => p.Q)) };
  };
  const prepareChunk = (samples: Sample[]) => tf.tidy(() => {
    const b = encodeImages(sam, samples.map((s) => s.image), 1);
    let E: tf.Tensor4D = b.E;
    if (keys === 'E+rgb') {
      const img = tf.stack(samples.map((s) => tf.tensor3d(s.image.data, [s.image.height, s.image.width, 3]).toFloat().div(255))) as tf.Tensor4D; // B x 128 x 128 x 3
      const pooled = tf.avgPool(img, 8, 8, 'valid'); // B x 16 x 16 x 3
      E = tf.concat([E, pooled.mul(4)], -1) as tf.Tensor4D; // B x 16 x 16 x (C + 3)
    }
    const T = softTargets(samples.map((s) => s.mask), sam.imageSize, r).expandDims(-1); // B x r x r x 1
    return { E, T };
  });
  const train = prepare(trainStream('refshapes', { seed: 4242 }).take(960));
  const val = (await loadSplit('refshapes', 'val')).filter((s) => shapeWorldMeta(s).scene.objects.length > 1).slice(0, 160);
  const held = prepare(val);
  const head = new HeatmapHead(Params.create(0).scope('head'), { queryDim: train.Q.shape[1], embedDim: train.E.shape[3], ...DEFAULT_HEATMAP_HEAD });
  const opt = tf.train.adam(2e-3);
  const steps = Number(stepsArg);
  const N = train.E.shape[0];
  for (let step = 0; step < steps; step++) {
    const idx = tf.tensor1d(Array.from({ length: 32 }, (_, i) => (step * 32 + i) % N), 'int32');
    const loss = opt.minimize(() => {
      const logits = head.apply(tf.gather(train.Q, idx) as tf.Tensor2D, tf.gather(train.E, idx) as tf.Tensor4D);
      return tf.losses.sigmoidCrossEntropy(tf.gather(train.T, idx), logits) as tf.Scalar;
    }, true);
    if ((step + 1) % 100 === 0) console.log(`step ${step + 1} bce ${loss!.dataSync()[0].toFixed(4)}`);
    tf.dispose([loss!, idx]);
  }
  const P = tf.tidy(() => tf.sigmoid(head.apply(held.Q, held.E)).squeeze([3]).arraySync() as number[][][]);
  const tm = held.T.squeeze([3]).arraySync() as number[][][];
  let mT = 0, mO = 0, wins = 0, iouT = 0;
  val.forEach((s, j) => {
    const m = shapeWorldMeta(s);
    const other = m.scene.objects.find((o) => !m.targetIds.includes(o.id))!.id;
    const om = tf.tidy(() => softTargets([m.instanceMasks[other]], sam.imageSize, r).arraySync() as number[][][])[0];
    let tot = 0, inT = 0, inO = 0, I = 0, U = 0;
    P[j].forEach((row, y) => row.forEach((p, x) => {
      tot += p; inT += p * tm[j][y][x]; inO += p * om[y][x];
      const a = p > 0.5 ? 1 : 0, b = tm[j][y][x] > 0.5 ? 1 : 0;
      I += a & b; U += a | b;
    }));
    mT += inT / tot; mO += inO / tot; wins += inT > inO ? 1 : 0; iouT += U ? I / U : 0;
  });
  const n = val.length;
  console.log(`oracle attrs=${attrs} keys=${keys} steps=${steps}: refshapes val n ${n}: prior mass in target ${(mT / n).toFixed(3)}, in another object ${(mO / n).toFixed(3)}, target > other ${(wins / n).toFixed(3)}, prior IoU (p > 0.5) ${(iouT / n).toFixed(3)}`);
})();
