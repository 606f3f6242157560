/** Numeric comparison helpers for tests. */
import * as assert from 'node:assert/strict';

/** max |a - b| / (max |b| + 1e-12): the relative error used by the backend tests. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `length mismatch: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale + 1e-12);
}

export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const e = relError(a, b);
  assert.ok(Number.isFinite(e) && e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol}`);
}

export function assertNear(a: number, b: number, tol: number, what = 'value'): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: expected ${b} ± ${tol}, got ${a}`);
}
