/**
 * Generator identity. Bump `SHAPEWORLD_VERSION` whenever a change alters any generated scene, image,
 * query or chain of thought, then rebuild the frozen splits (`buildShapeWorld`).
 */

/** Generator version recorded in every sample's meta and in the manifest. */
/** 1.1.0: chains of thought list shapes in reading order (cot.ts `readingOrder`); images unchanged. */
export const SHAPEWORLD_VERSION = '1.1.0';

/** Base seed of the frozen evaluation splits and the default seed of the training streams. */
export const SHAPEWORLD_SEED = 20250607;
