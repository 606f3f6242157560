/**
 * Notebook 03's policy half: parameter counts by part, the tensor shapes through one forward pass,
 * and responses to one query greedily and at temperature 1.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../data/sample';
import type { PolicyModel } from '../models/policy/model';
import type { ImageEncoderLike } from '../models/policy/vision';
import { encodePrompt } from '../models/policy/prompt';
import { generate } from '../models/policy/generate';
import { packRows } from '../models/policy/batch';

export type PolicyPartRow = { part: string; parameters: number };

/** Parameters by part (vision projector incl. the patch tower, token embedding, decoder, LM head). */
export function policyParameterRows(model: PolicyModel): PolicyPartRow[] {
  const parts: [string, string][] = [['vision tower', 'vision.tower'], ['vision projector (rest)', 'vision'], ['token embedding', 'embed'], ['decoder', 'decoder'], ['LM head', 'lmHead']];
  const rows = parts.map(([part, prefix]) => ({ part, parameters: model.paramCount(prefix) }));
  rows[1].parameters -= rows[0].parameters;
  rows.push({ part: 'total', parameters: model.paramCount() });
  return rows;
}

export type PolicyShapeRow = { step: string; shape: string };

/** The shapes through one forward pass of the policy on one sample. */
export function policyShapeTrace(model: PolicyModel, encoder: ImageEncoderLike, sample: Sample): PolicyShapeRow[] {
  return tf.tidy(() => {
    const rows: PolicyShapeRow[] = [];
    const input = model.embedImages(encoder, [sample.image]);
    rows.push({ step: 'image input: frozen mini-SAM embedding ‖ pixels per cell (embedImages)', shape: `[${input.shape}]` });
    const vis = model.visionTokens(input);
    rows.push({ step: 'vision tokens (projector + patch tower + 2-D position)', shape: `[${vis.shape}]` });
    const prompt = encodePrompt(model.tokenizer, sample.query, model.imageTokens);
    const batch = packRows([prompt], model.imageTokens, 'right');
    rows.push({ step: `prompt ids (<bos>, ${model.imageTokens} image slots, instruction, query)`, shape: `[1,${prompt.length}]` });
    const { hidden } = model.forward(batch, vis);
    rows.push({ step: `decoder: ${model.config.layers} × (RMSNorm → MHA with RoPE → RMSNorm → SwiGLU), final RMSNorm`, shape: `[${hidden.shape}]` });
    rows.push({ step: 'logits (LM head)', shape: `[${model.logits(hidden).shape}]` });
    return rows;
  });
}

export type PolicySampleRow = { mode: string; response: string };

/** Responses to one sample: greedy, and `n` rollouts at temperature 1. */
export function policySamples(model: PolicyModel, encoder: ImageEncoderLike, sample: Sample, n = 4, maxTokens = 300): PolicySampleRow[] {
  const emb = model.embedImages(encoder, [sample.image]);
  try {
    const prompt = encodePrompt(model.tokenizer, sample.query, model.imageTokens);
    const greedy = generate(model, [prompt], emb, { maxTokens, temperature: 0 });
    const sampled = generate(model, [prompt], emb, { maxTokens, temperature: 1, G: n, rng: 1 });
    return [{ mode: 'greedy', response: greedy.text[0] }, ...sampled.text.map((t, i) => ({ mode: `T = 1, rollout ${i + 1}`, response: t }))];
  } finally {
    emb.dispose();
  }
}
