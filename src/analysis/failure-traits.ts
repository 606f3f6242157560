/**
 * What the failure cases have in common, measured on the scene graph. The paper (§4.3, appendix C)
 * names two failure modes: very small targets that vanish at the input resolution, and dense groups
 * of similar instances that the text cannot disambiguate. Per sample: the target's visible area as a
 * share of the image, the number of objects, and the number of other objects of the target's kind
 * (same shape), color, and both. `compareTraits` sets the failure cases beside all samples.
 */
import type { Sample } from '../data/sample';
import { shapeWorldMeta } from '../data/shapeworld/index';

export interface SampleTraits {
  id: string;
  /** Visible target pixels / image pixels. */
  targetArea: number;
  objects: number;
  sameShape: number;
  sameColor: number;
  sameShapeAndColor: number;
}

export function sampleTraits(s: Sample): SampleTraits {
  const meta = shapeWorldMeta(s);
  const objs = meta.scene.objects;
  const targets = objs.filter((o) => meta.targetIds.includes(o.id));
  const others = objs.filter((o) => !meta.targetIds.includes(o.id));
  const t = targets[0];
  const area = targets.reduce((a, o) => a + o.visibleArea, 0) / (s.image.width * s.image.height);
  return {
    id: s.id, targetArea: area, objects: objs.length,
    sameShape: t ? others.filter((o) => o.shape === t.shape).length : 0,
    sameColor: t ? others.filter((o) => o.color === t.color).length : 0,
    sameShapeAndColor: t ? others.filter((o) => o.shape === t.shape && o.color === t.color).length : 0,
  };
}

export interface TraitComparison {
  trait: keyof Omit<SampleTraits, 'id'>;
  failures: number;
  all: number;
}

/** Mean of each trait over the failure cases and over all samples. */
export function compareTraits(failures: readonly SampleTraits[], all: readonly SampleTraits[]): TraitComparison[] {
  const keys = ['targetArea', 'objects', 'sameShape', 'sameColor', 'sameShapeAndColor'] as const;
  const mean = (xs: readonly SampleTraits[], k: (typeof keys)[number]) => (xs.length ? xs.reduce((a, x) => a + x[k], 0) / xs.length : NaN);
  return keys.map((k) => ({ trait: k, failures: mean(failures, k), all: mean(all, k) }));
}
