/**
 * Learning-rate schedules as pure functions of the step.
 *
 * CoPRS (DESIGN §1): OneCycle per group starting at the peak (pct_start 0) and annealing with a
 * cosine down to peak/6.7 over the run. Also a linear warmup + cosine for the pretraining stages.
 */
export type Schedule =
  | { kind: 'constant' }
  /** OneCycle with pct_start = 0: cosine from peak to peak / finalDiv over `total` steps. */
  | { kind: 'onecycle'; total: number; finalDiv: number }
  | { kind: 'warmup-cosine'; warmup: number; total: number; minFactor: number };

/** The factor (× peak learning rate) at `step` (0-based). */
export function lrFactor(s: Schedule, step: number): number {
  switch (s.kind) {
    case 'constant':
      return 1;
    case 'onecycle': {
      const t = Math.min(1, Math.max(0, step / Math.max(1, s.total - 1)));
      const end = 1 / s.finalDiv;
      return end + (1 - end) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    case 'warmup-cosine': {
      if (step < s.warmup) return (step + 1) / s.warmup;
      const t = Math.min(1, (step - s.warmup) / Math.max(1, s.total - s.warmup - 1));
      return s.minFactor + (1 - s.minFactor) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    default: {
      const never: never = s;
      throw new Error(`unknown schedule ${JSON.stringify(never)}`);
    }
  }
}
