/**
 * The second core of a stage-2 step (data parallelism over 2 CPU cores). tfjs' wasm backend runs
 * one thread per process in Node, so `trainSft` with `workers: 2` splits each batch in two: the main
 * thread takes one half, this worker thread the other. Per step the worker receives the current
 * weights and its half (ids and images), embeds the images with its own copy of the frozen encoder,
 * and returns the gradients of its half's SUMMED response-token log-loss divided by the whole
 * batch's response-token count, so the two halves' gradients simply add up to the batch's.
 *
 * Messages: 'init' {config, tokenizer, source} → 'ready'; 'step' {names, weights, batch, total} →
 * 'grads' {grads, lossSum, ms}; 'close'. Errors come back as 'error' {message}.
 */
import { parentPort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../../backend/select';
import type { RGBImage } from '../../data/sample';
import type { PolicyConfig } from '../../models/policy/config';
import { loadEncoder, type EncoderSource } from '../../models/policy/checkpoint';
import { PolicyModel } from '../../models/policy/model';
import { packForScoring, scoreResponses } from '../../models/policy/logprobs';
import { Tokenizer, type TokenizerJSON } from '../../models/policy/tokenizer';
import { embedImages, type ImageEncoderLike } from '../../models/policy/vision';

export interface WorkerInit {
  type: 'init';
  config: PolicyConfig;
  tokenizer: TokenizerJSON;
  source: EncoderSource;
  backend: string;
}

export interface WorkerStep {
  type: 'step';
  /** Parameter names, in the order of `weights`. */
  names: string[];
  weights: Float32Array[];
  prompts: number[][];
  responses: number[][];
  images: RGBImage[];
  /** Response tokens of the WHOLE batch (both halves): the loss divisor. */
  total: number;
}

export interface WorkerGrads {
  type: 'grads';
  grads: Float32Array[];
  /** Σ −log p over this half's response tokens. */
  lossSum: number;
  ms: number;
}

/** Gradient of Σ(−log p)/total over a half batch, by parameter name (inside the caller's scope). */
export function halfBatchGrads(model: PolicyModel, encoder: ImageEncoderLike, prompts: number[][], responses: number[][], images: RGBImage[], total: number, vars: [string, tf.Variable][]): { grads: Record<string, tf.Tensor>; lossSum: number } {
  const emb = model.embedImages(encoder, images);
  try {
    const layout = packForScoring(model, prompts, responses);
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
      const r = scoreResponses(model, layout, model.visionTokens(emb));
      return r.logProbs.sum().neg().div(total) as tf.Scalar;
    }), vars.map(([, v]) => v));
    const lossSum = value.dataSync()[0] * total;
    value.dispose();
    const byName: Record<string, tf.Tensor> = {};
    for (const [name, v] of vars) byName[name] = grads[v.name];
    return { grads: byName, lossSum };
  } finally {
    emb.dispose();
  }
}

if (parentPort) {
  const port = parentPort;
  let model: PolicyModel | null = null;
  let encoder: { encoder: ImageEncoderLike; dispose: () => void } | null = null;
  port.on('message', async (msg: WorkerInit | WorkerStep | { type: 'close' }) => {
    try {
      if (msg.type === 'init') {
        const a = await prepareBackend(msg.backend as 'wasm');
        if (!a.ok) throw new Error(`worker: backend ${msg.backend} failed: ${a.detail}`);
        await tf.setBackend(msg.backend);
        model = new PolicyModel(msg.config, Tokenizer.fromJSON(msg.tokenizer), msg.source);
        encoder = loadEncoder(msg.source);
        port.postMessage({ type: 'ready' });
      } else if (msg.type === 'step') {
        if (!model || !encoder) throw new Error('worker: step before init');
        const t0 = Date.now();
        const vars = msg.names.map((n) => [n, model!.params.get(n)] as [string, tf.Variable]);
        tf.tidy(() => vars.forEach(([, v], i) => v.assign(tf.tensor(msg.weights[i], v.shape))));
        const { grads, lossSum } = halfBatchGrads(model, encoder.encoder, msg.prompts, msg.responses, msg.images, msg.total, vars);
        const out = msg.names.map((n) => grads[n].dataSync() as Float32Array);
        tf.dispose(Object.values(grads));
        const reply: WorkerGrads = { type: 'grads', grads: out, lossSum, ms: Date.now() - t0 };
        port.postMessage(reply, out.map((g) => g.buffer as ArrayBuffer));
      } else if (msg.type === 'close') {
        model?.dispose();
        encoder?.dispose();
        port.close();
      }
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
  });
}
