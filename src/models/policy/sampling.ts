/**
 * Picking the next token from a row of logits: greedy (temperature 0), or sampling at a temperature
 * with nucleus (top-p) truncation. Plain JS over one row (V is a few hundred); all randomness from
 * the caller's `Rng`, one draw per sampled token, so a seed fixes every rollout.
 */
import type { Rng } from '../../util/rng';

export interface SamplingOptions {
  /** 0 = greedy (argmax, lowest id on ties); > 0 divides the logits. */
  temperature: number;
  /** Keep the smallest set of most probable tokens whose mass reaches topP (1 = all). */
  topP: number;
}

export function validateSampling(o: SamplingOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new Error(`sampling: temperature must be a finite number ≥ 0 (0 = greedy), got ${o.temperature}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`sampling: topP must be in (0, 1], got ${o.topP}`);
}

/** Index of the largest value (lowest index on ties). */
export function argmax(row: ArrayLike<number>, from = 0, to = row.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (row[i] > row[best]) best = i;
  return best - from;
}

/** The next token of one row `logits[offset .. offset + V)`. */
export function pickToken(logits: ArrayLike<number>, offset: number, V: number, o: SamplingOptions, rng: Rng): number {
  if (o.temperature === 0) return argmax(logits, offset, offset + V);
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[offset + i]);
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    p[i] = Math.exp((logits[offset + i] - max) / o.temperature);
    sum += p[i];
  }
  const u = rng.next();
  if (o.topP >= 1) {
    let r = u * sum;
    for (let i = 0; i < V; i++) {
      r -= p[i];
      if (r < 0) return i;
    }
    return argmax(p);
  }
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < V && mass < o.topP * sum) mass += p[order[kept++]];
  let r = u * mass;
  for (let k = 0; k < kept; k++) {
    r -= p[order[k]];
    if (r < 0) return order[k];
  }
  return order[kept - 1];
}
