/**
 * The CoPRS mask reward (paper appendix B.2): a score in [0, 1] from the predicted mask
 * probabilities and the ground truth,
 *
 *   mask = 0.5 · softIoU + 0.2 · softDice + 0.3 · hardIoU,   eps = 1e-6
 *   softIoU  = (Σ p·g + eps) / (Σ p + Σ g − Σ p·g + eps)
 *   softDice = (2 Σ p·g + eps) / (Σ p + Σ g + eps)
 *   hardIoU  = IoU of (p ≥ 0.5) and (g ≥ 0.5), with eps likewise
 *
 * Reference values (DESIGN §1, 128×128 squares in a 256×256 image): identical → 1.0; shifted by half
 * the side → 0.5/3 + 0.2/2 + 0.3/3 ≈ 0.3667; disjoint → 0.0. Both masks empty → 1.0 (eps/eps).
 */
export const MASK_REWARD_WEIGHTS = { softIoU: 0.5, softDice: 0.2, hardIoU: 0.3 } as const;
export const MASK_REWARD_EPS = 1e-6;

export interface MaskScores {
  softIoU: number;
  softDice: number;
  hardIoU: number;
  /** The weighted sum. */
  reward: number;
}

/**
 * Scores of one predicted probability map against a ground-truth map of the same length (values in
 * [0, 1]; the ground truth may be soft). `valid` (1 = counts) restricts both to the unpadded region.
 */
export function maskScores(pred: ArrayLike<number>, gt: ArrayLike<number>, valid?: ArrayLike<number>): MaskScores {
  if (pred.length !== gt.length) throw new Error(`mask reward: prediction has ${pred.length} values, ground truth ${gt.length}`);
  if (valid && valid.length !== pred.length) throw new Error(`mask reward: valid-region mask has ${valid.length} values, expected ${pred.length}`);
  let pg = 0;
  let ps = 0;
  let gs = 0;
  let hi = 0;
  let hu = 0;
  for (let i = 0; i < pred.length; i++) {
    if (valid && !valid[i]) continue;
    const p = Math.min(1, Math.max(0, Number.isFinite(pred[i]) ? pred[i] : 0));
    const g = gt[i];
    pg += p * g;
    ps += p;
    gs += g;
    const hp = p >= 0.5;
    const hg = g >= 0.5;
    if (hp && hg) hi++;
    if (hp || hg) hu++;
  }
  const eps = MASK_REWARD_EPS;
  const softIoU = (pg + eps) / (ps + gs - pg + eps);
  const softDice = (2 * pg + eps) / (ps + gs + eps);
  const hardIoU = (hi + eps) / (hu + eps);
  const w = MASK_REWARD_WEIGHTS;
  return { softIoU, softDice, hardIoU, reward: w.softIoU * softIoU + w.softDice * softDice + w.hardIoU * hardIoU };
}
