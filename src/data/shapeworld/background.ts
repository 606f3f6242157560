/**
 * Seeded, low-contrast background textures built from integer hash noise: value noise (bilinear
 * between lattice values), soft stripes (triangle wave) or a faint checker. Muted base colors and
 * small amplitudes keep every object distinct from the background. Integer arithmetic only.
 */
import { Rng, splitmix32 } from '../../util/rng';
import type { ShapeWorldConfig } from './config';

export type BackgroundKind = 'noise' | 'stripes' | 'checker';

/** Everything needed to redraw a background (stored in the scene graph). */
export interface BackgroundSpec {
  kind: BackgroundKind;
  /** Base color. */
  base: [number, number, number];
  /** Texture amplitude in gray levels (the offset lies in [-amplitude, amplitude]). */
  amplitude: number;
  /** Noise lattice cell, stripe period or checker cell, in pixels. */
  cell: number;
  /** Stripe direction: 0 horizontal, 1 vertical, 2 diagonal down-right, 3 diagonal up-right. */
  direction: number;
  /** Seed of the noise lattice. */
  seed: number;
}

const KINDS: BackgroundKind[] = ['noise', 'stripes', 'checker'];

/** Draws a background spec from the generator. */
export function sampleBackground(rng: Rng, cfg: ShapeWorldConfig): BackgroundSpec {
  const b = cfg.background;
  const kind = KINDS[rng.weighted(b.kindWeights)];
  const base0 = rng.pick(b.bases);
  const base = base0.map((v) => Math.max(0, Math.min(255, v + rng.int(-b.baseJitter, b.baseJitter)))) as [number, number, number];
  const amplitude = rng.int(b.amplitude[0], b.amplitude[1]);
  const cell = rng.pick(kind === 'noise' ? b.noiseCells : kind === 'stripes' ? b.stripePeriods : b.checkerCells);
  const direction = rng.int(0, 3);
  const seed = rng.nextU32();
  return { kind, base, amplitude, cell, direction, seed };
}

/** Lattice value in [-amp, amp] at integer lattice point (gx, gy). */
function lattice(seed: number, gx: number, gy: number, amp: number): number {
  const h = splitmix32((seed ^ Math.imul(gx + 1, 0x27d4eb2d) ^ Math.imul(gy + 1, 0x165667b1)) >>> 0);
  return (h % (2 * amp + 1)) - amp;
}

/** Rounded integer division (num / den, den > 0), half away from minus infinity. */
function divRound(num: number, den: number): number {
  return Math.floor((2 * num + den) / (2 * den));
}

/** Gray offset of the texture at pixel (x, y). */
function offsetAt(spec: BackgroundSpec, x: number, y: number): number {
  const { amplitude: a, cell: c } = spec;
  switch (spec.kind) {
    case 'noise': {
      const gx = Math.floor(x / c);
      const gy = Math.floor(y / c);
      const fx = x - gx * c;
      const fy = y - gy * c;
      const v00 = lattice(spec.seed, gx, gy, a);
      const v10 = lattice(spec.seed, gx + 1, gy, a);
      const v01 = lattice(spec.seed, gx, gy + 1, a);
      const v11 = lattice(spec.seed, gx + 1, gy + 1, a);
      const top = v00 * (c - fx) + v10 * fx;
      const bot = v01 * (c - fx) + v11 * fx;
      return divRound(top * (c - fy) + bot * fy, c * c);
    }
    case 'stripes': {
      const t = spec.direction === 0 ? y : spec.direction === 1 ? x : spec.direction === 2 ? x + y : x - y + 4096 * c;
      const m = t % c;
      // triangle wave in [-a, a]
      return divRound(a * (Math.abs(2 * m - c) * 2 - c), c);
    }
    case 'checker': {
      const half = divRound(a, 2);
      return ((Math.floor(x / c) + Math.floor(y / c)) & 1) === 0 ? half : -half;
    }
    default:
      throw new Error(`unknown background kind ${(spec as { kind: string }).kind}; valid: ${KINDS.join(', ')}`);
  }
}

/** The background as a width x height x 3 RGB buffer. */
export function renderBackground(spec: BackgroundSpec, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = offsetAt(spec, x, y);
      const p = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v = spec.base[ch] + o;
        out[p + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}
