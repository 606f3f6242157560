/**
 * Per-token targets of the vision pre-training (stage 1b, README "Vision pre-training"): what each
 * vision token of the policy should be able to say about the scene, from the ShapeWorld scene graph.
 *
 * - covering (from stage 2's perception loss, src/train/sft/perception.ts): colour, shape and size
 *   class of the object covering most of the token's cell, or background;
 * - centre: whether an object's visible centroid falls in the token's cell, and that object's
 *   colour, shape and size. This is the object-centric target (CenterNet's "one object, one cell"):
 *   a chain of thought lists every object once, by its attributes and position, and the token that
 *   holds an object's centroid is where the decoder can read all of it. Where two centroids share a
 *   cell, the object with more visible pixels is the label (the other is still covered elsewhere).
 *
 * Layout: row-major over the tokenGrid × tokenGrid grid, like the vision tokens.
 */
import type { Sample } from '../../data/sample';
import { COLORS, SHAPES, SIZES, shapeWorldMeta } from '../../data/shapeworld/index';
import { tokenLabels } from '../sft/perception';

/** Per token: [isCentre (0/1), colour, shape, size]; attributes are −1 where isCentre is 0. */
export const CENTRE_FIELDS = 4;

/**
 * The centre targets of a sample (B × N × 4 row-major Int32Array for one sample: N = tokenGrid²).
 * Throws for a sample without a ShapeWorld scene graph (the pre-training needs one).
 */
export function centreLabels(sample: Sample, tokenGrid: number): Int32Array {
  const meta = shapeWorldMeta(sample);
  const { width: W, height: H } = meta.labelMap;
  const side = Math.max(W, H); // the encoder input is the longest side, padded (top-left aligned)
  const cell = side / tokenGrid;
  const out = new Int32Array(tokenGrid * tokenGrid * CENTRE_FIELDS);
  for (let k = 0; k < tokenGrid * tokenGrid; k++) out.set([0, -1, -1, -1], k * CENTRE_FIELDS);
  const owner = new Int32Array(tokenGrid * tokenGrid).fill(-1);
  for (const o of meta.scene.objects) {
    if (o.visibleArea <= 0) continue;
    const r = Math.min(tokenGrid - 1, Math.floor(o.centroid[1] / cell));
    const c = Math.min(tokenGrid - 1, Math.floor(o.centroid[0] / cell));
    const k = r * tokenGrid + c;
    const prev = owner[k];
    if (prev >= 0 && meta.scene.objects[prev].visibleArea >= o.visibleArea) continue;
    owner[k] = o.id;
    out.set([1, COLORS.indexOf(o.color), SHAPES.indexOf(o.shape), SIZES.indexOf(o.size)], k * CENTRE_FIELDS);
  }
  return out;
}

/** Covering targets (N × 3) of a ShapeWorld sample; throws where there is no label map. */
export function coveringLabels(sample: Sample, tokenGrid: number): Int32Array {
  const l = tokenLabels(sample, tokenGrid);
  if (!l) throw new Error(`vision pre-training: sample ${sample.id} has no ShapeWorld label map`);
  return l;
}
