/**
 * The main-thread side of 2-core data parallelism for stage 2 (see grad-worker.ts): one worker
 * thread running the policy on its own wasm instance. `SftTrainer` with `workers: 2` sends it half
 * of each batch with the current weights and adds its gradients to its own half's.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { RGBImage } from '../../data/sample';
import type { PolicyConfig } from '../../models/policy/config';
import type { EncoderSource } from '../../models/policy/checkpoint';
import type { TokenizerJSON } from '../../models/policy/tokenizer';
import type { WorkerGrads, WorkerInit, WorkerStep } from './grad-worker';

type Reply = { type: 'ready' } | WorkerGrads | { type: 'error'; message: string };

export class GradWorker {
  private readonly worker: Worker;
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;

  private constructor() {
    const file = path.join(__dirname, 'grad-worker.ts');
    // tsx compiles the worker's TypeScript as it does the main thread's (bin/coprs.js, node --import tsx).
    this.worker = new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(file)});`, { eval: true, workerData: { coprsSftWorker: true } });
    this.worker.on('message', (m: Reply) => {
      const p = this.pending;
      this.pending = null;
      this.worker.unref(); // an idle worker does not keep the process alive
      if (!p) return;
      if (m.type === 'error') p.reject(new Error(`sft worker: ${m.message}`));
      else p.resolve(m);
    });
    this.worker.on('error', (e) => {
      this.failed = e;
      this.pending?.reject(e);
      this.pending = null;
    });
    this.worker.unref();
  }

  /** Start a worker holding a policy of `config` and the encoder of `source`. */
  static async start(config: PolicyConfig, tokenizer: TokenizerJSON, source: EncoderSource, backend: string, auxPerception = 0): Promise<GradWorker> {
    const w = new GradWorker();
    const init: WorkerInit = { type: 'init', config, tokenizer, source, backend, auxPerception };
    const r = await w.request(init);
    if (r.type !== 'ready') throw new Error(`sft worker: unexpected reply ${r.type} to init`);
    return w;
  }

  private request(msg: WorkerInit | WorkerStep, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending) return Promise.reject(new Error('sft worker: a request is already running'));
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Gradients of the worker's half (see `halfBatchGrads`); `weights` are transferred. */
  async step(names: string[], weights: Float32Array[], half: { prompts: number[][]; responses: number[][]; images: RGBImage[]; labels: Int32Array | null; lossMask: (number[] | null)[] }, total: number, auxTotal: number): Promise<WorkerGrads> {
    const msg: WorkerStep = { type: 'step', names, weights, prompts: half.prompts, responses: half.responses, images: half.images, total, labels: half.labels, auxTotal, lossMask: half.lossMask };
    const r = await this.request(msg, weights.map((w) => w.buffer as ArrayBuffer));
    if (r.type !== 'grads') throw new Error(`sft worker: unexpected reply ${r.type} to step`);
    return r;
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' });
    await this.worker.terminate();
  }
}
