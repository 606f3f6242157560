/**
 * Presets: `tiny` (tests and CI: seconds), `small` (the CPU demo: minutes on 2 cores), `base` (GPU).
 * Every size in the kit is a config value; a preset names one set of them. Notebooks pick theirs
 * from COPRS_PRESET (never by editing cells). Later parts of the kit (models, trainers) extend the
 * preset with their own fields.
 */
export const PRESET_NAMES = ['tiny', 'small', 'base'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  name: PresetName;
  /** SAM input side S: the longest image side is resized to S and padded to S x S. */
  imageSize: number;
  /** Side of the image embedding grid (S / 8 in the kit, 64 for SAM ViT-H at 1024). */
  embedSize: number;
  /** Side of the positional prior and of the mask logits (4x the embedding grid). */
  maskSize: number;
  /** How many samples the tour figures and notebooks show. */
  tourSamples: number;
  /** Benchmark timing loop length (ms) per op. */
  benchMinMs: number;
}

export const PRESETS: Record<PresetName, Preset> = {
  tiny: { name: 'tiny', imageSize: 128, embedSize: 16, maskSize: 64, tourSamples: 8, benchMinMs: 100 },
  small: { name: 'small', imageSize: 128, embedSize: 16, maskSize: 64, tourSamples: 12, benchMinMs: 500 },
  base: { name: 'base', imageSize: 128, embedSize: 16, maskSize: 64, tourSamples: 16, benchMinMs: 1000 },
};

/** Parse a preset name; unknown names throw naming the valid ones. */
export function parsePresetName(value: string | undefined | null, fallback: PresetName = 'small'): PresetName {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return fallback;
  if ((PRESET_NAMES as readonly string[]).includes(v)) return v as PresetName;
  throw new Error(`unknown preset "${value}": expected one of ${PRESET_NAMES.join(', ')}`);
}

/** The preset named by COPRS_PRESET (default `small`). */
export function presetFromEnv(fallback: PresetName = 'small'): Preset {
  return PRESETS[parsePresetName(process.env.COPRS_PRESET, fallback)];
}
