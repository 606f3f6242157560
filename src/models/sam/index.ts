/**
 * mini-SAM (DESIGN §2): segment-anything's `modeling/` at 1/8 scale, in the same layout — one
 * concept per file, submodules passed in (`new Sam(imageEncoder, promptEncoder, maskDecoder, {
 * params })`), sizes S / M / L as configs with one builder each and a registry (`buildSam`).
 * Evaluation with ground-truth prompts and checkpoint loading are in `eval.ts`.
 */
export * from './common';
export * from './config';
export * from './position-embedding';
export * from './prompt-encoder';
export * from './transformer';
export * from './mask-decoder';
export * from './image-encoder';
export * from './prompts';
export * from './sam';
export * from './build-sam';
export * from './eval';
