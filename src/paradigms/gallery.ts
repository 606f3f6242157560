/**
 * What each paradigm emits and segments, side by side (the CoPRS paper's Figure 1 analog), and where
 * each one fails (gIoU by query family), for the paradigm notebook (09-paradigms).
 *
 *   const preds = await predictAll(entries, samples);          // entries: { name, dir } run folders
 *   const png = await galleryPng(samples, preds);              // one row per sample: image + GT, then each entry
 *   const table = familyTable(preds, samples);                 // gIoU per entry × query family
 *
 * CoPRS entries (name `coprs`) load with `loadCoprs` and predict through `models/coprs/predict`;
 * every other entry is a paradigm checkpoint (`loadParadigm`).
 */
import type { BinaryMask, Sample } from '../data/sample';
import { maskIoU as iou } from '../metrics/iou';
import { loadCoprs } from '../models/coprs/checkpoint';
import { predict as predictCoprs } from '../models/coprs/predict';
import { gridPng, overlayMask, PALETTE, type Tile } from '../notebook/overlay';
import { COPRS_ENTRY } from './compare';
import { loadParadigm } from './registry';

export interface GalleryEntry {
  name: string;
  /** A run folder: a coprs checkpoint for `coprs`, a paradigm checkpoint otherwise. */
  dir: string;
}

export interface EntryPrediction {
  name: string;
  id: string;
  response: string;
  mask: BinaryMask;
  iou: number;
}

/** Greedy predictions of every entry on the samples (one model loaded at a time). */
export async function predictAll(entries: readonly GalleryEntry[], samples: readonly Sample[], opts: { batchSize?: number } = {}): Promise<EntryPrediction[]> {
  if (samples.length === 0) throw new Error('predictAll: no samples');
  const bs = opts.batchSize ?? 8;
  const out: EntryPrediction[] = [];
  for (const e of entries) {
    if (e.name === COPRS_ENTRY) {
      const { model } = loadCoprs(e.dir);
      try {
        for (let i = 0; i < samples.length; i += bs) {
          const batch = samples.slice(i, i + bs);
          const ps = predictCoprs(model, batch.map((s) => s.image), batch.map((s) => s.query));
          ps.forEach((p, k) => out.push({ name: e.name, id: batch[k].id, response: p.response, mask: p.mask, iou: iou(p.mask, batch[k].mask) }));
        }
      } finally {
        model.dispose();
      }
    } else {
      const p = loadParadigm(e.dir);
      try {
        for (let i = 0; i < samples.length; i += bs) {
          const batch = samples.slice(i, i + bs);
          const ps = await p.predict(batch);
          ps.forEach((r, k) => out.push({ name: e.name, id: batch[k].id, response: r.response, mask: r.mask, iou: iou(r.mask, batch[k].mask) }));
        }
      } finally {
        p.dispose();
      }
    }
  }
  return out;
}

/** Shorten a response for a caption: the part after `</think>` (the answer) first, then the reasoning's end. */
export function captionOf(response: string, maxChars = 90): string {
  const t = response.replace(/\s+/g, ' ').trim();
  const end = t.lastIndexOf('</think>');
  const answer = end >= 0 ? t.slice(end + '</think>'.length).trim() : '';
  const reasoning = end >= 0 ? t.slice(0, end).replace(/^<think>/, '').trim() : t;
  const head = answer ? `${answer} ← ` : '';
  const room = Math.max(10, maxChars - head.length);
  const tail = reasoning.length > room ? `…${reasoning.slice(reasoning.length - room + 1)}` : reasoning;
  return `${head}${tail}`;
}

/** One row per sample: the image with the ground truth (hatched), then each entry's mask (blue) captioned with its IoU and output. */
export async function galleryPng(samples: readonly Sample[], preds: readonly EntryPrediction[], opts: { scale?: number } = {}): Promise<Buffer> {
  const names = [...new Set(preds.map((p) => p.name))];
  const tiles: Tile[] = [];
  for (const s of samples) {
    tiles.push({ image: overlayMask(s.image, s.mask), caption: `“${s.query}” (ground truth, hatched)` });
    for (const n of names) {
      const p = preds.find((x) => x.name === n && x.id === s.id);
      if (!p) throw new Error(`galleryPng: no prediction of ${n} for ${s.id}`);
      tiles.push({ image: overlayMask(s.image, p.mask, PALETTE.prediction), caption: `${n} · IoU ${p.iou.toFixed(2)} · ${captionOf(p.response)}` });
    }
  }
  return gridPng(tiles, { columns: 1 + names.length, scale: opts.scale ?? 2, captionLines: 5, fontSize: 10 });
}

export type FamilyRow = { paradigm: string } & Record<string, string | number>;

/** Mean IoU (gIoU) per entry × query family (sample.meta.family), with counts in the header row order. */
export function familyTable(preds: readonly EntryPrediction[], samples: readonly Sample[]): FamilyRow[] {
  const family = new Map(samples.map((s) => [s.id, String((s.meta?.family as string | undefined) ?? s.subset ?? 'all')]));
  const families = [...new Set(samples.map((s) => family.get(s.id)!))].sort();
  const names = [...new Set(preds.map((p) => p.name))];
  return names.map((n) => {
    const row: FamilyRow = { paradigm: n };
    for (const f of families) {
      const xs = preds.filter((p) => p.name === n && family.get(p.id) === f);
      row[`${f} (${xs.length})`] = xs.length ? Number((xs.reduce((a, p) => a + p.iou, 0) / xs.length).toFixed(3)) : '–';
    }
    return row;
  });
}
