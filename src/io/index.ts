/** Image/mask files, tensors, and SAM's pre/post-processing. */
export * from './image';
export * from './resize';
export * from './preprocess';
export * from './postprocess';
export * from './sharp-preprocess';
