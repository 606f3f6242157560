/** LISA (latent): "… [SEG]" → hidden state → MLP → one sparse prompt token → mini-SAM mask decoder. See model.ts. */
import type { ParadigmDefinition } from '../types';
import { resolveLisaConfig, type LisaTrainConfig } from './config';
import { LisaParadigm } from './model';

export * from './config';
export * from './model';

export const LISA: ParadigmDefinition<LisaTrainConfig> = {
  name: 'lisa',
  emits: '… [SEG]',
  summary: 'latent: the hidden state at [SEG] → MLP (Linear, ReLU, Linear) → one sparse prompt token, dense = no_mask_embed; supervised 1.0·CE + 2.0·BCE + 0.5·dice (no RL)',
  resolveConfig: resolveLisaConfig,
  create: (parts, config) => new LisaParadigm(parts, config),
};
