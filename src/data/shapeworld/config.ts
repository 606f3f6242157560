/**
 * ShapeWorld-RS configuration: one typed object of plain values, a comment per field. Every size,
 * count, threshold and margin of the generator lives here; code never hard-codes them.
 *
 * Pixel values assume the default 128x128 image; scale `sizes`, margins and gaps with `imageSize`.
 */
import type { SizeName } from './vocab';

/** How crowded a scene is. Split definitions name one profile each. */
export interface SceneProfile {
  /** Fewest objects in a scene. */
  minObjects: number;
  /** Most objects in a scene. */
  maxObjects: number;
  /** Every object keeps at least this fraction of its own pixels visible (else the placement is resampled). */
  minVisibleFraction: number;
  /** Probability that a new object is placed against an existing one (creates occlusion). */
  overlapBias: number;
  /** Relative weights of the size classes small / medium / large. */
  sizeWeights: [number, number, number];
}

export type ProfileName = 'mixed' | 'sparse' | 'crowded' | 'reasoning';

export interface ShapeWorldConfig {
  /** Image width and height in pixels. */
  imageSize: number;
  /** Anti-aliasing: samples per pixel along each axis (4 gives 16 samples per pixel). */
  supersample: number;
  /** Pixels kept free between every object outline and the image border. */
  margin: number;
  /** Every object keeps at least this many visible pixels. */
  minVisiblePixels: number;
  /** Objects of the same named color never overlap and keep at least this many pixels between their visible parts. */
  sameColorGap: number;
  /** Tries to place one object before the scene is restarted. */
  placementTries: number;
  /** Scene restarts before generation gives up with an error. */
  sceneTries: number;
  /** Probability that a new object copies the shape or the color of an existing one (makes references harder). */
  attributeRepeat: number;
  /** Per-channel uniform jitter (+-) added to each object's named color. */
  colorJitter: number;
  /** Nominal radius range [min, max] in pixels (inclusive integers) of each size class. */
  sizes: Record<SizeName, [number, number]>;
  /** Dark outline drawn on the edges of each object where it borders something below it. */
  outline: {
    /** Draw outlines at all. */
    enabled: boolean;
    /** Outline color = object color * shade / 256. */
    shade: number;
    /** Outline width in sub-samples (supersample 4: width 2 is half a pixel). */
    width: number;
  };
  /** Background texture. */
  background: {
    /** Muted base colors the background is drawn around. */
    bases: [number, number, number][];
    /** Per-channel jitter (+-) of the base color. */
    baseJitter: number;
    /** Texture amplitude range [min, max] (+- gray levels, inclusive integers). */
    amplitude: [number, number];
    /** Value-noise lattice cell sizes in pixels. */
    noiseCells: number[];
    /** Stripe periods in pixels. */
    stripePeriods: number[];
    /** Checker cell sizes in pixels. */
    checkerCells: number[];
    /** Relative weights of noise / stripes / checker. */
    kindWeights: [number, number, number];
  };
  /** Spatial relations between two objects (visible centroids / visible boxes). */
  relations: {
    /** "A left of B" holds when A's centroid is at least this many pixels left of B's. */
    margin: number;
    /**
     * Centroid offsets below this are clearly "not left of"; offsets in [band, margin) are ambiguous and
     * reject the query. A clear relation also needs both visible box edges offset by at least this much.
     */
    band: number;
    /** "next to" holds when the visible boxes are at most this many pixels apart. */
    nextToGap: number;
    /** "next to" is clearly false beyond this gap; gaps in between are ambiguous. */
    farGap: number;
  };
  /** Superlatives need a clear winner. */
  superlative: {
    /** leftmost/rightmost/highest/lowest: winner ahead of the runner-up by at least this many pixels. */
    positionMargin: number;
    /** largest/smallest: area ratio between winner and runner-up at least this. */
    areaRatio: number;
  };
  /** Region filters ("on the left side"): centroids within this many pixels of the midline are ambiguous. */
  regionBand: number;
  /** Scene profiles by name. */
  profiles: Record<ProfileName, SceneProfile>;
}

/** The default configuration (the frozen splits are built with it). */
export const DEFAULT_CONFIG: ShapeWorldConfig = {
  imageSize: 128,
  supersample: 4,
  margin: 2,
  minVisiblePixels: 30,
  sameColorGap: 2,
  placementTries: 60,
  sceneTries: 40,
  attributeRepeat: 0.3,
  colorJitter: 10,
  sizes: { small: [7, 9], medium: [11, 13], large: [15, 17] },
  outline: { enabled: true, shade: 150, width: 2 },
  background: {
    bases: [
      [196, 190, 176],
      [178, 180, 182],
      [170, 178, 188],
      [200, 192, 168],
      [176, 188, 172],
      [190, 178, 172],
      [150, 154, 160],
      [210, 206, 198],
    ],
    baseJitter: 8,
    amplitude: [6, 12],
    noiseCells: [16, 32],
    stripePeriods: [8, 12, 16],
    checkerCells: [8, 16],
    kindWeights: [2, 1, 1],
  },
  relations: { margin: 6, band: 2, nextToGap: 4, farGap: 12 },
  superlative: { positionMargin: 6, areaRatio: 1.25 },
  regionBand: 8,
  profiles: {
    mixed: { minObjects: 2, maxObjects: 6, minVisibleFraction: 0.6, overlapBias: 0.25, sizeWeights: [1, 1, 1] },
    sparse: { minObjects: 2, maxObjects: 3, minVisibleFraction: 0.95, overlapBias: 0, sizeWeights: [1, 1, 1] },
    crowded: { minObjects: 5, maxObjects: 6, minVisibleFraction: 0.5, overlapBias: 0.6, sizeWeights: [1, 1, 1] },
    reasoning: { minObjects: 3, maxObjects: 6, minVisibleFraction: 0.6, overlapBias: 0.3, sizeWeights: [1, 1, 1] },
  },
};

/** A deep partial, for overrides. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return structuredClone(base);
  if (isPlainObject(base)) {
    if (!isPlainObject(over)) throw new Error(`ShapeWorld config: ${path || 'config'} must be an object`);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(over)) {
      if (!(k in base)) {
        throw new Error(`ShapeWorld config: unknown key "${path ? path + '.' : ''}${k}"; valid keys: ${Object.keys(base).join(', ')}`);
      }
    }
    for (const k of Object.keys(base)) out[k] = merge(base[k], over[k], path ? `${path}.${k}` : k);
    return out;
  }
  if (typeof over !== typeof base) throw new Error(`ShapeWorld config: ${path} must be a ${typeof base}, got ${JSON.stringify(over)}`);
  return structuredClone(over);
}

/** Checks invariants and throws an error that says what to change. */
export function validateConfig(c: ShapeWorldConfig): void {
  const fail = (msg: string): never => {
    throw new Error(`ShapeWorld config: ${msg}`);
  };
  if (!Number.isInteger(c.imageSize) || c.imageSize < 16) fail(`imageSize must be an integer >= 16, got ${c.imageSize}`);
  if (!Number.isInteger(c.supersample) || c.supersample < 1 || c.supersample > 8) fail(`supersample must be an integer in 1..8, got ${c.supersample}`);
  for (const [name, [lo, hi]] of Object.entries(c.sizes)) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 2 || hi < lo) fail(`sizes.${name} must be integers 2 <= min <= max, got [${lo}, ${hi}]`);
  }
  for (const [name, p] of Object.entries(c.profiles)) {
    if (!Number.isInteger(p.minObjects) || p.minObjects < 1 || p.maxObjects < p.minObjects || p.maxObjects > 250) {
      fail(`profiles.${name}: need 1 <= minObjects <= maxObjects <= 250, got ${p.minObjects}..${p.maxObjects}`);
    }
    if (!(p.minVisibleFraction > 0 && p.minVisibleFraction <= 1)) fail(`profiles.${name}.minVisibleFraction must be in (0, 1]`);
  }
  if (c.background.bases.length === 0) fail('background.bases must not be empty');
}

/** The default config with overrides merged in; unknown keys are rejected. */
export function resolveConfig(overrides: DeepPartial<ShapeWorldConfig> = {}): ShapeWorldConfig {
  const c = merge(DEFAULT_CONFIG, overrides, '') as ShapeWorldConfig;
  validateConfig(c);
  return c;
}
