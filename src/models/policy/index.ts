/**
 * The policy π_θ (DESIGN §1–2): a tiny vision-language model — vision tokens projected from the
 * frozen mini-SAM embedding, a decoder-only transformer (RMSNorm, RoPE, SwiGLU), a word-level
 * tokenizer, the CoPRS instruction prompt, KV-cached generation, teacher-forced scoring, the format
 * reward, checkpoints, evaluation and benchmark hooks. See README.md in this folder.
 */
export { POLICY_PRESETS, resolvePolicyConfig, validatePolicyConfig } from './config';
export type { PolicyConfig } from './config';
export {
  Tokenizer, SPECIAL_TOKENS, BASE_TOKENS, PAD, BOS, EOS, UNK, IMAGE, THINK, THINK_END, REF_POS, SEG, LOC, ANSWER, ANSWER_END, splitTokens, splitWords, vocabularyFromWords,
} from './tokenizer';
export type { SpecialToken, TokenizerJSON } from './tokenizer';
export { INSTRUCTION, promptText, responseText, encodePrompt, encodeResponse } from './prompt';
export { VisionProjector, StubImageEncoder, EmbeddingCache, embedImages, encoderInput, samImageEncoder, samInputBatch, pixelChannels, withPixelChannel } from './vision';
export type { ImageEncoderLike, SamLike } from './vision';
export { Attention, Block, Decoder, Rope, SwiGLU, MASKED, disposeCache } from './transformer';
export type { KVCache, LayerCache } from './transformer';
export { batchMatMul } from './bmm';
export { attentionCore, useAttentionCore } from './attention-core';
export { packRows, biasParts } from './batch';
export type { SeqBatch } from './batch';
export { PolicyModel } from './model';
export type { EncoderShape, ForwardOptions } from './model';
export { argmax, pickToken, validateSampling } from './sampling';
export type { SamplingOptions } from './sampling';
export { generate } from './generate';
export type { GenerateOptions, GenerateResult } from './generate';
export { logProbs, scoreResponses, packForScoring, lastRefPosIndex, disposeLogProbs } from './logprobs';
export type { LogProbsOptions, LogProbsResult, ScoreLayout } from './logprobs';
export { formatReward, checkFormat, parseConclusion, conclusionHitsTarget } from './format';
export type { Conclusion, FormatCheck, FormatRules } from './format';
export { savePolicy, loadPolicy, loadEncoder, readPolicyConfig, samSource, writeModelCheckpoint, policyCheckpointConfig } from './checkpoint';
export type { EncoderSource, LoadPolicyOptions, PolicyBundle, PolicyCheckpointConfig } from './checkpoint';
export { evaluatePolicy } from './eval';
export type { EvaluatePolicyOptions, EvaluatePolicyResult, PolicySampleResult } from './eval';
export { benchSftStep, benchRollouts } from './bench';
export type { RolloutBench, SftStepBench } from './bench';
