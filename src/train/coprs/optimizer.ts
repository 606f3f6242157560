/**
 * Stage 3's optimizer (DESIGN §1, paper §4.1 / B.3): AdamW (β 0.9/0.999, decoupled weight decay
 * 0.01 on every parameter) with one group per trainable part and its learning-rate multiplier —
 * policy ×1, heatmap head ×25, prompt encoder ×10, mask decoder ×5 — and a global grad-norm clip
 * of 1.0. OneCycle per group: every group follows the same factor (cosine from its peak, no
 * warmup, down to peak / 6.7), so group g's rate at step t is lr · lrScale_g · lrFactor(t).
 * The frozen image encoder is in no group.
 */
import { AdamW, type ParamGroup } from '../adamw';
import type { Schedule } from '../schedule';
import { COPRS_PARTS, type CoprsModel, type CoprsPart } from '../../models/coprs/model';
import type { CoprsMode, CoprsTrainConfig } from './config';

/** The four groups, by part name, with their multipliers. */
export function coprsParamGroups(model: CoprsModel, optim: CoprsTrainConfig['optim']): ParamGroup[] {
  return COPRS_PARTS.map((part) => ({ name: part, vars: model.partParams(part), lrScale: optim.lrScale[part], weightDecay: optim.weightDecay }));
}

export function coprsOptimizer(model: CoprsModel, optim: CoprsTrainConfig['optim']): AdamW {
  return new AdamW(coprsParamGroups(model, optim), { beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, weightDecay: optim.weightDecay, clipNorm: optim.clipNorm });
}

/** OneCycle from the peak (pct_start 0) over the run, down to peak / finalDiv. */
export function coprsSchedule(c: CoprsTrainConfig): Schedule {
  return { kind: 'onecycle', total: c.steps, finalDiv: c.optim.finalDiv };
}

/** The parts a mode's loss reaches: `rl` trains the policy only (its heatmap head, prompt encoder and decoder stay as they are). */
export function trainedParts(mode: CoprsMode): CoprsPart[] {
  return mode === 'rl' ? ['policy'] : [...COPRS_PARTS];
}
