/**
 * Stage 1: mini-SAM pretraining (SAM-style random prompts on ShapeWorld-RS train scenes). Config
 * presets, reusable mask losses (also used by CoPRS), prompt sampling, the batch, the loss of one
 * step, the trainer and the bench hook.
 */
export * from './config';
export * from './losses';
export * from './prompts';
export * from './batch';
export * from './step';
export * from './trainer';
