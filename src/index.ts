/**
 * CoPRS Lab — the public API, for notebooks (`import { ... } from './src/index'`) and scripts.
 * Each area also has its own entry point (src/io/index, src/metrics/index, src/data/shapeworld/index, ...).
 */
export * from './backend/select';
export * from './backend/kernels';
export { OP_PROBES, runProbe } from './backend/probe-ops';
export * from './config/preset';
export * from './util/rng';
export * from './util/paths';
export * from './data/sample';
export * from './data/polygon';
export * from './data/shapeworld/index';
export * from './data/loaders/index';
export * from './io/index';
export * from './metrics/index';
export * from './nn/conv';
export * from './bench/ops-bench';
export { display, savedFigures, inNotebook } from './notebook/display';
export * from './notebook/overlay';
export * from './notebook/tour';
export { figureHtml, figureToPng, figurePage } from './notebook/plotly';
export type { PlotlyFigure } from './notebook/plotly';
export * from './models/sam/index';
export * from './train/sam/index';
export * from './data/distance-transform';
export { HeatmapHead } from './models/coprs/heatmap-head';
export * from './rewards/registry';
export * from './rewards/format';
export * from './rewards/mask';
export * from './rl/advantages';
export * from './rl/kl';
export * from './rl/policy-loss';
export * from './analysis/ols';
export * from './analysis/cot-judge';
export {
  PolicyModel, Tokenizer, generate, logProbs, lastRefPosIndex, evaluatePolicy, loadPolicy, savePolicy, encodePrompt, encodeResponse,
  promptText, responseText, INSTRUCTION, POLICY_PRESETS, resolvePolicyConfig, parseConclusion, conclusionHitsTarget, VisionProjector, benchRollouts, benchSftStep,
} from './models/policy/index';
export type { PolicyConfig, GenerateResult, LogProbsResult, EvaluatePolicyResult } from './models/policy/index';
/** The policy module as a namespace (its Attention/Block/GenerateOptions names collide with mini-SAM's and ShapeWorld's). */
export * as policy from './models/policy/index';
export * from './train/sft/index';
