/**
 * Samples-to-convergence (paper §4.4, Fig. 6a): "the total number of GRPO samples required to reach
 * convergence (loss fluctuation < 10% over 300 steps)".
 *
 * The paper does not define "fluctuation"; the kit's definition (its own choice, kept simple and
 * strict): over a window of W consecutive per-step training losses,
 *
 *   fluctuation = (max − min) / |mean|        (∞ when the mean is 0 and the losses are not all equal)
 *
 * The run has converged at step t when every window that starts at t or later (and fits in the
 * curve) has fluctuation < tolerance — "the first step after which the fluctuation stays below
 * 10%". A curve whose last window still fluctuates has not converged (null). Samples to convergence
 * = the GRPO completions seen up to and including step t (SEG warm-up steps, which draw no
 * rollouts, are not GRPO samples and are left out of the curve by the caller).
 *
 * The window is scaled to the run (`convergenceWindow`): the paper's 300 steps are ≈1% of its
 * 31,250, which at the kit's 60 GRPO steps would be under one step; the kit uses 10% of the GRPO
 * steps, at least 2 (its own choice).
 */

export interface ConvergenceOptions {
  /** Window length W, in steps (≥ 2). */
  window: number;
  /** Relative fluctuation below which a window counts as stable (paper: 0.1). */
  tolerance?: number;
}

export interface ConvergenceResult {
  /** Index into the curve (0-based) of the first step of the stable tail, or null when not converged. */
  index: number | null;
  /** Fluctuation of each window, by its start index (length = n − W + 1, or 0 when n < W). */
  fluctuations: number[];
  /** Fluctuation of the last window (NaN when the curve is shorter than the window). */
  finalFluctuation: number;
}

/** (max − min) / |mean| of `xs` (see the module comment). */
export function fluctuation(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('fluctuation: empty window');
  for (const x of xs) if (!Number.isFinite(x)) throw new Error(`fluctuation: non-finite loss ${x} in the window`);
  const max = Math.max(...xs);
  const min = Math.min(...xs);
  if (max === min) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return mean === 0 ? Infinity : (max - min) / Math.abs(mean);
}

/** Where a loss curve converges (see the module comment). */
export function convergence(losses: readonly number[], opts: ConvergenceOptions): ConvergenceResult {
  const W = opts.window;
  const tol = opts.tolerance ?? 0.1;
  if (!Number.isInteger(W) || W < 2) throw new Error(`convergence: window must be an integer ≥ 2 steps, got ${W}`);
  if (!(tol > 0)) throw new Error(`convergence: tolerance must be > 0, got ${tol}`);
  const n = losses.length;
  if (n < W) return { index: null, fluctuations: [], finalFluctuation: NaN };
  const fl: number[] = [];
  for (let s = 0; s + W <= n; s++) fl.push(fluctuation(losses.slice(s, s + W)));
  let lastBad = -1;
  for (let s = 0; s < fl.length; s++) if (!(fl[s] < tol)) lastBad = s;
  const index = lastBad + 1 < fl.length ? lastBad + 1 : null;
  return { index, fluctuations: fl, finalFluctuation: fl[fl.length - 1] };
}

export interface SamplesToConvergence {
  /** Training step (1-based, as logged) at which the stable tail starts, or null. */
  step: number | null;
  /** GRPO completions seen up to and including that step, or null. */
  samples: number | null;
  finalFluctuation: number;
  window: number;
}

/**
 * Samples to convergence of a run's GRPO steps: `steps[i]` is the logged step number of `losses[i]`
 * (warm-up steps already removed), `completionsPerStep` the GRPO completions of one step, and
 * `firstGrpoStep` the step number of the first GRPO step (samples are counted from it).
 */
export function samplesToConvergence(steps: readonly number[], losses: readonly number[], completionsPerStep: number, opts: ConvergenceOptions & { firstGrpoStep?: number }): SamplesToConvergence {
  if (steps.length !== losses.length) throw new Error(`samplesToConvergence: ${steps.length} step numbers for ${losses.length} losses`);
  if (!Number.isInteger(completionsPerStep) || completionsPerStep < 1) throw new Error(`samplesToConvergence: completionsPerStep must be a positive integer, got ${completionsPerStep}`);
  const r = convergence(losses, opts);
  const first = opts.firstGrpoStep ?? (steps.length ? steps[0] : 1);
  if (r.index == null) return { step: null, samples: null, finalFluctuation: r.finalFluctuation, window: opts.window };
  const step = steps[r.index];
  return { step, samples: (step - first + 1) * completionsPerStep, finalFluctuation: r.finalFluctuation, window: opts.window };
}

/** The window for a run of `grpoSteps` GRPO steps: 10% of them, at least 2 (see the module comment). */
export function convergenceWindow(grpoSteps: number): number {
  return Math.max(2, Math.round(grpoSteps * 0.1));
}
