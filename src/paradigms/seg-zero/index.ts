/** Seg-Zero (text coordinates): JSON box + two points → frozen mini-SAM; GRPO with five 0/1 rewards. See model.ts. */
import type { ParadigmDefinition } from '../types';
import { resolveSegZeroConfig, type SegZeroTrainConfig } from './config';
import { SegZeroParadigm } from './model';

export * from './answer';
export * from './rewards';
export * from './config';
export * from './model';

export const SEG_ZERO: ParadigmDefinition<SegZeroTrainConfig> = {
  name: 'seg-zero',
  emits: '<think>…</think><answer>{"bbox": [x1,y1,x2,y2], "points_1": [x,y], "points_2": [x,y]}</answer>',
  summary: 'text coordinates: box + two points (image pixels) prompt the frozen mini-SAM; GRPO with five 0/1 rewards (think format, answer format, bbox IoU > 0.5, bbox L1, points L1); kit: a supervised format cold start first',
  resolveConfig: resolveSegZeroConfig,
  create: (parts, config) => new SegZeroParadigm(parts, config),
};
