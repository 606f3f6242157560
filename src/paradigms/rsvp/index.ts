/** RSVP (two-stage): CoT + grid strips → box proposal → vision-language segmentation module → mini-SAM. See model.ts. */
import type { ParadigmDefinition } from '../types';
import { resolveRsvpConfig, type RsvpTrainConfig } from './config';
import { RsvpParadigm } from './model';

export * from './config';
export * from './grid';
export * from './vlsm';
export * from './model';

export const RSVP: ParadigmDefinition<RsvpTrainConfig> = {
  name: 'rsvp',
  emits: '<think>…</think><answer>down r…, across c…</answer>',
  summary: 'two-stage: the policy reasons over the image with an 8 × 8 strip grid drawn on it and names the strips holding the target; strips → padded box; a small vision-language module (query text × box-cropped image features) + the box prompt the mini-SAM; supervised CE on GT strips + 2.0·BCE + 0.5·dice for the VLSM (no RL; kit choices labelled)',
  resolveConfig: resolveRsvpConfig,
  create: (parts, config) => new RsvpParadigm(parts, config),
};
