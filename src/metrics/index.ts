/** Segmentation metrics: per-image IoU, gIoU / cIoU, the `SegMetrics` accumulator, tensor and logit versions. */
export * from './threshold';
export * from './iou';
export * from './aggregate';
export * from './tensor-iou';
export * from './heatmap-iou';
export * from './seg-metrics';
