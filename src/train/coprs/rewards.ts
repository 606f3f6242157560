/**
 * Scoring a rollout batch with the reward registry (src/rewards/registry.ts): every completion gets
 * its context — the query, the completion text and ids, its predicted mask (σ of the mask logits of
 * the same forward pass as the loss) against the soft ground truth over the unpadded region, its
 * sample — and the named rewards are combined by their weights.
 */
import { combineRewards, type CombinedRewards, type MaskPair, type RewardContext } from '../../rewards/registry';
import type { RolloutBatch } from './rollout';

/** Rewards of the N completions; `maskProbs` [N·r·r] are the predicted mask probabilities, row-major. */
export function rolloutRewards(weights: Record<string, number>, batch: RolloutBatch, maskProbs: ArrayLike<number>, r: number, step: number): { rewards: CombinedRewards; ctx: RewardContext } {
  const { G, generation } = batch;
  const N = generation.ids.length;
  const px = r * r;
  if (maskProbs.length !== N * px) throw new Error(`rewards: ${maskProbs.length} mask values for ${N} completions of ${r}×${r}`);
  const masks: MaskPair[] = generation.ids.map((_, i) => {
    const b = Math.floor(i / G);
    return {
      pred: Float32Array.from({ length: px }, (_, k) => maskProbs[i * px + k]),
      gt: batch.targetValues.subarray(b * px, (b + 1) * px),
      valid: batch.validValues.subarray(b * px, (b + 1) * px),
    };
  });
  const ctx: RewardContext = {
    prompts: generation.ids.map((_, i) => batch.samples[Math.floor(i / G)].query),
    completions: generation.text,
    completionIds: generation.ids,
    masks,
    samples: generation.ids.map((_, i) => batch.samples[Math.floor(i / G)]),
    step,
  };
  return { rewards: combineRewards(weights, ctx), ctx };
}
