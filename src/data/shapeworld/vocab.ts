/**
 * The ShapeWorld-RS vocabulary: shape kinds (with their unit outlines), named colors, size classes
 * and image regions. Every table is a literal so the geometry is identical on every JS engine: the
 * only trigonometry is a table of cos/sin at multiples of 15 degrees, and rotation is a multiply-add.
 */

/** Shape kinds, in a fixed order (the order is part of the generator: changing it changes scenes). */
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'hexagon', 'diamond', 'cross'] as const;
export type ShapeKind = (typeof SHAPES)[number];

/** Named colors, in a fixed order. */
export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export type ColorName = (typeof COLORS)[number];

/** Size classes, smallest first. */
export const SIZES = ['small', 'medium', 'large'] as const;
export type SizeName = (typeof SIZES)[number];

/** The nominal RGB of each named color (objects get a small seeded jitter around it). */
export const COLOR_RGB: Record<ColorName, readonly [number, number, number]> = {
  red: [214, 40, 40],
  green: [38, 160, 62],
  blue: [40, 92, 214],
  yellow: [238, 204, 36],
  purple: [138, 58, 184],
  orange: [244, 134, 26],
};

/** Words for each shape kind. */
export const SHAPE_WORDS: Record<ShapeKind, { noun: string; plural: string }> = {
  circle: { noun: 'circle', plural: 'circles' },
  square: { noun: 'square', plural: 'squares' },
  triangle: { noun: 'triangle', plural: 'triangles' },
  star: { noun: 'star', plural: 'stars' },
  hexagon: { noun: 'hexagon', plural: 'hexagons' },
  diamond: { noun: 'diamond', plural: 'diamonds' },
  cross: { noun: 'cross', plural: 'crosses' },
};

/** Adjectives for each size class; the first is canonical (used in chains of thought). */
export const SIZE_WORDS: Record<SizeName, readonly string[]> = {
  small: ['small', 'little'],
  medium: ['medium-sized', 'medium'],
  large: ['large', 'big'],
};

/**
 * cos(15k degrees) for k = 0..6; the full circle follows by exact sign symmetry. Literals are the
 * correctly rounded doubles.
 */
const COS_BASE = [1, 0.9659258262890683, 0.8660254037844386, 0.7071067811865476, 0.5, 0.25881904510252074, 0];

/** cos of an angle that is a multiple of 15 degrees (exact table look-up, no Math.cos). */
export function cos15(deg: number): number {
  if (!Number.isInteger(deg) || deg % 15 !== 0) throw new Error(`cos15: angle must be a multiple of 15 degrees, got ${deg}`);
  const k = (((deg / 15) % 24) + 24) % 24;
  if (k <= 6) return COS_BASE[k];
  if (k <= 12) return -COS_BASE[12 - k];
  if (k <= 18) return -COS_BASE[k - 12];
  return COS_BASE[24 - k];
}

/** sin of an angle that is a multiple of 15 degrees. */
export function sin15(deg: number): number {
  return cos15(deg - 90);
}

const H = 0.7071067811865476; // sqrt(1/2)
const T = 0.8660254037844386; // sqrt(3)/2
const W = 0.34; // cross arm half-width

/** One shape kind's outline and placement rules. */
export interface ShapeSpec {
  /** Unit outline (circumradius about 1, y down, apex up); empty for the circle. */
  unit: readonly (readonly [number, number])[];
  /** Scale from the nominal radius to the outline, so kinds of one size class have similar areas. */
  scale: number;
  /** Allowed rotations in degrees (multiples of 15). */
  rotations: readonly number[];
}

/**
 * Outline tables. Star: 5 points, inner radius 0.5 (vertices at -90 + 36k degrees). Hexagon: pointy
 * top. Diamond: a rhombus 1.4 wide and 2 tall (never a rotated square). Cross: a plus sign.
 */
export const SHAPE_SPECS: Record<ShapeKind, ShapeSpec> = {
  circle: { unit: [], scale: 0.92, rotations: [0] },
  square: { unit: [[-H, -H], [H, -H], [H, H], [-H, H]], scale: 1.12, rotations: [0, 15, 345] },
  triangle: { unit: [[0, -1], [T, 0.5], [-T, 0.5]], scale: 1.36, rotations: [0, 15, 345, 180] },
  star: {
    unit: [
      [0, -1], [0.29389262614623657, -0.4045084971874737], [0.9510565162951535, -0.30901699437494745],
      [0.47552825814757677, 0.15450849718747373], [0.5877852522924731, 0.8090169943749475], [0, 0.5],
      [-0.5877852522924731, 0.8090169943749475], [-0.47552825814757677, 0.15450849718747373],
      [-0.9510565162951535, -0.30901699437494745], [-0.29389262614623657, -0.4045084971874737],
    ],
    scale: 1.32,
    rotations: [0, 15, 345],
  },
  hexagon: { unit: [[0, -1], [T, -0.5], [T, 0.5], [0, 1], [-T, 0.5], [-T, -0.5]], scale: 1.0, rotations: [0, 30] },
  diamond: { unit: [[0, -1], [0.7, 0], [0, 1], [-0.7, 0]], scale: 1.3, rotations: [0, 15, 345] },
  cross: {
    unit: [
      [-W, -1], [W, -1], [W, -W], [1, -W], [1, W], [W, W], [W, 1], [-W, 1], [-W, W], [-1, W], [-1, -W], [-W, -W],
    ],
    scale: 1.08,
    rotations: [0, 15, 345],
  },
};

/**
 * Outline of a shape in image pixels: center + extent * rotate(unit). Deterministic (table
 * trigonometry, IEEE multiply-add only). Empty for the circle.
 */
export function shapeVertices(shape: ShapeKind, cx: number, cy: number, extent: number, rotation: number): [number, number][] {
  const c = cos15(rotation);
  const s = sin15(rotation);
  return SHAPE_SPECS[shape].unit.map(([x, y]) => {
    const rx = x * c - y * s;
    const ry = x * s + y * c;
    return [cx + extent * rx, cy + extent * ry] as [number, number];
  });
}

/** Image halves used by region filters ("on the left side"). */
export const REGIONS = ['left', 'right', 'top', 'bottom'] as const;
export type RegionName = (typeof REGIONS)[number];

/** Position words on a 3x3 grid of the image, from an object's visible centroid. */
export const POSITIONS = [
  'top left', 'top', 'top right', 'left', 'center', 'right', 'bottom left', 'bottom', 'bottom right',
] as const;
export type PositionWord = (typeof POSITIONS)[number];

/** The 3x3-grid position word of a point in a width x height image. */
export function positionWord(x: number, y: number, width: number, height: number): PositionWord {
  const col = 3 * x < width ? 0 : 3 * x > 2 * width ? 2 : 1;
  const row = 3 * y < height ? 0 : 3 * y > 2 * height ? 2 : 1;
  return POSITIONS[row * 3 + col];
}

/** "in the top left", "at the top", "on the left", "in the center", ... */
export function positionPhrase(p: PositionWord): string {
  if (p === 'top' || p === 'bottom') return `at the ${p}`;
  if (p === 'left' || p === 'right') return `on the ${p}`;
  return `in the ${p}`;
}
