/**
 * Summary statistics of ShapeWorld-RS samples (what `coprs data stats --json` prints): counts per
 * split and subset, objects per scene, target area, visibility, query and chain-of-thought lengths,
 * template families and grammar constructs.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Sample } from '../sample';
import { shapeWorldMeta } from './make-sample';
import { wordCount } from './phrases';
import type { SceneGraph } from './scene';
import { DEFAULT_DATA_DIR, readIndex } from './store';

/** Numeric summary. */
export interface Summary {
  mean: number;
  min: number;
  max: number;
  median: number;
}

/** Statistics of one split. */
export interface SplitStats {
  count: number;
  subsets: Record<string, number>;
  families: Record<string, number>;
  constructs: Record<string, number>;
  objectsPerScene: Summary;
  /** Target mask area in pixels. */
  targetArea: Summary;
  /** Target area as a fraction of the image. */
  targetAreaFraction: Summary;
  /** Mean visible fraction over all objects of all scenes. */
  meanVisibleFraction: number;
  /** Fraction of objects less than 95% visible. */
  occludedObjectFraction: number;
  queryWords: Summary;
  queryWordsBySubset: Record<string, Summary>;
  cotWords: Summary;
}

/** Statistics per "dataset/split". */
export interface ShapeWorldStats {
  splits: Record<string, SplitStats>;
  total: number;
}

interface Row {
  key: string;
  subset: string;
  family: string;
  constructs: string[];
  scene: SceneGraph;
  targetIds: number[];
  query: string;
  cot: string;
}

function summary(xs: number[]): Summary {
  if (xs.length === 0) return { mean: 0, min: 0, max: 0, median: 0 };
  const s = xs.slice().sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { mean: r(mean), min: s[0], max: s[s.length - 1], median: r(median) };
}

function tally(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function statsOf(rows: Row[]): ShapeWorldStats {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    if (!groups.has(r.key)) groups.set(r.key, []);
    groups.get(r.key)!.push(r);
  }
  const splits: Record<string, SplitStats> = {};
  for (const [key, rs] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const objs = rs.flatMap((r) => r.scene.objects);
    const areas = rs.map((r) => r.targetIds.reduce((a, id) => a + r.scene.objects[id].visibleArea, 0));
    const bySubset: Record<string, Summary> = {};
    for (const sub of [...new Set(rs.map((r) => r.subset))].sort()) bySubset[sub] = summary(rs.filter((r) => r.subset === sub).map((r) => wordCount(r.query)));
    splits[key] = {
      count: rs.length,
      subsets: tally(rs.map((r) => r.subset)),
      families: tally(rs.map((r) => r.family)),
      constructs: tally(rs.flatMap((r) => r.constructs)),
      objectsPerScene: summary(rs.map((r) => r.scene.objects.length)),
      targetArea: summary(areas),
      targetAreaFraction: summary(rs.map((r, k) => areas[k] / (r.scene.width * r.scene.height))),
      meanVisibleFraction: Math.round((objs.reduce((a, o) => a + o.visibleFraction, 0) / Math.max(1, objs.length)) * 1000) / 1000,
      occludedObjectFraction: Math.round((objs.filter((o) => o.visibleFraction < 0.95).length / Math.max(1, objs.length)) * 1000) / 1000,
      queryWords: summary(rs.map((r) => wordCount(r.query))),
      queryWordsBySubset: bySubset,
      cotWords: summary(rs.map((r) => wordCount(r.cot))),
    };
  }
  return { splits, total: rows.length };
}

/**
 * Statistics of samples in memory, or of the frozen splits in a data directory (default
 * data/shapeworld; reads only the index files).
 */
export async function shapeWorldStats(input: readonly Sample[] | string = DEFAULT_DATA_DIR): Promise<ShapeWorldStats> {
  if (typeof input !== 'string') {
    return statsOf(
      input.map((s) => {
        const m = shapeWorldMeta(s);
        return { key: `${s.dataset}/${s.split}`, subset: s.subset ?? '', family: m.family, constructs: m.constructs, scene: m.scene, targetIds: m.targetIds, query: s.query, cot: s.cot?.text ?? '' };
      }),
    );
  }
  const rows: Row[] = [];
  const datasets = (await fs.readdir(input, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const d of datasets) {
    const splits = (await fs.readdir(path.join(input, d), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    for (const sp of splits) {
      const dir = path.join(input, d, sp);
      try {
        await fs.access(path.join(dir, 'index.jsonl'));
      } catch {
        continue;
      }
      for (const r of await readIndex(dir)) {
        rows.push({ key: `${d}/${sp}`, subset: r.subset, family: r.family, constructs: r.constructs, scene: r.scene, targetIds: r.targetIds, query: r.query, cot: r.cot.text });
      }
    }
  }
  return statsOf(rows);
}
