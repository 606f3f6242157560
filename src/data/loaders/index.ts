/** Loaders for real data in its published formats, producing the kit's `Sample`. */
export * from './reasonseg';
export * from './refcoco';
export * from './coco-rle';
