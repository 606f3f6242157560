/**
 * The second core of a stage-2 step (data parallelism over 2 CPU cores). tfjs' wasm backend runs
 * one thread per process in Node, so `trainSft` with `workers: 2` splits each batch in two: the main
 * thread takes one half, this worker thread the other. Per step the worker receives the current
 * weights and its half (ids and images), embeds the images with its own copy of the frozen encoder,
 * and returns the gradients of its half's share of the batch loss (summed losses divided by the
 * whole batch's counts), so the two halves' gradients simply add up to the batch's.
 *
 * Messages: 'init' {config, tokenizer, source} → 'ready'; 'step' {names, weights, batch, total} →
 * 'grads' {grads, lossSum, ms}; 'close'. Errors come back as 'error' {message}.
 */
import { parentPort, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../../backend/select';
import type { RGBImage } from '../../data/sample';
import type { PolicyConfig } from '../../models/policy/config';
import { loadEncoder, type EncoderSource } from '../../models/policy/checkpoint';
import { PolicyModel } from '../../models/policy/model';
import { packForScoring, scoreResponses } from '../../models/policy/logprobs';
import { Tokenizer, type TokenizerJSON } from '../../models/policy/tokenizer';
import type { ImageEncoderLike } from '../../models/policy/vision';
import { PerceptionHead } from './perception';

export interface WorkerInit {
  type: 'init';
  config: PolicyConfig;
  /** Weight of the auxiliary perception loss (0: none). */
  auxPerception: number;
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
  /** Per row, the response tokens that count in the loss (1) or not (0); null = all. */
  lossMask: (number[] | null)[];
  /** Counted response tokens of the WHOLE batch (both halves): the loss divisor. */
  total: number;
  /** This half's vision-token labels (with the auxiliary loss). */
  labels: Int32Array | null;
  /** Vision tokens of the whole batch. */
  auxTotal: number;
}

export interface WorkerGrads {
  type: 'grads';
  grads: Float32Array[];
  /** Σ −log p over this half's response tokens. */
  lossSum: number;
  /** Σ perception cross-entropy over this half's vision tokens. */
  auxSum: number;
  ms: number;
}

/** The auxiliary perception term of a half batch (see perception.ts). */
export interface AuxHalf {
  head: PerceptionHead;
  /** This half's token labels, B_half × N × 3. */
  labels: Int32Array;
  weight: number;
  /** Vision tokens in the WHOLE batch (images × N): the term's divisor. */
  totalTokens: number;
}

/**
 * Gradients, by parameter name, of a half batch's share of the batch loss:
 * Σ(−log p over its response tokens, those `lossMask` counts) / total + weight · Σ(perception CE over its vision tokens) / auxTotal.
 * Shares of the two halves add up to the whole batch's mean losses.
 */
export function halfBatchGrads(model: PolicyModel, encoder: ImageEncoderLike, prompts: number[][], responses: number[][], images: RGBImage[], total: number, vars: [string, tf.Variable][], aux?: AuxHalf | null, lossMask?: readonly (readonly number[] | null)[]): { grads: Record<string, tf.Tensor>; lossSum: number; auxSum: number } {
  const emb = model.embedImages(encoder, images);
  try {
    const layout = packForScoring(model, prompts, responses);
    let lossSum = 0;
    let auxSum = 0;
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
      const r = scoreResponses(model, layout, model.visionTokens(emb), { withImageHidden: !!aux });
      const w = lossMaskTensor(lossMask, layout.R); // [B, R] or null
      const lm = (w ? r.logProbs.mul(w) : r.logProbs).sum().neg();
      lossSum = lm.dataSync()[0];
      let loss = lm.div(total);
      if (aux) {
        const a = aux.head.lossSum(r.imageHidden!, aux.labels);
        auxSum = a.dataSync()[0];
        loss = loss.add(a.mul(aux.weight / aux.totalTokens));
      }
      return loss as tf.Scalar;
    }), vars.map(([, v]) => v));
    value.dispose();
    const byName: Record<string, tf.Tensor> = {};
    for (const [name, v] of vars) byName[name] = grads[v.name];
    return { grads: byName, lossSum, auxSum };
  } finally {
    emb.dispose();
  }
}

/** The per-token loss weights [B, R] of a half batch's `lossMask` (null when every token counts). */
export function lossMaskTensor(lossMask: readonly (readonly number[] | null)[] | undefined, R: number): tf.Tensor2D | null {
  if (!lossMask || lossMask.every((m) => m == null)) return null;
  const w = new Float32Array(lossMask.length * R).fill(1);
  lossMask.forEach((m, b) => m?.forEach((x, r) => (w[b * R + r] = x)));
  return tf.tensor2d(w, [lossMask.length, R]);
}

/** Concatenate per-sample token labels (null when any is missing). */
export function joinLabels(labels: (Int32Array | null)[]): Int32Array | null {
  if (labels.some((l) => l == null)) return null;
  const out = new Int32Array(labels.reduce((n, l) => n + l!.length, 0));
  let o = 0;
  for (const l of labels) {
    out.set(l!, o);
    o += l!.length;
  }
  return out;
}

// Only in the thread GradWorker starts (importing this file anywhere else does nothing).
if (parentPort && (workerData as { coprsSftWorker?: boolean } | null)?.coprsSftWorker === true) {
  const port = parentPort;
  let model: PolicyModel | null = null;
  let encoder: { encoder: ImageEncoderLike; dispose: () => void } | null = null;
  let head: PerceptionHead | null = null;
  let auxWeight = 0;
  port.on('message', async (msg: WorkerInit | WorkerStep | { type: 'close' }) => {
    try {
      if (msg.type === 'init') {
        const a = await prepareBackend(msg.backend as 'wasm');
        if (!a.ok) throw new Error(`worker: backend ${msg.backend} failed: ${a.detail}`);
        await tf.setBackend(msg.backend);
        model = new PolicyModel(msg.config, Tokenizer.fromJSON(msg.tokenizer), msg.source);
        encoder = loadEncoder(msg.source);
        auxWeight = msg.auxPerception;
        if (auxWeight > 0) head = new PerceptionHead(msg.config.dim, 0);
        port.postMessage({ type: 'ready' });
      } else if (msg.type === 'step') {
        if (!model || !encoder) throw new Error('worker: step before init');
        const t0 = Date.now();
        const lookup = (n: string): tf.Variable => (model!.params.has(n) ? model!.params.get(n) : head!.params.get(n));
        const vars = msg.names.map((n) => [n, lookup(n)] as [string, tf.Variable]);
        tf.tidy(() => vars.forEach(([, v], i) => v.assign(tf.tensor(msg.weights[i], v.shape))));
        const aux = head && msg.labels ? { head, labels: msg.labels, weight: auxWeight, totalTokens: msg.auxTotal } : null;
        const { grads, lossSum, auxSum } = halfBatchGrads(model, encoder.encoder, msg.prompts, msg.responses, msg.images, msg.total, vars, aux, msg.lossMask);
        const out = msg.names.map((n) => grads[n].dataSync() as Float32Array);
        tf.dispose(Object.values(grads));
        const reply: WorkerGrads = { type: 'grads', grads: out, lossSum, auxSum, ms: Date.now() - t0 };
        port.postMessage(reply, out.map((g) => g.buffer as ArrayBuffer));
      } else if (msg.type === 'close') {
        model?.dispose();
        encoder?.dispose();
        head?.dispose();
        port.close();
      }
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
  });
}
