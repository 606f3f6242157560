/**
 * Group-relative advantages (GRPO, Shao et al. 2024): each completion's reward minus its group's
 * mean, divided by the group's unbiased standard deviation + 1e-6. One pure function over the
 * reward vector (prompt-major: group g holds entries g·G … g·G + G − 1).
 *
 *   A_i = (r_i − mean(r_group)) / (std_unbiased(r_group) + 1e-6)       ('std', GRPO)
 *   A_i =  r_i − mean(r_group)                                            ('none', Dr. GRPO)
 *
 * A group of one gets 0; a group whose rewards are all equal gets 0 (never NaN).
 */
export type AdvantageScale = 'std' | 'none';

export interface GroupStats {
  advantages: number[];
  groupMeans: number[];
  groupStds: number[];
  /** Fraction of groups whose rewards are all equal (they teach nothing). */
  zeroStdFraction: number;
}

export function groupAdvantages(rewards: readonly number[], G: number, scale: AdvantageScale = 'std', eps = 1e-6): GroupStats {
  if (!Number.isInteger(G) || G < 1) throw new Error(`group size must be a positive integer, got ${G}`);
  if (rewards.length % G !== 0) throw new Error(`${rewards.length} rewards do not split into groups of ${G}`);
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new Error(`reward ${i} is ${r}: rewards must be finite`);
  });
  const advantages = new Array<number>(rewards.length).fill(0);
  const groupMeans: number[] = [];
  const groupStds: number[] = [];
  let zero = 0;
  for (let g = 0; g < rewards.length / G; g++) {
    const r = rewards.slice(g * G, g * G + G);
    const mean = r.reduce((a, b) => a + b, 0) / G;
    const std = G > 1 ? Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (G - 1)) : 0;
    groupMeans.push(mean);
    groupStds.push(std);
    if (std === 0) zero++;
    if (G === 1) continue;
    for (let i = 0; i < G; i++) {
      const centered = r[i] - mean;
      advantages[g * G + i] = scale === 'std' ? centered / (std + eps) : centered;
    }
  }
  return { advantages, groupMeans, groupStds, zeroStdFraction: zero / Math.max(1, rewards.length / G) };
}
