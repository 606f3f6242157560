/**
 * The statistics behind the paper's correlation figures (Fig. 3, Fig. 4, Table 3): ordinary least
 * squares with the mean confidence band, Pearson's R, and binning.
 *
 *   ŷ(x) = a + b·x,   b = Sxy / Sxx,   a = ȳ − b·x̄
 *   σ̂ = sqrt(SSE / (n − 2))
 *   band: ŷ(x) ± η · s.e.(ŷ(x)),   s.e.(ŷ(x)) = σ̂ · sqrt(1/n + (x − x̄)² / Sxx),   η = 10 as in the paper
 *   R = Sxy / sqrt(Sxx · Syy)
 */
export interface OlsFit {
  n: number;
  slope: number;
  intercept: number;
  /** Residual standard deviation σ̂ (n − 2 degrees of freedom). */
  sigma: number;
  xMean: number;
  yMean: number;
  sxx: number;
  /** Pearson correlation. */
  r: number;
  r2: number;
}

function check(x: readonly number[], y: readonly number[], min: number): void {
  if (x.length !== y.length) throw new Error(`x has ${x.length} values, y has ${y.length}`);
  if (x.length < min) throw new Error(`need at least ${min} points, got ${x.length}`);
  x.forEach((v, i) => {
    if (!Number.isFinite(v) || !Number.isFinite(y[i])) throw new Error(`point ${i} is not finite: (${v}, ${y[i]})`);
  });
}

export function olsFit(x: readonly number[], y: readonly number[]): OlsFit {
  check(x, y, 3);
  const n = x.length;
  const xMean = x.reduce((a, b) => a + b, 0) / n;
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - xMean) ** 2;
    sxy += (x[i] - xMean) * (y[i] - yMean);
    syy += (y[i] - yMean) ** 2;
  }
  if (sxx === 0) throw new Error('all x values are equal: the slope is undefined');
  const slope = sxy / sxx;
  const intercept = yMean - slope * xMean;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i] - intercept - slope * x[i]) ** 2;
  const sigma = Math.sqrt(sse / (n - 2));
  const r = syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
  return { n, slope, intercept, sigma, xMean, yMean, sxx, r, r2: r * r };
}

export function predict(fit: OlsFit, x: number): number {
  return fit.intercept + fit.slope * x;
}

/** Standard error of the fitted mean at x. */
export function meanStandardError(fit: OlsFit, x: number): number {
  return fit.sigma * Math.sqrt(1 / fit.n + (x - fit.xMean) ** 2 / fit.sxx);
}

export interface Band {
  x: number[];
  y: number[];
  lower: number[];
  upper: number[];
}

/** The line and its band ŷ ± η·s.e. at the given x positions (η = 10 as in the paper). */
export function confidenceBand(fit: OlsFit, xs: readonly number[], eta = 10): Band {
  const y = xs.map((x) => predict(fit, x));
  const se = xs.map((x) => meanStandardError(fit, x));
  return { x: [...xs], y, lower: y.map((v, i) => v - eta * se[i]), upper: y.map((v, i) => v + eta * se[i]) };
}

/** Evenly spaced points over [min, max] (for drawing a band). */
export function linspace(min: number, max: number, count: number): number[] {
  if (count < 2) return [min];
  return Array.from({ length: count }, (_, i) => min + ((max - min) * i) / (count - 1));
}

/** Pearson's R (0 when either series is constant). */
export function pearson(x: readonly number[], y: readonly number[]): number {
  check(x, y, 2);
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

export interface Bin {
  /** [lo, hi) — the last bin includes hi. */
  lo: number;
  hi: number;
  count: number;
  /** Mean of each named series over the bin's points (NaN for an empty bin). */
  means: Record<string, number>;
}

/**
 * Bin points by `key` into [edges[i], edges[i+1]) (the last bin closed) and average each series
 * (Table 3: consistency-score bins with counts and mean heatmap / mask IoU).
 */
export function binBy(key: readonly number[], series: Record<string, readonly number[]>, edges: readonly number[]): Bin[] {
  if (edges.length < 2) throw new Error('binBy: need at least two edges');
  for (let i = 1; i < edges.length; i++) if (!(edges[i] > edges[i - 1])) throw new Error(`binBy: edges must increase, got ${edges.join(', ')}`);
  for (const [name, s] of Object.entries(series)) if (s.length !== key.length) throw new Error(`binBy: series "${name}" has ${s.length} values, key has ${key.length}`);
  const bins: Bin[] = edges.slice(0, -1).map((lo, i) => ({ lo, hi: edges[i + 1], count: 0, means: {} }));
  const sums = bins.map(() => Object.fromEntries(Object.keys(series).map((k) => [k, 0])) as Record<string, number>);
  key.forEach((k, i) => {
    const b = bins.findIndex((bin, j) => k >= bin.lo && (k < bin.hi || (j === bins.length - 1 && k === bin.hi)));
    if (b < 0) return;
    bins[b].count++;
    for (const [name, s] of Object.entries(series)) sums[b][name] += s[i];
  });
  bins.forEach((bin, j) => {
    for (const name of Object.keys(series)) bin.means[name] = bin.count > 0 ? sums[j][name] / bin.count : NaN;
  });
  return bins;
}
