/**
 * COCO run-length encoding (pycocotools `maskApi.c`).
 *
 * A mask of size [h, w] is read in column-major (Fortran) order — down the first column, then the
 * next — and stored as alternating run lengths starting with a run of 0s (possibly of length 0).
 * Two forms appear in annotation files:
 * - uncompressed: `{ size: [h, w], counts: number[] }` (typical for `iscrowd: 1`);
 * - compressed: `{ size: [h, w], counts: string }`, the run lengths packed 5 bits per character
 *   (+48 offset, bit 0x20 = "more", sign bit 0x10 on the last chunk), each count after the third
 *   stored as a difference to the count two places back (`rleToString` / `rleFrString`).
 */
import { BinaryMask } from '../sample';

/** COCO RLE as it appears in JSON. */
export interface CocoRle {
  size: [number, number];
  counts: number[] | string;
}

/** pycocotools `rleFrString`: compressed counts string -> run lengths. */
export function decodeRleString(s: string, what = 'RLE'): number[] {
  const cnts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error(`${what}: compressed counts string ends in the middle of a number`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`${what}: invalid character ${JSON.stringify(s[p])} at ${p} in compressed counts`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x |= -1 << (5 * k);
    }
    if (cnts.length > 2) x += cnts[cnts.length - 2];
    cnts.push(x);
  }
  return cnts;
}

/** pycocotools `rleToString`: run lengths -> compressed counts string. */
export function encodeRleString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Any COCO RLE -> binary mask (row-major, like every mask in the kit). */
export function rleToMask(rle: CocoRle, what = 'RLE'): BinaryMask {
  if (!rle || !Array.isArray(rle.size) || rle.size.length !== 2 || !rle.size.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`${what}: "size" must be [height, width] with positive integers, got ${JSON.stringify(rle?.size)}`);
  }
  const [h, w] = rle.size;
  let counts: number[];
  if (typeof rle.counts === 'string') counts = decodeRleString(rle.counts, what);
  else if (Array.isArray(rle.counts)) counts = rle.counts;
  else throw new Error(`${what}: "counts" must be a number array or a compressed string, got ${typeof rle.counts}`);
  const n = h * w;
  const data = new Uint8Array(n);
  let pos = 0; // column-major position
  for (let i = 0; i < counts.length; i++) {
    const run = counts[i];
    if (!Number.isInteger(run) || run < 0) throw new Error(`${what}: counts[${i}] must be a non-negative integer, got ${run}`);
    if (pos + run > n) throw new Error(`${what}: counts sum past ${h}x${w} = ${n} pixels (at counts[${i}])`);
    if (i % 2 === 1) {
      for (let q = pos; q < pos + run; q++) {
        const y = q % h;
        const x = (q - y) / h;
        data[y * w + x] = 1;
      }
    }
    pos += run;
  }
  if (pos !== n) throw new Error(`${what}: counts sum to ${pos}, expected ${h}x${w} = ${n} pixels`);
  return { width: w, height: h, data };
}

/** Binary mask -> uncompressed COCO RLE (column-major runs, starting with 0s). */
export function maskToRle(mask: BinaryMask): { size: [number, number]; counts: number[] } {
  const { width: w, height: h, data } = mask;
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = data[y * w + x] !== 0 ? 1 : 0;
      if (v !== cur) {
        counts.push(run);
        run = 0;
        cur = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [h, w], counts };
}
