/**
 * Seg-Zero's five 0/1 rewards (paper §3.3; official code verl/utils/reward_score/seg*.py), summed
 * with weight 1 each, registered in the kit's reward registry (src/rewards/registry.ts):
 *
 *   seg-zero/think-format   1 if the completion is exactly `<think>…</think>` then (whitespace)
 *                           `<answer>…</answer>` (the code's re.fullmatch)
 *   seg-zero/answer-format  1 if the answer parses (answer.ts: a JSON object with a bbox of 4 and two
 *                           points of 2 numbers)
 *   seg-zero/bbox-iou       1 if IoU(pred box, GT box) > 0.5 (inclusive pixel boxes: areas (x2−x1+1)(y2−y1+1),
 *                           intersection counted only when x1 < x2 and y1 < y2 of the overlap, as the code)
 *   seg-zero/bbox-l1        1 if the mean |Δ| over the 4 box coordinates < τ_box
 *   seg-zero/points-l1      1 if both predicted points (truncated to integers, as the code) lie inside the
 *                           PREDICTED box and the mean distance to the GT points, under the better of
 *                           the two pairings, < τ_pts
 *
 * Thresholds: Seg-Zero works on images resized to 840 × 840; its code uses τ_box = 10 px and
 * τ_pts = 100 px there. The kit scales both by the sample's longest side / 840 (ShapeWorld-RS 128 px:
 * τ_box = 10·128/840 ≈ 1.52 px, τ_pts = 100·128/840 ≈ 15.2 px). GT box and points come from the
 * sample's mask (answer.ts). A completion without a sample (or with an empty GT mask) gets null
 * for the three accuracy rewards (does not apply).
 */
import type { Sample } from '../../data/sample';
import { registerReward, rewardNames, type RewardContext, type RewardFn } from '../../rewards/registry';
import { groundTruthAnswer, parseSegZeroAnswer, type Point, type SegZeroAnswer } from './answer';

/** Seg-Zero's thresholds at its 840-pixel resolution (official reward code). */
export const SEG_ZERO_THRESHOLDS = { referenceSize: 840, bboxIoU: 0.5, bboxL1: 10, pointsL1: 100 } as const;

/** τ_box and τ_pts for an image of this size (scaled by its longest side / 840). */
export function scaledThresholds(width: number, height: number): { bboxL1: number; pointsL1: number } {
  const s = Math.max(width, height) / SEG_ZERO_THRESHOLDS.referenceSize;
  return { bboxL1: SEG_ZERO_THRESHOLDS.bboxL1 * s, pointsL1: SEG_ZERO_THRESHOLDS.pointsL1 * s };
}

const THINK_ANSWER = /^<think>[\s\S]*?<\/think>\s*<answer>[\s\S]*?<\/answer>$/;

export function thinkFormatScore(text: string): number {
  return THINK_ANSWER.test(text) ? 1 : 0;
}

export function answerFormatScore(text: string): number {
  return parseSegZeroAnswer(text).ok ? 1 : 0;
}

/** IoU of two inclusive-pixel boxes, as Seg-Zero's code computes it. */
export function boxIoU(a: readonly number[], b: readonly number[]): number {
  const ix1 = Math.max(a[0], b[0]);
  const iy1 = Math.max(a[1], b[1]);
  const ix2 = Math.min(a[2], b[2]);
  const iy2 = Math.min(a[3], b[3]);
  const inter = ix1 < ix2 && iy1 < iy2 ? (ix2 - ix1 + 1) * (iy2 - iy1 + 1) : 0;
  const area = (x: readonly number[]) => (x[2] - x[0] + 1) * (x[3] - x[1] + 1);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Mean absolute difference of the 4 box coordinates. */
export function boxL1(a: readonly number[], b: readonly number[]): number {
  return (Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) + Math.abs(a[3] - b[3])) / 4;
}

/** Mean Euclidean distance of two point pairs under the better pairing (Seg-Zero's points_distance). */
export function pointsDistance(p: readonly Point[], g: readonly Point[]): number {
  const d = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  return Math.min(d(p[0], g[0]) + d(p[1], g[1]), d(p[0], g[1]) + d(p[1], g[0])) / 2;
}

const inBox = (p: Point, b: readonly number[]) => b[0] <= p[0] && p[0] <= b[2] && b[1] <= p[1] && p[1] <= b[3];

/** The three accuracy scores of one completion against a GT answer, at an image size. */
export function accuracyScores(text: string, gt: SegZeroAnswer, width: number, height: number): { bboxIoU: number; bboxL1: number; pointsL1: number } {
  const parsed = parseSegZeroAnswer(text);
  if (!parsed.ok) return { bboxIoU: 0, bboxL1: 0, pointsL1: 0 };
  const a = parsed.answer;
  const tau = scaledThresholds(width, height);
  const pts = a.points.map((p) => [Math.trunc(p[0]), Math.trunc(p[1])] as Point);
  return {
    bboxIoU: boxIoU(a.bbox, gt.bbox) > SEG_ZERO_THRESHOLDS.bboxIoU ? 1 : 0,
    bboxL1: boxL1(a.bbox, gt.bbox) < tau.bboxL1 ? 1 : 0,
    pointsL1: pts.every((p) => inBox(p, a.bbox)) && pointsDistance(pts, gt.points) < tau.pointsL1 ? 1 : 0,
  };
}

function accuracyReward(key: 'bboxIoU' | 'bboxL1' | 'pointsL1'): RewardFn {
  return (ctx: RewardContext) =>
    ctx.completions.map((text, i) => {
      const s: Sample | undefined = ctx.samples?.[i];
      const gt = s ? groundTruthAnswer(s.mask) : null;
      if (!s || !gt) return null;
      return accuracyScores(text, gt, s.mask.width, s.mask.height)[key];
    });
}

/** The registered names, with weight 1 each (Seg-Zero sums the five). */
export const SEG_ZERO_REWARDS: Record<string, number> = {
  'seg-zero/think-format': 1,
  'seg-zero/answer-format': 1,
  'seg-zero/bbox-iou': 1,
  'seg-zero/bbox-l1': 1,
  'seg-zero/points-l1': 1,
};

const FNS: Record<string, RewardFn> = {
  'seg-zero/think-format': (ctx) => ctx.completions.map(thinkFormatScore),
  'seg-zero/answer-format': (ctx) => ctx.completions.map(answerFormatScore),
  'seg-zero/bbox-iou': accuracyReward('bboxIoU'),
  'seg-zero/bbox-l1': accuracyReward('bboxL1'),
  'seg-zero/points-l1': accuracyReward('pointsL1'),
};

/** Register the five rewards (idempotent: importing this module does it once). */
export function registerSegZeroRewards(): void {
  const known = new Set(rewardNames());
  for (const [name, fn] of Object.entries(FNS)) if (!known.has(name)) registerReward(name, fn);
}

registerSegZeroRewards();
