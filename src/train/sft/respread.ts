/**
 * Re-spreading collapsed word embeddings: a scheduled intervention of stage 2.
 *
 * What it fixes (measured on the `small` run, step 500): trained from scratch, the policy cannot
 * tell shapes apart in the image for hundreds of steps, so the seven shape nouns receive nearly the
 * same gradient wherever they occur and drift along one common direction. Their LM-head rows ended
 * 0.98 cosine-similar and their input embeddings 0.80, and the model could not even COPY a shape
 * noun — from the query ("the query asks for the hexagon": loss 2.1 nats, chance is ln 7 ≈ 1.95)
 * or from its own chain of thought ("leaves the small green diamond. So the target is the small
 * green diamond": 0.0 nats for "small" and "green", 1.7 for "diamond") — while colours, whose rows
 * stayed apart (0.57), were copied perfectly. The differences between the rows are still there,
 * only small next to the shared component.
 *
 * The intervention: at the listed steps, for each word group (shape nouns, their plurals, colours,
 * sizes) whose rows in a table (input embedding, LM head) have a mean pairwise cosine similarity
 * above `threshold`, scale the rows' deviations from the group mean by one factor, so that their mean
 * norm equals the mean row's norm: the shared direction and what distinguishes the rows are both kept, the
 * distinguishing part is made as large as the shared one. Deterministic (no random numbers), logged.
 */
import * as tf from '@tensorflow/tfjs';
import { COLORS, SHAPES } from '../../data/shapeworld/index';
import { SHAPE_WORDS } from '../../data/shapeworld/vocab';
import type { PolicyModel } from '../../models/policy/model';

/** The word groups that compete as answers. */
export function respreadGroups(): Record<string, string[]> {
  return {
    shapes: SHAPES.map((s) => SHAPE_WORDS[s].noun),
    shapePlurals: SHAPES.map((s) => SHAPE_WORDS[s].plural),
    colors: [...COLORS],
    sizes: ['small', 'medium-sized', 'large'],
  };
}

export interface RespreadReport {
  table: string;
  group: string;
  /** Mean pairwise cosine similarity before and after. */
  before: number;
  after: number;
  applied: boolean;
}

function meanCosine(rows: tf.Tensor2D): number {
  return tf.tidy(() => {
    const n = rows.shape[0];
    const u = rows.div(rows.norm('euclidean', 1, true).add(1e-12));
    const s = u.matMul(u.transpose()).sum().dataSync()[0];
    return (s - n) / (n * (n - 1));
  });
}

/** Re-spread the collapsed groups of the policy's embedding and LM-head tables (see the module comment). */
export function respreadEmbeddings(model: PolicyModel, threshold: number): RespreadReport[] {
  const tok = model.tokenizer;
  const tables: [string, tf.Variable, boolean][] = [['embed.table', model.params.get('embed.table'), false]];
  if (model.params.has('lmHead.w')) tables.push(['lmHead.w', model.params.get('lmHead.w'), true]); // [d, vocab]: rows are columns
  const out: RespreadReport[] = [];
  for (const [group, words] of Object.entries(respreadGroups())) {
    const ids = words.map((w) => tok.encode(w)).filter((e) => e.length === 1).map((e) => e[0]);
    if (ids.length < 2) continue;
    for (const [name, v, transposed] of tables) {
      const idx = tf.tensor1d(ids, 'int32');
      const rows = tf.tidy(() => tf.gather(transposed ? v.transpose() : v, idx) as tf.Tensor2D); // n x d
      const before = meanCosine(rows);
      let after = before;
      const applied = before > threshold;
      if (applied) {
        const next = tf.tidy(() => {
          const mean = rows.mean(0, true); // 1 x d
          const dev = rows.sub(mean); // n x d
          const scale = mean.norm().div(dev.norm('euclidean', 1).mean().add(1e-12)); // one factor: the group mean stays
          return mean.add(dev.mul(scale)) as tf.Tensor2D; // n x d
        });
        after = meanCosine(next);
        tf.tidy(() => {
          const full = transposed ? v.transpose() : (v as tf.Tensor);
          const updated = tf.tensorScatterUpdate(full, idx.reshape([-1, 1]), next);
          v.assign(transposed ? updated.transpose() : updated);
        });
        next.dispose();
      }
      tf.dispose([idx, rows]);
      out.push({ table: name, group, before, after, applied });
    }
  }
  return out;
}
