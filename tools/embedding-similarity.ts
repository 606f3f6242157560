/**
 * Mean pairwise cosine similarity of the shape nouns' and the colours' rows in a policy checkpoint's
 * input embedding and LM head (the collapse that src/train/sft/respread.ts undoes), and their norms.
 *
 *   node --import tsx tools/embedding-similarity.ts data/checkpoints/policy-small
 */
import * as tf from '@tensorflow/tfjs';
import { loadPolicy } from '../src/models/policy/checkpoint';
const b: any = loadPolicy(process.argv[2], { encoder: 'none' } as any);
const m = b.model; const tok = m.tokenizer;
const names = m.params.entries().map(([n]: any) => n).filter((n: string) => /embed|lmHead/.test(n)); console.log(names);
const words = ['circle','square','triangle','diamond','hexagon','star','cross','red','green','blue','yellow','purple','orange','small','large'];
const ids = words.map((w) => tok.encode(w)); console.log(ids.map((x: number[]) => x.join('/')).join(' '));
for (const n of names) {
  const W = m.params.get(n); if (W.shape[0] !== tok.size && W.shape[1] !== tok.size) continue;
  const rows = tf.tidy(() => { const M = W.shape[0] === tok.size ? W : W.transpose(); const g = tf.gather(M, ids.map((x: number[]) => x[0])); const nrm = g.div(g.norm('euclidean', 1, true)); return nrm.matMul(nrm.transpose()).arraySync() as number[][]; });
  console.log(n, 'cos sim (shapes x shapes mean offdiag, colours x colours):');
  const mean = (a: number, b: number) => { let s = 0, c = 0; for (let i = a; i < b; i++) for (let j = a; j < b; j++) if (i !== j) { s += rows[i][j]; c++; } return (s / c).toFixed(3); };
  console.log(' shapes', mean(0, 7), 'colours', mean(7, 13));
  const norms = tf.tidy(() => tf.gather(W.shape[0] === tok.size ? W : W.transpose(), ids.map((x: number[]) => x[0])).norm('euclidean', 1).arraySync()) as number[];
  console.log(' norms', words.map((w, i) => `${w}:${norms[i].toFixed(2)}`).join(' '));
}
