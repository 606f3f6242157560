/**
 * Random prompts for SAM-style training (SAM paper §A "Training algorithm"), all drawn from the
 * kit's seeded `Rng`:
 *
 * - `samplePositivePoint`: one foreground point, uniform over the mask's pixels;
 * - `noisyBox`: the mask's tight box with Gaussian noise on each coordinate, std = `noiseFrac` x the
 *   box side, clipped to `maxNoise` pixels (SAM: 10 % of the side, at most 20 px at 1024 → the kit
 *   scales the cap with the image), then clamped into the image;
 * - `sampleErrorPoint`: the corrective point of an interactive round, uniform over the error region
 *   between the previous prediction (logit >= 0) and the ground truth (soft target >= 0.5), positive
 *   where the prediction missed the object (false negative) and negative where it spilled over
 *   (false positive). The region is taken on the low-res grid; the point is a uniform pixel of the
 *   chosen cell.
 *
 * Coordinates are model-input pixels (see `models/sam/prompts.ts`).
 */
import type { BinaryMask } from '../../data/sample';
import type { SamBox, SamPoint } from '../../models/sam/prompts';
import { maskBox } from '../../models/sam/prompts';
import type { Rng } from '../../util/rng';

/** A uniform foreground pixel of `mask` (label 1), or null when the mask is empty. */
export function samplePositivePoint(mask: BinaryMask, rng: Rng): SamPoint | null {
  let count = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] !== 0) count++;
  if (count === 0) return null;
  let k = rng.int(0, count - 1);
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] === 0) continue;
    if (k-- === 0) return { x: i % mask.width, y: Math.floor(i / mask.width), label: 1 };
  }
  return null;
}

export interface BoxNoise {
  /** Noise std as a fraction of the box side (SAM: 0.1). */
  noiseFrac: number;
  /** Largest displacement of a coordinate, pixels. */
  maxNoise: number;
}

/** The tight box of `mask` with clipped Gaussian noise, kept inside the image; null when the mask is empty. */
export function noisyBox(mask: BinaryMask, rng: Rng, noise: BoxNoise): SamBox | null {
  const box = maskBox(mask);
  if (!box) return null;
  const [x0, y0, x1, y1] = box;
  const sw = x1 - x0 + 1;
  const sh = y1 - y0 + 1;
  const jitter = (side: number): number => {
    const d = rng.normal() * noise.noiseFrac * side;
    return Math.max(-noise.maxNoise, Math.min(noise.maxNoise, d));
  };
  const clampX = (v: number): number => Math.max(0, Math.min(mask.width - 1, v));
  const clampY = (v: number): number => Math.max(0, Math.min(mask.height - 1, v));
  let nx0 = clampX(x0 + jitter(sw));
  let ny0 = clampY(y0 + jitter(sh));
  let nx1 = clampX(x1 + jitter(sw));
  let ny1 = clampY(y1 + jitter(sh));
  if (nx1 < nx0) [nx0, nx1] = [nx1, nx0];
  if (ny1 < ny0) [ny0, ny1] = [ny1, ny0];
  return [nx0, ny0, nx1, ny1];
}

/**
 * A corrective point from the error region of a low-res prediction (`logits`, r x r) against a soft
 * target (r x r, in [0, 1]); `imageSize` S gives the pixel scale S / r. Null when there is no error.
 */
export function sampleErrorPoint(logits: ArrayLike<number>, target: ArrayLike<number>, r: number, imageSize: number, rng: Rng): SamPoint | null {
  if (logits.length !== r * r || target.length !== r * r) {
    throw new Error(`sampleErrorPoint: expected ${r}x${r} logits and target, got ${logits.length} and ${target.length} values`);
  }
  let count = 0;
  for (let i = 0; i < r * r; i++) if ((logits[i] >= 0) !== (target[i] >= 0.5)) count++;
  if (count === 0) return null;
  let k = rng.int(0, count - 1);
  const cell = imageSize / r;
  for (let i = 0; i < r * r; i++) {
    if ((logits[i] >= 0) === (target[i] >= 0.5)) continue;
    if (k-- !== 0) continue;
    const cx = i % r;
    const cy = Math.floor(i / r);
    const x = Math.min(imageSize - 1, Math.floor(cx * cell + rng.next() * cell));
    const y = Math.min(imageSize - 1, Math.floor(cy * cell + rng.next() * cell));
    return { x, y, label: target[i] >= 0.5 ? 1 : 0 };
  }
  return null;
}
