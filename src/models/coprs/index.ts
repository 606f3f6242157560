/**
 * CoPRS (DESIGN §1): the positional-prior head, the model that joins the policy, the head and the
 * mini-SAM's prompt encoder and mask decoder, its checkpoints, evaluation and inference.
 * Training (stage 3) is in src/train/coprs/.
 */
export * from './heatmap-head';
export * from './config';
export * from './e-conc';
export * from './images';
export * from './model';
export * from './checkpoint';
export * from './eval';
export * from './infer';
export * from './reference';
export * from './predict';
