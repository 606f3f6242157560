/**
 * RefCOCO / RefCOCO+ / RefCOCOg from COCO instances + refs exported to JSON.
 *
 * - `instancesJson`: COCO instances (`images: [{id, file_name, width, height}]`,
 *   `annotations: [{id, image_id, segmentation, bbox, category_id, iscrowd?}]`). `segmentation` is a
 *   list of polygons `[[x1, y1, x2, y2, ...], ...]` (union, rasterised by `data/polygon.ts`) or an
 *   RLE `{size: [h, w], counts}` with number[] (uncompressed) or string (compressed) counts.
 * - `refsJson`: the `refs(unc|umd|google).p` pickle of the `refer` toolkit exported to JSON, a list of
 *   `{ref_id, ann_id, image_id, split, sentences: [{sent, tokens, sent_id}], category_id}`.
 *   `ann_id` may also be a list (the union mask; an empty list gives an empty mask, as in gRefCOCO).
 *
 * One `Sample` per (ref, sentence), id `<dataset>/<split>/<ref_id>/<sent_id>`, in refs-file order.
 * Images are decoded as stored (no EXIF rotation, COCO sizes are of the stored pixels) and shared by
 * the samples of one image; annotation masks are shared by the sentences of one ref.
 */
import * as path from 'node:path';
import { loadImage } from '../../io/image';
import { fillPolygonInto, flatToPoints, polygonOverlapsImage } from '../polygon';
import { BinaryMask, RGBImage, Sample } from '../sample';
import { rleToMask } from './coco-rle';
import {
  Located,
  asArray,
  asInteger,
  asNumber,
  asObject,
  asString,
  child,
  field,
  fieldError,
  readJsonFile,
} from './json-check';
import { mapLimit } from '../../util/async';

export type RefCocoDataset = 'refcoco' | 'refcoco+' | 'refcocog';

/** Splits per dataset (RefCOCOg: the umd split has val/test, the google split train/val only). */
export const REFCOCO_SPLITS: Record<RefCocoDataset, readonly string[]> = {
  refcoco: ['train', 'val', 'testA', 'testB'],
  'refcoco+': ['train', 'val', 'testA', 'testB'],
  refcocog: ['train', 'val', 'test'],
};

export interface RefCocoOptions {
  /** Path to the COCO instances JSON, or the parsed object (then errors name it `<instances>`). */
  instancesJson: string | object;
  /** Path to the refs JSON, or the parsed list (errors name it `<refs>`). */
  refsJson: string | object;
  /** Folder holding the images named by `images[].file_name`. */
  imageDir: string;
  split: string;
  dataset: RefCocoDataset;
  /** Load at most this many refs (in refs-file order). */
  limit?: number;
  /** Images decoded concurrently. Default 4. */
  concurrency?: number;
}

interface CocoImage {
  fileName: string;
  width: number;
  height: number;
  at: Located;
}

function readSource(src: string | object, name: string): { value: unknown; file: string } {
  return typeof src === 'string' ? { value: readJsonFile(src), file: src } : { value: src, file: name };
}

/** One annotation's mask at the image size (polygons or RLE), checked against the image. */
export function cocoSegmentationToMask(seg: unknown, width: number, height: number, at: Located): BinaryMask {
  if (Array.isArray(seg)) {
    if (seg.length === 0) throw fieldError(at, 'is an empty polygon list');
    const data = new Uint8Array(width * height);
    seg.forEach((flatRaw, j) => {
      const pat = child(at, j);
      const flat = asArray(flatRaw, pat).map((v, k) => asNumber(v, child(pat, k)));
      const pts = flatToPoints(flat, `${at.file}: field "${pat.path}"`);
      if (pts.length < 3) throw fieldError(pat, `polygon ${j} needs at least 3 points, got ${pts.length}`);
      if (!polygonOverlapsImage(pts, width, height)) throw fieldError(pat, `polygon ${j} lies entirely outside the ${width}x${height} image`);
      fillPolygonInto(data, width, height, pts);
    });
    return { width, height, data };
  }
  const rle = asObject(seg, at);
  const size = asArray(field(rle, 'size', at), child(at, 'size'));
  const counts = field(rle, 'counts', at);
  if (size.length !== 2 || size[0] !== height || size[1] !== width) {
    throw fieldError(child(at, 'size'), `is ${JSON.stringify(size)} but the image is [${height}, ${width}] ([h, w])`);
  }
  return rleToMask({ size: [height, width], counts: counts as number[] | string }, `${at.file}: field "${at.path}"`);
}

/** Loads RefCOCO-style referring expressions: one `Sample` per (ref, sentence) of `split`. */
export async function loadRefCoco(options: RefCocoOptions): Promise<Sample[]> {
  const { dataset, split } = options;
  const known = REFCOCO_SPLITS[dataset];
  if (!known) throw new Error(`RefCOCO: unknown dataset "${dataset}"; expected refcoco, refcoco+ or refcocog`);
  if (!known.includes(split)) throw new Error(`RefCOCO: unknown split "${split}" for ${dataset}; expected one of ${known.join(', ')}`);

  // Instances: index images and annotations by id.
  const inst = readSource(options.instancesJson, '<instances>');
  const iroot: Located = { file: inst.file, path: '' };
  const iobj = asObject(inst.value, { file: inst.file, path: '(top level)' });
  const images = new Map<number, CocoImage>();
  asArray(field(iobj, 'images', iroot), child(iroot, 'images')).forEach((raw, k) => {
    const at = child(child(iroot, 'images'), k);
    const o = asObject(raw, at);
    const id = asInteger(field(o, 'id', at), child(at, 'id'));
    images.set(id, {
      fileName: asString(field(o, 'file_name', at), child(at, 'file_name')),
      width: asInteger(field(o, 'width', at), child(at, 'width')),
      height: asInteger(field(o, 'height', at), child(at, 'height')),
      at,
    });
  });
  const anns = new Map<number, { raw: Record<string, unknown>; at: Located }>();
  asArray(field(iobj, 'annotations', iroot), child(iroot, 'annotations')).forEach((raw, k) => {
    const at = child(child(iroot, 'annotations'), k);
    const o = asObject(raw, at);
    anns.set(asInteger(field(o, 'id', at), child(at, 'id')), { raw: o, at });
  });

  // Refs of the split.
  const refsSrc = readSource(options.refsJson, '<refs>');
  const rroot: Located = { file: refsSrc.file, path: 'refs' };
  const refsAll = asArray(refsSrc.value, rroot).map((raw, k) => ({ raw: asObject(raw, child(rroot, k)), at: child(rroot, k) }));
  const splitsSeen = new Set(refsAll.map(({ raw, at }) => asString(field(raw, 'split', at), child(at, 'split'))));
  let refs = refsAll.filter(({ raw }) => raw.split === split);
  if (refs.length === 0) {
    throw new Error(`${refsSrc.file}: no refs with split "${split}" (the file has: ${[...splitsSeen].sort().join(', ') || 'none'})`);
  }
  if (options.limit !== undefined) refs = refs.slice(0, options.limit);

  // Check every ref before touching images, so field errors come first and fast.
  const parsed = refs.map(({ raw, at }) => {
    const refId = asInteger(field(raw, 'ref_id', at), child(at, 'ref_id'));
    const imageId = asInteger(field(raw, 'image_id', at), child(at, 'image_id'));
    const annRaw = field(raw, 'ann_id', at);
    const annIds = Array.isArray(annRaw)
      ? annRaw.map((v, j) => asInteger(v, child(child(at, 'ann_id'), j)))
      : [asInteger(annRaw, child(at, 'ann_id'))];
    const categoryId = raw.category_id === undefined ? undefined : asInteger(raw.category_id, child(at, 'category_id'));
    const sentsAt = child(at, 'sentences');
    const sentences = asArray(field(raw, 'sentences', at), sentsAt).map((s, j) => {
      const sat = child(sentsAt, j);
      const so = asObject(s, sat);
      const tokens = so.tokens === undefined ? undefined : asArray(so.tokens, child(sat, 'tokens')).map((t, q) => asString(t, child(child(sat, 'tokens'), q)));
      return {
        sent: asString(field(so, 'sent', sat), child(sat, 'sent')),
        sentId: asInteger(field(so, 'sent_id', sat), child(sat, 'sent_id')),
        tokens,
      };
    });
    if (sentences.length === 0) throw fieldError(sentsAt, 'is empty');
    const image = images.get(imageId);
    if (!image) throw fieldError(child(at, 'image_id'), `is ${imageId}, which is not in ${inst.file} "images"`);
    annIds.forEach((id, j) => {
      const ann = anns.get(id);
      const aat = Array.isArray(annRaw) ? child(child(at, 'ann_id'), j) : child(at, 'ann_id');
      if (!ann) throw fieldError(aat, `is ${id}, which is not in ${inst.file} "annotations"`);
      const annImage = asInteger(field(ann.raw, 'image_id', ann.at), child(ann.at, 'image_id'));
      if (annImage !== imageId) throw fieldError(child(ann.at, 'image_id'), `is ${annImage} but ref ${refId} (${at.path}) says image ${imageId}`);
    });
    return { refId, imageId, annIds, categoryId, sentences, image, at };
  });

  // Decode each image once.
  const imageIds = [...new Set(parsed.map((p) => p.imageId))];
  const decoded = await mapLimit(imageIds, options.concurrency ?? 4, async (id) => {
    const info = images.get(id) as CocoImage;
    const file = path.join(options.imageDir, info.fileName);
    let img: RGBImage;
    try {
      img = await loadImage(file);
    } catch (err) {
      throw new Error(`${inst.file}: field "${info.at.path}.file_name": ${(err as Error).message}`);
    }
    if (img.width !== info.width || img.height !== info.height) {
      throw fieldError(info.at, `says ${info.width}x${info.height} but the image "${file}" is ${img.width}x${img.height}`);
    }
    return img;
  });
  const imageById = new Map(imageIds.map((id, k) => [id, decoded[k]]));

  // Masks and samples.
  const samples: Sample[] = [];
  for (const p of parsed) {
    const { width, height } = p.image;
    const data = new Uint8Array(width * height);
    const bboxes: number[][] = [];
    for (const id of p.annIds) {
      const ann = anns.get(id) as { raw: Record<string, unknown>; at: Located };
      const m = cocoSegmentationToMask(field(ann.raw, 'segmentation', ann.at), width, height, child(ann.at, 'segmentation'));
      for (let i = 0; i < data.length; i++) data[i] |= m.data[i];
      if (ann.raw.bbox !== undefined) {
        const bat = child(ann.at, 'bbox');
        const bbox = asArray(ann.raw.bbox, bat).map((v, k) => asNumber(v, child(bat, k)));
        if (bbox.length !== 4) throw fieldError(bat, `must be [x, y, w, h], got ${bbox.length} values`);
        bboxes.push(bbox);
      }
    }
    const mask: BinaryMask = { width, height, data };
    if (p.annIds.length > 0 && !data.some((v) => v === 1)) {
      throw fieldError(p.at, `(ref ${p.refId}): its annotation mask covers no pixel of the ${width}x${height} image`);
    }
    const image = imageById.get(p.imageId) as RGBImage;
    for (const s of p.sentences) {
      samples.push({
        id: `${dataset}/${split}/${p.refId}/${s.sentId}`,
        dataset,
        split,
        image,
        mask,
        query: s.sent,
        meta: {
          refId: p.refId,
          annIds: p.annIds,
          imageId: p.imageId,
          sentId: s.sentId,
          categoryId: p.categoryId,
          bboxes,
          fileName: p.image.fileName,
          tokens: s.tokens,
        },
      });
    }
  }
  return samples;
}
