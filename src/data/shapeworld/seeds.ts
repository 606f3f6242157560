/**
 * Scene seeds. Training scenes and evaluation scenes come from disjoint halves of the 32-bit seed
 * space (top bit 0 for training, 1 for evaluation), so no training stream can ever draw an
 * evaluation scene's generator stream, whatever seed it is given.
 */
import { deriveSeed } from '../../util/rng';

/** Which half of the seed space a scene comes from. */
export type ScenePool = 'train' | 'eval';

/**
 * Seed of the scene behind sample `index` (retry `attempt`). Train seeds ignore the dataset name,
 * so refshapes and reasonshapes training streams with one seed share their scenes.
 */
export function sceneSeed(pool: ScenePool, seed: number, dataset: string, split: string, index: number, attempt: number): number {
  if (pool === 'train') return (deriveSeed(seed, 'train-scene', index, attempt) & 0x7fffffff) >>> 0;
  return (deriveSeed(seed, 'eval-scene', dataset, split, index, attempt) | 0x80000000) >>> 0;
}

/** Whether a scene seed lies in the training half. */
export function isTrainSeed(s: number): boolean {
  return (s >>> 0) < 0x80000000;
}
