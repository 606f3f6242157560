/**
 * Rewards against IoU on controlled perturbations of real ground-truth masks (notebook 08).
 *
 * For each sample, each perturbation family (perturb.ts: shift, dilate, erode, noise) and each
 * level, the sample's ground-truth mask is perturbed at its own resolution (128×128 for
 * ShapeWorld-RS); the x value is the IoU of the perturbed mask against the original at that
 * resolution (the evaluation's IoU). Every named reward is then scored on a RewardContext built the
 * way stage 3 builds it (src/train/coprs/rewards.ts):
 *
 *   gt     the stage-3 soft target: the mask in the model frame (longest side to S, padded),
 *          bilinearly resized to r × r and clamped to [0, 1] (models/coprs/images.ts `softTargets`);
 *   pred   the perturbed mask through the SAME transform — `prediction: 'resized'` (default), so
 *          the unperturbed mask gets pred = gt exactly; its values are 0/1 inside and outside the
 *          shape and fractional (0.25, 0.5, 0.75) on pixels cut by its edge — or `'binary'`: that
 *          thresholded at 0.5 (a confident 0/1 prediction);
 *   valid  the unpadded region at r × r (io/preprocess.ts `validRegionMask`);
 *   text   the sample's ground-truth chain of thought as a well-formed response
 *          (`<think>…</think> <REF_POS>`; the format rewards are 1 throughout), its token ids when a
 *          tokenizer is given (else empty arrays), the query as the prompt, `step` (default 0).
 *
 * Shift direction: one of the four axis directions (+x, −x, +y, −y) per sample, drawn from the
 * seed. Noise: the pixels are drawn per sample from the seed; the flips of a lower level are a subset
 * of those of a higher one (the same partial Fisher–Yates sequence), so the levels are nested.
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, Sample } from '../data/sample';
import { softTargets } from '../models/coprs/images';
import { computePreprocessInfo, validRegionMask } from '../io/preprocess';
import { getReward, type MaskPair, type RewardContext } from '../rewards/registry';
import { responseText, encodeResponse } from '../models/policy/prompt';
import type { Tokenizer } from '../models/policy/tokenizer';
import type { PlotlyFigure } from '../notebook/plotly';
import { Rng, deriveSeed } from '../util/rng';
import { PERTURBATIONS, perturbMask, type PerturbSpec, type PerturbationKind } from './perturb';

/** Levels per family: shift and dilate/erode in pixels (at the mask's own resolution), noise as the fraction of pixels flipped. */
export type SweepLevels = Record<PerturbationKind, number[]>;

export const DEFAULT_SWEEP_LEVELS: SweepLevels = {
  shift: [0, 1, 2, 3, 4, 6, 8, 12, 16],
  dilate: [0, 1, 2, 3, 4, 6, 8],
  erode: [0, 1, 2, 3, 4, 5, 6],
  noise: [0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
};

export type PredictionMode = 'resized' | 'binary';

export interface RewardSweepOptions {
  /** Samples whose ground-truth masks are perturbed (e.g. refshapes val). */
  samples: Sample[];
  /** Registered reward names (built-in or user-registered). */
  rewards: string[];
  /** Levels per family (missing families use the defaults; an empty list skips the family). */
  levels?: Partial<SweepLevels>;
  /** Seed of the shift directions and of the noise pixels (default 0). */
  seed?: number;
  /** How the binary perturbed mask becomes the predicted probabilities (see the module comment). */
  prediction?: PredictionMode;
  /** SAM input side S and reward (mask) resolution r: the stage-3 values are 128 and 64. */
  imageSize?: number;
  maskSize?: number;
  /** The policy's tokenizer, for `completionIds` (else empty arrays). */
  tokenizer?: Tokenizer;
  /** `ctx.step` (for rewards with a schedule). */
  step?: number;
}

export interface SweepRow {
  sample: string;
  perturbation: PerturbationKind;
  level: number;
  /** IoU of the perturbed mask against the original (at the mask's own resolution). */
  iou: number;
  reward: string;
  /** The reward's value, or null where it does not apply. */
  value: number | null;
}

/** The perturbation spec of one family, level and sample. */
export function sweepSpec(kind: PerturbationKind, level: number, seed: number, sampleIndex: number): PerturbSpec {
  switch (kind) {
    case 'shift': {
      const [ux, uy] = new Rng(deriveSeed(seed, 'shift', sampleIndex)).pick([[1, 0], [-1, 0], [0, 1], [0, -1]] as const);
      return { kind, dx: ux * level, dy: uy * level };
    }
    case 'dilate':
    case 'erode':
      return { kind, k: level };
    case 'noise':
      return { kind, p: level, seed: deriveSeed(seed, 'noise', sampleIndex) };
    default:
      throw new Error(`reward sweep: unknown perturbation "${kind}"; expected one of ${PERTURBATIONS.join(', ')}`);
  }
}

/** The stage-3 soft masks (values, row-major r × r) of binary masks, and each one's valid region. */
export function stageThreeMasks(masks: BinaryMask[], S: number, r: number): { values: Float32Array[]; valid: Uint8Array[] } {
  const t = softTargets(masks, S, r); // B x r x r
  const all = t.dataSync() as Float32Array;
  t.dispose();
  const px = r * r;
  const values = masks.map((_, i) => all.slice(i * px, (i + 1) * px));
  const valid = masks.map((m) => {
    const v = validRegionMask(computePreprocessInfo(m.height, m.width, S), r);
    const out = Uint8Array.from(v.dataSync());
    v.dispose();
    return out;
  });
  return { values, valid };
}

/**
 * The RewardContext of predicted masks against their samples' ground truth, one completion per
 * sample, built as stage 3 builds it (see the module comment).
 */
export function rewardContextFor(samples: Sample[], predictions: BinaryMask[], opts: Pick<RewardSweepOptions, 'prediction' | 'imageSize' | 'maskSize' | 'tokenizer' | 'step'> = {}): RewardContext {
  if (predictions.length !== samples.length) throw new Error(`reward sweep: ${predictions.length} predictions for ${samples.length} samples`);
  const S = opts.imageSize ?? 128;
  const r = opts.maskSize ?? 64;
  const mode = opts.prediction ?? 'resized';
  if (mode !== 'resized' && mode !== 'binary') throw new Error(`reward sweep: prediction must be "resized" or "binary", got ${JSON.stringify(mode)}`);
  const gt = stageThreeMasks(samples.map((s) => s.mask), S, r);
  const pred = stageThreeMasks(predictions, S, r);
  const masks: MaskPair[] = samples.map((_, i) => ({
    pred: mode === 'binary' ? pred.values[i].map((v) => (v >= 0.5 ? 1 : 0)) : pred.values[i],
    gt: gt.values[i],
    valid: gt.valid[i],
  }));
  const completions = samples.map((s) => responseText(s.cot?.text ?? s.query));
  return {
    prompts: samples.map((s) => s.query),
    completions,
    completionIds: samples.map((s) => (opts.tokenizer ? encodeResponse(opts.tokenizer, s.cot?.text ?? s.query) : [])),
    masks,
    samples,
    step: opts.step ?? 0,
  };
}

/** Every (sample, family, level, reward) row of the sweep. */
export function rewardSweep(opts: RewardSweepOptions): SweepRow[] {
  const { samples, rewards } = opts;
  if (!Array.isArray(samples) || samples.length === 0) throw new Error('reward sweep: give at least one sample');
  if (!Array.isArray(rewards) || rewards.length === 0) throw new Error('reward sweep: give at least one reward name');
  const fns = rewards.map((n) => getReward(n)); // unknown names throw, listing the registered ones
  const seed = opts.seed ?? 0;
  const levels: SweepLevels = { ...DEFAULT_SWEEP_LEVELS, ...(opts.levels ?? {}) };
  const rows: SweepRow[] = [];
  const n0 = tf.memory().numTensors;
  for (const kind of PERTURBATIONS) {
    for (const level of levels[kind]) {
      const perturbed = samples.map((s, i) => perturbMask(s.mask, sweepSpec(kind, level, seed, i)));
      const ctx = rewardContextFor(samples, perturbed.map((p) => p.mask), opts);
      rewards.forEach((name, j) => {
        const values = fns[j](ctx);
        if (values.length !== samples.length) throw new Error(`reward "${name}" returned ${values.length} values for ${samples.length} completions`);
        values.forEach((v, i) => {
          if (v !== null && !Number.isFinite(v)) throw new Error(`reward "${name}" returned ${v} for sample ${samples[i].id} (${kind} ${level})`);
          rows.push({ sample: samples[i].id, perturbation: kind, level, iou: perturbed[i].iou, reward: name, value: v });
        });
      });
    }
  }
  if (tf.memory().numTensors !== n0) throw new Error(`reward sweep: ${tf.memory().numTensors - n0} tensors leaked`);
  return rows;
}

export interface SweepSummaryRow {
  perturbation: PerturbationKind;
  level: number;
  reward: string;
  /** Mean IoU and mean reward over the samples (nulls left out of the reward mean; NaN if all null). */
  iou: number;
  value: number;
  /** Samples with a non-null value. */
  n: number;
}

/** Means per (family, level, reward), in sweep order. */
export function summarizeSweep(rows: SweepRow[]): SweepSummaryRow[] {
  const groups = new Map<string, { perturbation: PerturbationKind; level: number; reward: string; iou: number[]; value: number[] }>();
  for (const r of rows) {
    const key = `${r.perturbation}|${r.level}|${r.reward}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { perturbation: r.perturbation, level: r.level, reward: r.reward, iou: [], value: [] }));
    g.iou.push(r.iou);
    if (r.value !== null) g.value.push(r.value);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return [...groups.values()].map((g) => ({ perturbation: g.perturbation, level: g.level, reward: g.reward, iou: mean(g.iou), value: mean(g.value), n: g.value.length }));
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const LEVEL_UNIT: Record<PerturbationKind, string> = { shift: 'px', dilate: 'px', erode: 'px', noise: '' };

/**
 * Four panels (one per family): mean reward against mean IoU over the levels, one line per reward,
 * the dotted y = x line for reference; hover shows the level.
 */
export function sweepFigure(summary: SweepSummaryRow[], opts: { title?: string } = {}): PlotlyFigure {
  const rewards = [...new Set(summary.map((r) => r.reward))];
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? 'rewards against IoU on perturbed ground-truth masks' },
    grid: { rows: 2, columns: 2, pattern: 'independent' },
    legend: { orientation: 'h', y: -0.12 },
    margin: { t: 70, l: 55, r: 20, b: 60 },
    annotations: [] as Record<string, unknown>[],
  };
  PERTURBATIONS.forEach((kind, p) => {
    const ax = p === 0 ? '' : String(p + 1);
    data.push({ type: 'scatter', mode: 'lines', x: [0, 1], y: [0, 1], xaxis: `x${ax}`, yaxis: `y${ax}`, line: { dash: 'dot', color: '#aaa', width: 1 }, name: 'y = IoU', showlegend: p === 0, legendgroup: 'y=x', hoverinfo: 'skip' });
    rewards.forEach((name, j) => {
      const pts = summary.filter((r) => r.perturbation === kind && r.reward === name).sort((a, b) => a.iou - b.iou);
      data.push({
        type: 'scatter', mode: 'lines+markers', name, legendgroup: name, showlegend: p === 0,
        x: pts.map((r) => r.iou), y: pts.map((r) => r.value), text: pts.map((r) => `${kind} ${r.level}${LEVEL_UNIT[kind]}`),
        hovertemplate: '%{text}<br>IoU %{x:.3f}<br>reward %{y:.3f}', xaxis: `x${ax}`, yaxis: `y${ax}`,
        line: { color: PALETTE[j % PALETTE.length] }, marker: { size: 5 },
      });
    });
    layout[`xaxis${ax}`] = { title: { text: 'IoU with the ground truth' }, range: [0, 1.02] };
    layout[`yaxis${ax}`] = { title: { text: 'reward' }, range: [-0.02, 1.05] };
    (layout.annotations as Record<string, unknown>[]).push({ text: `<b>${kind}</b>`, xref: `x${ax} domain`, yref: `y${ax} domain`, x: 0.02, y: 0.98, showarrow: false, xanchor: 'left', yanchor: 'top' });
  });
  return { data, layout };
}
