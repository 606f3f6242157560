/** Stage 2, the policy cold start: config, data, trainer (see trainer.ts). */
export { SFT_PRESETS, resolveSftConfig, validateSftConfig } from './config';
export type { SftConfig } from './config';
export { SftData, encodeSample, makeBatch } from './data';
export type { SftBatch, SftDataOptions, SftDataState } from './data';
export { HELDOUT_METRIC, SftTrainer, encoderFromFlag, sftLoss, trainSft } from './trainer';
export type { SftHeldoutReport, SftStepReport, TrainSftOptions, TrainSftResult } from './trainer';
export { PERCEPTION_CLASSES, PERCEPTION_OUTPUTS, PerceptionHead, tokenLabels } from './perception';
export { halfBatchGrads, joinLabels } from './grad-worker';
export type { AuxHalf } from './grad-worker';
export { GradWorker } from './parallel';
