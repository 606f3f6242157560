/**
 * The ShapeWorld-RS tour: sample grids with target overlays and captions, and the split-statistics
 * table and chart. Used by `npm start` and notebook 02, so both show the same pictures.
 */
import type { Sample } from '../data/sample';
import { shapeWorldMeta } from '../data/shapeworld/index';
import type { ShapeWorldStats } from '../data/shapeworld/index';
import { gridPng, overlayMask, Tile } from './overlay';
import type { PlotlyFigure } from './plotly';
import type { Row } from './table';

export type CaptionMode = 'none' | 'query' | 'query+subset';

export interface SampleGridOptions {
  columns?: number;
  scale?: number;
  caption?: CaptionMode;
  /** Draw the ground-truth target mask over the image (default true). */
  overlay?: boolean;
  captionLines?: number;
}

/** A grid of samples, each with its target mask overlaid and its query underneath, as PNG. */
export async function sampleGridPng(samples: Sample[], opts: SampleGridOptions = {}): Promise<Buffer> {
  const { columns = 4, scale = 2, caption = 'query+subset', overlay = true, captionLines = 4 } = opts;
  const tiles: Tile[] = samples.map((s) => ({
    image: overlay ? overlayMask(s.image, s.mask) : s.image,
    caption: caption === 'none' ? undefined : caption === 'query' || !s.subset ? s.query : `[${s.split}/${s.subset}] ${s.query}`,
  }));
  return gridPng(tiles, { columns, scale, captionLines });
}

/** One row per split: counts, subsets and scene/query statistics (for a table or a danfojs DataFrame). */
export function splitStatsRows(stats: ShapeWorldStats): Row[] {
  return Object.entries(stats.splits).map(([split, s]) => ({
    split,
    samples: s.count,
    subsets: Object.entries(s.subsets).map(([k, v]) => `${k} ${v}`).join(', '),
    'objects/scene': s.objectsPerScene.mean,
    'occluded objects': s.occludedObjectFraction,
    'target px': s.targetArea.mean,
    'query words': s.queryWords.mean,
    'CoT words': s.cotWords.mean,
  }));
}

/** Bar chart: samples per split and subset (stacked), with mean query length on a second axis. */
export function splitStatsFigure(stats: ShapeWorldStats): PlotlyFigure {
  const splits = Object.keys(stats.splits).sort();
  const subsets = [...new Set(splits.flatMap((k) => Object.keys(stats.splits[k].subsets)))];
  return {
    data: [
      ...subsets.map((sub) => ({
        type: 'bar', name: sub, x: splits, y: splits.map((k) => stats.splits[k].subsets[sub] ?? 0),
      })),
      {
        type: 'scatter', mode: 'markers+lines', name: 'mean query words', yaxis: 'y2',
        x: splits, y: splits.map((k) => stats.splits[k].queryWords.mean), marker: { size: 9, color: 'black' },
      },
    ],
    layout: {
      title: { text: 'ShapeWorld-RS frozen splits: samples per subset and query length' },
      barmode: 'stack',
      yaxis: { title: { text: 'samples' } },
      yaxis2: { title: { text: 'mean query words' }, overlaying: 'y', side: 'right', rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** One tile per object of a ShapeWorld-RS scene: its visible-pixel instance mask, attributes and visibility. */
export async function instanceGridPng(sample: Sample, opts: { scale?: number; columns?: number } = {}): Promise<Buffer> {
  const meta = shapeWorldMeta(sample);
  const tiles: Tile[] = meta.scene.objects.map((o, k) => ({
    image: overlayMask(sample.image, meta.instanceMasks[k]),
    caption: `#${o.id}${meta.targetIds.includes(o.id) ? ' TARGET' : ''}: ${o.size} ${o.color} ${o.shape}, ${Math.round(o.visibleFraction * 100)}% visible`,
  }));
  return gridPng([{ image: sample.image, caption: `${sample.id}: ${sample.query}` }, ...tiles], { columns: opts.columns ?? 4, scale: opts.scale ?? 2, captionLines: 3 });
}

/** Markdown for one sample: the query, its grammar constructs, and the CoPRS response built from its chain of thought. */
export function sampleMarkdown(sample: Sample): string {
  const meta = shapeWorldMeta(sample);
  const tag = sample.subset ? ` · ${sample.subset}` : '';
  return [
    `**${sample.id}**${tag} · family \`${meta.family}\` · constructs ${meta.constructs.map((c) => `\`${c}\``).join(' ')}`,
    '',
    `> ${sample.query}`,
    '',
    `\`<think>\`${sample.cot?.text ?? ''}\`</think> <REF_POS>\``,
  ].join('\n');
}
