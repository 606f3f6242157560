/**
 * Does the positional prior follow e_conc? (issue #4 diagnosis.) For N refshapes samples, the
 * ground-truth chain of thought (concluding the target t) and the same chain with its conclusion
 * rewritten to another object o of the same scene ("So the target is the <o> <position>.") are
 * scored teacher-forced; each e_conc goes through the head. Printed per chain: the share of the
 * prior's mass (sigmoid, 64×64, valid region) inside t's and inside o's instance mask, and how often
 * t's share is larger than o's, and the mask's IoU (64×64, logits > 0) with t and with o — a head that reads e_conc moves its mass from t to o when the
 * conclusion changes; a head that ignores it gives the same prior to both chains.
 *
 *   node --import tsx tools/head-sensitivity.ts data/checkpoints/coprs-small [refshapes/val] [N]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select';
import { loadCoprs } from '../src/models/coprs/checkpoint';
import { disposeImageBatch, softTargets } from '../src/models/coprs/images';
import { encodeResponse } from '../src/models/policy/prompt';
import { loadSplit } from '../src/data/shapeworld/store';
import { shapeWorldMeta } from '../src/data/shapeworld/make-sample';
import { objectName } from '../src/data/shapeworld/phrases';
import { positionPhrase } from '../src/data/shapeworld/vocab';
import { Rng } from '../src/util/rng';
import type { Sample } from '../src/data/sample';

/** The ground-truth chain with its last sentence pointing at object `o` instead. */
export function rewriteConclusion(s: Sample, o: number): string {
  const m = shapeWorldMeta(s);
  const text = s.cot!.text;
  const k = text.lastIndexOf('So the target is the ');
  if (k < 0) throw new Error(`${s.id}: the chain has no conclusion sentence`);
  const obj = m.scene.objects[o];
  return `${text.slice(0, k)}So the target is the ${objectName(obj)} ${positionPhrase(obj.position)}.`;
}

(async () => {
  const [ckpt, splitArg = 'refshapes/val', nArg = '96'] = process.argv.slice(2);
  await selectBackend({ backend: 'wasm', log: null } as never);
  const { model } = loadCoprs(ckpt);
  const [dataset, split] = splitArg.split('/');
  const rng = new Rng(7);
  const all = (await loadSplit(dataset, split)).filter((s) => shapeWorldMeta(s).scene.objects.length > 1);
  const samples = all.slice(0, Number(nArg));
  const r = model.maskSize;
  const acc = { t: { massT: 0, massO: 0, wins: 0, iouT: 0, iouO: 0 }, o: { massT: 0, massO: 0, wins: 0, iouT: 0, iouO: 0 }, l1: 0, n: 0, cosPair: 0, cosAcross: 0, nAcross: 0 };
  const cos = (a: number[], b: number[]) => {
    let d = 0, na = 0, nb = 0;
    a.forEach((x, i) => { d += x * b[i]; na += x * x; nb += b[i] * b[i]; });
    return d / Math.sqrt(na * nb);
  };
  const iou = (a: number[][], b: number[][]) => {
    let i = 0, u = 0;
    a.forEach((row, y) => row.forEach((v, x) => { const w = b[y][x] > 0.5 ? 1 : 0; const m = v > 0.5 ? 1 : 0; i += m & w; u += m | w; }));
    return u === 0 ? 0 : i / u;
  };
  for (let i = 0; i < samples.length; i += 16) {
    const chunk = samples.slice(i, i + 16);
    const others = chunk.map((s) => {
      const m = shapeWorldMeta(s);
      const ids = m.scene.objects.map((o) => o.id).filter((id) => !m.targetIds.includes(id));
      return ids[Math.floor(rng.next() * ids.length)];
    });
    const batch = model.encode(chunk.map((s) => s.image));
    const prompts = model.prompts(chunk.map((s) => s.query));
    const tok = model.policy.tokenizer;
    const chains = [chunk.map((s) => encodeResponse(tok, s.cot!.text)), chunk.map((s, j) => encodeResponse(tok, rewriteConclusion(s, others[j])))];
    const masks: number[][][][] = [];
    const eConcs: number[][][] = [];
    const priors = chains.map((resp) => tf.tidy(() => {
      const lp = model.score(prompts, resp, batch, 1);
      eConcs.push(lp.refPosHidden.arraySync() as number[][]);
      const seg = model.segment(lp.refPosHidden, lp.refPosFound, batch, 1);
      const valid = batch.valid.reshape([chunk.length, r, r]); // B x r x r x 1 -> B x r x r
      masks.push(seg.masks.greater(0).toFloat().mul(valid).arraySync() as number[][][]);
      return tf.sigmoid(seg.prior).mul(batch.valid).reshape([chunk.length, r, r]).arraySync() as number[][][]; // B x r x r
    }));
    const S = model.sam.imageSize;
    const tMasks = softTargets(chunk.map((s) => s.mask), S, r);
    const oMasks = softTargets(chunk.map((s, j) => shapeWorldMeta(s).instanceMasks[others[j]]), S, r);
    const tm = tMasks.arraySync() as number[][][];
    const om = oMasks.arraySync() as number[][][];
    tf.dispose([tMasks, oMasks]);
    disposeImageBatch(batch);
    chunk.forEach((_, j) => {
      let total = 0, inT = 0, inO = 0, total2 = 0, inT2 = 0, inO2 = 0, l1 = 0;
      for (let y = 0; y < r; y++) for (let x = 0; x < r; x++) {
        const p = priors[0][j][y][x], q = priors[1][j][y][x];
        total += p; inT += p * tm[j][y][x]; inO += p * om[j][y][x];
        total2 += q; inT2 += q * tm[j][y][x]; inO2 += q * om[j][y][x];
        l1 += Math.abs(p - q);
      }
      acc.t.massT += inT / total; acc.t.massO += inO / total; acc.t.wins += inT > inO ? 1 : 0;
      acc.o.massT += inT2 / total2; acc.o.massO += inO2 / total2; acc.o.wins += inT2 > inO2 ? 1 : 0;
      acc.t.iouT += iou(masks[0][j], tm[j]); acc.t.iouO += iou(masks[0][j], om[j]);
      acc.o.iouT += iou(masks[1][j], tm[j]); acc.o.iouO += iou(masks[1][j], om[j]);
      acc.l1 += l1 / (r * r); acc.n++;
      acc.cosPair += cos(eConcs[0][j], eConcs[1][j]);
      if (j > 0) { acc.cosAcross += cos(eConcs[0][j], eConcs[0][j - 1]); acc.nAcross++; }
    });
  }
  const n = acc.n;
  const f = (x: number) => (x / n).toFixed(3);
  console.log(`${ckpt} on ${splitArg}, n ${n} (scenes with ≥ 2 objects)`);
  console.log(`chain concludes t (ground truth): prior mass in t ${f(acc.t.massT)}, in o ${f(acc.t.massO)}, t > o in ${f(acc.t.wins)}; mask IoU with t ${f(acc.t.iouT)}, with o ${f(acc.t.iouO)}`);
  console.log(`chain concludes o (rewritten):    prior mass in t ${f(acc.o.massT)}, in o ${f(acc.o.massO)}, t > o in ${f(acc.o.wins)}; mask IoU with t ${f(acc.o.iouT)}, with o ${f(acc.o.iouO)}`);
  console.log(`mean |prior(t-chain) − prior(o-chain)| per pixel ${f(acc.l1)}`);
  console.log(`e_conc cosine: t-chain vs o-chain of the same sample ${(acc.cosPair / n).toFixed(4)}; ground-truth chains of neighbouring samples ${(acc.cosAcross / acc.nAcross).toFixed(4)}`);
  model.dispose();
})();
