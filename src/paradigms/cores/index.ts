/** CoReS (dual chain): "It appears on [LOC]. It is [SEG]." → [LOC] mask → soft mask prompt + refined [SEG] token → mask. See model.ts. */
import type { ParadigmDefinition } from '../types';
import { resolveCoresConfig, type CoresTrainConfig } from './config';
import { CoresParadigm } from './model';

export * from './config';
export * from './library';
export * from './refiner';
export * from './model';

export const CORES: ParadigmDefinition<CoresTrainConfig> = {
  name: 'cores',
  emits: 'It appears on [LOC]. It is [SEG].',
  summary: 'dual chain: [LOC] state → MLP → first mask m⁰; m⁰ → soft mask prompt, [SEG] token refined by cross-attention to the masked-average-pooled image features under m⁰ → final mask; one in-context text exemplar before the query; supervised 0.5·CE + 0.5·(0.5·dice + 2.0·BCE) on the final mask (no RL)',
  resolveConfig: resolveCoresConfig,
  create: (parts, config) => new CoresParadigm(parts, config),
};
