/**
 * The one sample type every data source produces: ShapeWorld-RS (refshapes, reasonshapes), and the
 * real-data loaders (ReasonSeg JSON, COCO + RefCOCO refs). Models, metrics and notebooks consume
 * only this type.
 *
 * Conventions: images are 8-bit RGB, row-major H x W x 3 (HWC). Masks are H x W, one byte per
 * pixel, 0 or 1. Pixel (x, y) lives at index y * width + x. Coordinates are in image pixels with
 * the origin at the top-left corner; x grows right, y grows down.
 */

/** 8-bit RGB image, H x W x 3, row-major. */
export interface RGBImage {
  width: number;
  height: number;
  /** length width * height * 3 */
  data: Uint8Array;
}

/** Binary mask, H x W, values 0 or 1. */
export interface BinaryMask {
  width: number;
  height: number;
  /** length width * height, values in {0, 1} */
  data: Uint8Array;
}

/** Where a sample comes from. */
export type DatasetName = 'refshapes' | 'reasonshapes' | 'reasonseg' | 'refcoco' | 'refcoco+' | 'refcocog';

/** One step of a ground-truth chain of thought (derived from the scene graph for ShapeWorld-RS). */
export interface ChainOfThought {
  /** What the query asks, in plain words ("the shape that could roll"). */
  asks: string;
  /** Candidate objects considered, with the reason each is kept or dropped. */
  candidates: { objectId: number; description: string; kept: boolean; reason: string }[];
  /** The chosen target: id, attributes and position words. */
  target: { objectId: number; description: string; position: string };
  /** The reasoning as one paragraph, ready to put between `<think>` and `</think>`. */
  text: string;
}

export interface Sample {
  /** Unique within its dataset and split, stable across regeneration (e.g. "refshapes/val/000123"). */
  id: string;
  dataset: DatasetName;
  split: string;
  /**
   * Subset tag inside the split: reasonshapes/ReasonSeg 'short' | 'long' query; refshapes
   * 'sparse' | 'crowded' | 'mixed' scenes. Undefined where the source has none.
   */
  subset?: string;
  image: RGBImage;
  /** Ground-truth target mask (union of all target instances), same size as the image. */
  mask: BinaryMask;
  /** The referring expression or reasoning query. */
  query: string;
  /** Ground-truth chain of thought where the source can derive one (ShapeWorld-RS). */
  cot?: ChainOfThought;
  /** Source-specific extras: scene graph, instance masks, COCO ids, file names, ... */
  meta?: Record<string, unknown>;
}

/** Throws a clear error if an image's buffer does not match its declared size. */
export function checkImage(img: RGBImage, what = 'image'): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw new Error(`${what}: expected positive integer width/height, got ${img.width}x${img.height}`);
  }
  const want = img.width * img.height * 3;
  if (!(img.data instanceof Uint8Array) || img.data.length !== want) {
    throw new Error(`${what}: expected a Uint8Array of ${want} bytes (${img.width}x${img.height}x3), got ${img.data?.length}`);
  }
}

/** Throws a clear error if a mask is malformed or does not match the expected size. */
export function checkMask(mask: BinaryMask, expect?: { width: number; height: number }, what = 'mask'): void {
  if (!(mask.data instanceof Uint8Array) || mask.data.length !== mask.width * mask.height) {
    throw new Error(`${what}: expected a Uint8Array of ${mask.width * mask.height} values (${mask.width}x${mask.height}), got ${mask.data?.length}`);
  }
  if (expect && (mask.width !== expect.width || mask.height !== expect.height)) {
    throw new Error(`${what}: size ${mask.width}x${mask.height} differs from its image ${expect.width}x${expect.height}`);
  }
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] > 1) throw new Error(`${what}: values must be 0 or 1, found ${mask.data[i]} at index ${i}`);
  }
}
