/**
 * The mini-SAM sizes and their builders (segment-anything `build_sam.py`): one typed config per
 * size in `SAM_SIZES`, one builder per size (`buildSamS/M/L`), and the registry
 * `samModelRegistry` behind `buildSam(size, opts)`.
 * The sizes themselves are in `config.ts`.
 */
import { Params } from '../../nn/params';
import { ImageEncoder } from './image-encoder';
import { MaskDecoder } from './mask-decoder';
import { PromptEncoder } from './prompt-encoder';
import { Sam } from './sam';
import { TwoWayTransformer } from './transformer';
import { SAM_SIZES, SamConfig, SamSize, parseSamSize, resolveSamConfig } from './config';

export { SAM_SIZES, SAM_SIZE_NAMES, parseSamSize, resolveSamConfig } from './config';
export type { SamConfig, SamSize } from './config';

export interface BuildSamOptions {
  /** Seed of every initial weight and of the fixed positional-encoding matrix (default 0). */
  seed?: number;
  /** Overrides of the size's config (unknown keys rejected). */
  config?: unknown;
}

/** Build a mini-SAM from a full config (SAM's `_build_sam`). */
export function buildSamFromConfig(config: SamConfig, seed = 0): Sam {
  const C = config.embedDim;
  const params = Params.create(seed);
  const imageEncoder = new ImageEncoder(params.scope('imageEncoder'), {
    imgSize: config.imageSize,
    stemChans: config.encoder.stemChans,
    embedDim: config.encoder.width,
    depth: config.encoder.depth,
    numHeads: config.encoder.numHeads,
    mlpRatio: config.encoder.mlpRatio,
    outChans: C,
  });
  const e = imageEncoder.embedSize;
  const promptEncoder = new PromptEncoder(params.scope('promptEncoder'), {
    embedDim: C,
    imageEmbeddingSize: [e, e],
    inputImageSize: [config.imageSize, config.imageSize],
    maskInChans: config.promptEncoder.maskInChans,
    seed,
  });
  const d = config.decoder;
  const md = params.scope('maskDecoder');
  const transformer = new TwoWayTransformer(md.scope('transformer'), {
    depth: d.depth, embeddingDim: C, numHeads: d.numHeads, mlpDim: d.mlpRatio * C, attentionDownsampleRate: d.attentionDownsampleRate,
  });
  const maskDecoder = new MaskDecoder(md, transformer, {
    transformerDim: C, numMultimaskOutputs: d.numMultimaskOutputs, iouHeadDepth: d.iouHeadDepth, iouHeadHiddenDim: d.iouHeadHiddenDim,
  });
  return new Sam(imageEncoder, promptEncoder, maskDecoder, { params, config });
}

export const buildSamS = (opts: BuildSamOptions = {}): Sam => buildSamFromConfig(resolveSamConfig('S', opts.config), opts.seed ?? 0);
export const buildSamM = (opts: BuildSamOptions = {}): Sam => buildSamFromConfig(resolveSamConfig('M', opts.config), opts.seed ?? 0);
export const buildSamL = (opts: BuildSamOptions = {}): Sam => buildSamFromConfig(resolveSamConfig('L', opts.config), opts.seed ?? 0);

/** Builders by size (SAM's `sam_model_registry`). */
export const samModelRegistry: Record<SamSize, (opts?: BuildSamOptions) => Sam> = { S: buildSamS, M: buildSamM, L: buildSamL };

/** Build a mini-SAM of a size: `buildSam('S', { seed: 1 })`. */
export function buildSam(size: SamSize | string, opts: BuildSamOptions = {}): Sam {
  return samModelRegistry[parseSamSize(size)](opts);
}
