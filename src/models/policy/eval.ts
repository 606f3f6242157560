/**
 * Policy evaluation on a frozen ShapeWorld-RS split: generate a response per query (or G per query)
 * and score it.
 *
 * - formatValidity: share of responses whose CoPRS format reward (paper rules, format.ts) is 1.0.
 * - targetAccuracy: share of responses whose chain of thought concludes with the ground-truth
 *   target ("So the target is the <size> <color> <shape> <position>."; `conclusionHitsTarget`).
 * - meanLength: generated tokens per response (the final `<eos>` included).
 * - distinctPerGroup (G > 1): mean number of distinct responses among each prompt's G rollouts.
 * - bySubset / byFamily: target accuracy and format validity per subset and per query family.
 *
 * The encoder is frozen, so every image is embedded once and its G rollouts share the embedding.
 */
import type { Sample } from '../../data/sample';
import { loadSplit, shapeWorldMeta } from '../../data/shapeworld/index';
import { Rng } from '../../util/rng';
import { loadPolicy, type PolicyBundle } from './checkpoint';
import { checkFormat, conclusionHitsTarget, parseConclusion } from './format';
import { generate, type GenerateResult } from './generate';
import { PolicyModel } from './model';
import { encodePrompt } from './prompt';
import { embedImages, type ImageEncoderLike } from './vision';

export interface EvaluatePolicyOptions {
  /** "dataset/split" (e.g. "refshapes/val"), or a split name with `dataset`. */
  split?: string;
  dataset?: string;
  /** Only the first `limit` samples. */
  limit?: number;
  /** Evaluate these samples instead of loading the split. */
  samples?: Sample[];
  /** 0 (default) = greedy. */
  temperature?: number;
  topP?: number;
  /** Rollouts per query (default 1). */
  G?: number;
  /** Generation cap per response (default 400). */
  maxTokens?: number;
  /** Queries per generation batch (default 16). */
  batchSize?: number;
  /** Sampling seed (default 0). */
  seed?: number;
  /** Use this encoder (a model passed in needs one). */
  encoder?: ImageEncoderLike;
  /** Return one record per response. */
  perSample?: boolean;
}

export interface PolicySampleResult {
  id: string;
  rollout: number;
  text: string;
  length: number;
  format: number;
  correct: boolean;
}

export interface EvaluatePolicyResult {
  dataset: string;
  split: string;
  /** Queries evaluated. */
  count: number;
  /** Responses generated (count × G). */
  responses: number;
  G: number;
  temperature: number;
  formatValidity: number;
  targetAccuracy: number;
  meanLength: number;
  /** Responses that hit maxTokens without `<eos>`. */
  truncated: number;
  distinctPerGroup?: number;
  /** Target accuracy per subset (short/long, sparse/crowded, ...). */
  bySubset: Record<string, { count: number; targetAccuracy: number; formatValidity: number }>;
  /** Target accuracy per query family (attribute, region, superlative, relation, negation, counting, ...). */
  byFamily: Record<string, { count: number; targetAccuracy: number; formatValidity: number }>;
  ms: number;
  perSample?: PolicySampleResult[];
}

function resolveSplit(opts: EvaluatePolicyOptions): { dataset: string; split: string } {
  const s = opts.split ?? 'val';
  if (s.includes('/')) {
    const [dataset, split] = s.split('/');
    if (opts.dataset && opts.dataset !== dataset) throw new Error(`evaluatePolicy: split "${s}" and dataset "${opts.dataset}" disagree`);
    return { dataset, split };
  }
  return { dataset: opts.dataset ?? 'refshapes', split: s };
}

/** Evaluate a policy (a checkpoint folder, a loaded bundle, or a model + `opts.encoder`). */
export async function evaluatePolicy(policy: string | PolicyBundle | PolicyModel, opts: EvaluatePolicyOptions = {}): Promise<EvaluatePolicyResult> {
  const { dataset, split } = resolveSplit(opts);
  const G = opts.G ?? 1;
  const temperature = opts.temperature ?? 0;
  if (!Number.isInteger(G) || G < 1) throw new Error(`evaluatePolicy: G must be an integer ≥ 1, got ${G}`);
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluatePolicy: batchSize must be an integer ≥ 1, got ${batchSize}`);
  const owned = typeof policy === 'string' ? loadPolicy(policy, opts.encoder ? { encoder: opts.encoder } : {}) : null;
  const given = typeof policy === 'string' ? null : policy;
  const model: PolicyModel = owned ? owned.model : given instanceof PolicyModel ? given : (given as PolicyBundle).model;
  const encoder = opts.encoder ?? (owned ? owned.encoder : given instanceof PolicyModel ? null : (given as PolicyBundle).encoder);
  if (!encoder) throw new Error('evaluatePolicy: no image encoder; pass opts.encoder (the frozen mini-SAM the policy was trained on)');
  const t0 = Date.now();
  try {
    let samples = opts.samples ?? (await loadSplit(dataset, split, { limit: opts.limit }));
    if (opts.samples && opts.limit !== undefined) samples = samples.slice(0, opts.limit);
    if (samples.length === 0) throw new Error(`evaluatePolicy: ${dataset}/${split} gave no samples`);
    const rng = new Rng(opts.seed ?? 0);
    const records: PolicySampleResult[] = [];
    let distinct = 0;
    let truncated = 0;
    for (let s0 = 0; s0 < samples.length; s0 += batchSize) {
      const batch = samples.slice(s0, s0 + batchSize);
      const prompts = batch.map((s) => encodePrompt(model.tokenizer, s.query, model.imageTokens));
      const emb = model.embedImages(encoder, batch.map((s) => s.image));
      let out: GenerateResult;
      try {
        const maxTokens = Math.min(opts.maxTokens ?? 400, model.config.maxSeqLen - Math.max(...prompts.map((p) => p.length)));
        out = generate(model, prompts, emb, { maxTokens, temperature, topP: opts.topP ?? 1, G, rng });
      } finally {
        emb.dispose();
      }
      batch.forEach((s, i) => {
        const meta = shapeWorldMeta(s);
        const texts = new Set<string>();
        for (let g = 0; g < G; g++) {
          const r = i * G + g;
          const text = out.text[r];
          texts.add(text);
          const fc = checkFormat(text);
          const correct = conclusionHitsTarget(parseConclusion(fc.think ?? text), meta.scene, meta.targetIds);
          if (!out.finished[r]) truncated++;
          records.push({ id: s.id, rollout: g, text, length: out.lengths[r], format: fc.reward, correct });
        }
        distinct += texts.size;
      });
      await new Promise((r) => setImmediate(r));
    }
    const mean = (f: (r: PolicySampleResult) => number, rs = records) => rs.reduce((a, r) => a + f(r), 0) / Math.max(1, rs.length);
    const groupBy = (key: (s: Sample) => string): EvaluatePolicyResult['bySubset'] => {
      const out: EvaluatePolicyResult['bySubset'] = {};
      const of = new Map(samples.map((s) => [s.id, key(s)]));
      for (const k of new Set(of.values())) {
        const rs = records.filter((r) => of.get(r.id) === k);
        out[k || 'all'] = { count: rs.length / G, targetAccuracy: mean((r) => (r.correct ? 1 : 0), rs), formatValidity: mean((r) => (r.format === 1 ? 1 : 0), rs) };
      }
      return out;
    };
    const bySubset = groupBy((s) => s.subset ?? '');
    const byFamily = groupBy((s) => shapeWorldMeta(s).family);
    const result: EvaluatePolicyResult = {
      dataset,
      split,
      count: samples.length,
      responses: records.length,
      G,
      temperature,
      formatValidity: mean((r) => (r.format === 1 ? 1 : 0)),
      targetAccuracy: mean((r) => (r.correct ? 1 : 0)),
      meanLength: mean((r) => r.length),
      truncated,
      bySubset,
      byFamily,
      ms: Date.now() - t0,
    };
    if (G > 1) result.distinctPerGroup = distinct / samples.length;
    if (opts.perSample) result.perSample = records;
    return result;
  } finally {
    owned?.dispose();
  }
}
