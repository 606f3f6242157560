/**
 * RSVP's visual prompt and region proposal on the kit's images (Lu et al., ACL 2025; the grid details
 * are the KIT'S OWN: the paper's code and prompt are not published, ../shared/papers/003_*).
 *
 * The grid: the image is cut into `rows` horizontal strips (numbered 1..rows from the top, "down")
 * and `cols` vertical strips (numbered 1..cols from the left, "across"); strip k of n over a side of
 * L pixels covers pixels ⌊(k−1)·L/n⌋ … ⌊k·L/n⌋ − 1. On the kit's 128-px images with 8 × 8 strips each
 * strip is 16 px wide, the size of two mini-SAM embedding cells and one policy image token.
 * It is drawn as 1-px lines on the first pixel row/column of strips 2..n, each pixel blended halfway
 * to white (p' = (p + 255) / 2, so objects under a line stay recognisable). No numbers are drawn: at
 * 128 px a digit glyph would hide a strip's content, and a strip's id is its order from the top or left.
 *
 * The answer names the strips the target touches: `down 5, 6 across 2, 3` (rows 5–6, columns 2–3).
 * Ground truth: the strips that intersect the target's tight box. Proposal: the box spanning the
 * named strips (first to last, gaps filled), padded by `padding × longest side` pixels and clipped
 * to the image.
 */
import type { RGBImage } from '../../data/sample';
import type { SamBox } from '../../models/sam/prompts';

export interface GridSpec {
  /** Horizontal strips (numbered from the top). */
  rows: number;
  /** Vertical strips (numbered from the left). */
  cols: number;
}

export interface Strips {
  /** 1-based row strip ids (ascending, distinct). */
  rows: number[];
  /** 1-based column strip ids (ascending, distinct). */
  cols: number[];
}

function checkGrid(g: GridSpec, W: number, H: number): void {
  if (!Number.isInteger(g.rows) || !Number.isInteger(g.cols) || g.rows < 1 || g.cols < 1) throw new Error(`RSVP grid: rows and cols must be positive integers, got ${g.rows} × ${g.cols}`);
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < g.cols || H < g.rows) throw new Error(`RSVP grid: a ${W}×${H} image cannot hold ${g.rows} × ${g.cols} strips of at least one pixel`);
}

/** First and last pixel (inclusive) of strip k (1-based) of n over a side of L pixels. */
export function stripRange(k: number, n: number, L: number): [number, number] {
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`RSVP strip ${k} is outside 1..${n}`);
  return [Math.floor(((k - 1) * L) / n), Math.floor((k * L) / n) - 1];
}

/** The image with the grid drawn on it (a new image; the input is not changed). */
export function drawGrid(image: RGBImage, grid: GridSpec): RGBImage {
  const { width: W, height: H } = image;
  checkGrid(grid, W, H);
  const data = new Uint8Array(image.data);
  const blend = (x: number, y: number) => {
    const o = (y * W + x) * 3;
    for (let c = 0; c < 3; c++) data[o + c] = (data[o + c] + 255) >> 1;
  };
  const xs = new Set<number>();
  const ys = new Set<number>();
  for (let k = 2; k <= grid.cols; k++) xs.add(stripRange(k, grid.cols, W)[0]);
  for (let k = 2; k <= grid.rows; k++) ys.add(stripRange(k, grid.rows, H)[0]);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) if (xs.has(x) || ys.has(y)) blend(x, y);
  }
  return { width: W, height: H, data };
}

/** The strips a box (inclusive pixels) touches. */
export function boxToStrips(box: SamBox, W: number, H: number, grid: GridSpec): Strips {
  checkGrid(grid, W, H);
  const [x0, y0, x1, y1] = box;
  if (!(x0 >= 0 && y0 >= 0 && x0 <= x1 && y0 <= y1 && x1 < W && y1 < H)) throw new Error(`RSVP: box [${box.join(', ')}] is not inside the ${W}×${H} image`);
  const hit = (n: number, L: number, a: number, b: number) => {
    const out: number[] = [];
    for (let k = 1; k <= n; k++) {
      const [s, e] = stripRange(k, n, L);
      if (e >= a && s <= b) out.push(k);
    }
    return out;
  };
  return { rows: hit(grid.rows, H, y0, y1), cols: hit(grid.cols, W, x0, x1) };
}

/** The padded, clipped box (inclusive pixels) spanning the strips. */
export function stripsToBox(strips: Strips, W: number, H: number, grid: GridSpec, padding: number): SamBox {
  checkGrid(grid, W, H);
  if (!(padding >= 0)) throw new Error(`RSVP: padding must be ≥ 0 (a fraction of the longest side), got ${padding}`);
  if (strips.rows.length === 0 || strips.cols.length === 0) throw new Error(`RSVP: strips need at least one row and one column, got rows [${strips.rows}] cols [${strips.cols}]`);
  const p = Math.round(padding * Math.max(W, H));
  const [ys] = stripRange(Math.min(...strips.rows), grid.rows, H);
  const [, ye] = stripRange(Math.max(...strips.rows), grid.rows, H);
  const [xs] = stripRange(Math.min(...strips.cols), grid.cols, W);
  const [, xe] = stripRange(Math.max(...strips.cols), grid.cols, W);
  return [Math.max(0, xs - p), Math.max(0, ys - p), Math.min(W - 1, xe + p), Math.min(H - 1, ye + p)];
}

/** The answer text of strips: "down 5, 6 across 2, 3". */
export function stripsText(s: Strips): string {
  return `down ${s.rows.join(', ')} across ${s.cols.join(', ')}`;
}

// `reason?` and `strips?` on the other branch: tslab compiles without strictNullChecks, where `p.ok ? … : p.reason` does not narrow.
export type StripsParse = { ok: true; strips: Strips; reason?: undefined } | { ok: false; reason: string; strips?: undefined };

/**
 * Parse the strips of a completion: the text inside the LAST `<answer>…</answer>` (or after the last
 * `<answer>` when it is unclosed), "down" then numbers, "across" then numbers. Ids outside 1..n are
 * dropped; a side left empty is no answer.
 */
export function parseStrips(text: string, grid: GridSpec): StripsParse {
  const i = text.lastIndexOf('<answer>');
  if (i < 0) return { ok: false, reason: 'no <answer>' };
  const rest = text.slice(i + '<answer>'.length);
  const body = rest.split('</answer>')[0];
  const m = /down([\d\s,]*)across([\d\s,]*)$/.exec(body.trim());
  if (!m) return { ok: false, reason: `the answer "${body.trim().slice(0, 60)}" is not "down …, across …"` };
  const ids = (s: string, n: number) => [...new Set((s.match(/\d+/g) ?? []).map(Number).filter((k) => k >= 1 && k <= n))].sort((a, b) => a - b);
  const rows = ids(m[1], grid.rows);
  const cols = ids(m[2], grid.cols);
  if (rows.length === 0 || cols.length === 0) return { ok: false, reason: `no valid strip id down (1..${grid.rows}) or across (1..${grid.cols})` };
  return { ok: true, strips: { rows, cols } };
}
