/** CR-Seg (attention + points): the answer tokens' attention over the image → coarse map + top points → mini-SAM. See model.ts. */
import type { ParadigmDefinition } from '../types';
import { resolveCrSegConfig, type CrSegTrainConfig } from './config';
import { CrSegParadigm } from './model';

export * from './config';
export * from './attention-map';
export * from './model';

export const CR_SEG: ParadigmDefinition<CrSegTrainConfig> = {
  name: 'cr-seg',
  emits: '<think>{global → local}</think><answer>the {target}</answer>',
  summary: 'attention + points (kit\'s reading of an abstract-only paper): the last layer\'s attention of the answer tokens over the image tokens → coarse map (dense prompt) + top-2 points → mini-SAM; supervised CE + 2.0·BCE + 0.5·dice + 0.5·attention alignment (kit\'s addition; no RL)',
  resolveConfig: resolveCrSegConfig,
  create: (parts, config) => new CrSegParadigm(parts, config),
};
