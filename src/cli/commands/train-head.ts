/**
 * `coprs train head --ckpt DIR --out DIR [--steps N] [--samples M] [--batch B] [--seed S] [--json]`:
 * head pre-training on cached e_conc (src/train/coprs/head-pretrain.ts, a departure for the kit's
 * step budget): the checkpoint's policy is frozen, its e_conc on M training-stream samples'
 * ground-truth chains is computed once, and the heatmap head, prompt encoder and mask decoder are
 * trained on the SEG loss for N steps of B rows. OUT is a coprs checkpoint (same config, the head
 * pre-training recorded in `extra.headPretrain`), ready for `coprs eval` or further training.
 */
import { selectBackend } from '../../backend/select';
import { trainStream } from '../../data/shapeworld/index';
import { loadCoprs, saveCoprs } from '../../models/coprs/checkpoint';
import { resolveCoprsTrainConfig, type CoprsTrainConfig } from '../../train/coprs/config';
import { cacheHeadInputs, disposeHeadCache, pretrainHead } from '../../train/coprs/head-pretrain';
import { FlagSpec, Flags, UsageError } from '../args';

export const TRAIN_HEAD_FLAGS: Record<string, FlagSpec> = {
  ckpt: { type: 'string', help: 'a coprs checkpoint folder (its policy gives e_conc; its head, prompt encoder and decoder are trained further) (required)' },
  out: { type: 'string', help: 'output folder: a coprs checkpoint (required)' },
  steps: { type: 'number', help: 'head steps', default: 1000 },
  samples: { type: 'number', help: 'training-stream samples cached (refshapes train scenes)', default: 960 },
  batch: { type: 'number', help: 'rows per step', default: 32 },
  seed: { type: 'number', help: 'seed of the stream (offset from the checkpoint\'s dataSeed) and of the row sampling', default: 0 },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
  backend: { type: 'string', help: 'auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
};

export async function trainHeadCommand(flags: Flags): Promise<Record<string, unknown>> {
  if (typeof flags.ckpt !== 'string') throw new UsageError('--ckpt DIR (a coprs checkpoint) is required');
  if (typeof flags.out !== 'string') throw new UsageError('--out DIR is required: where the coprs checkpoint goes');
  const steps = Number(flags.steps);
  const samplesN = Number(flags.samples);
  const batch = Number(flags.batch);
  for (const [k, v] of [['steps', steps], ['samples', samplesN], ['batch', batch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${k} must be a positive integer, got ${v}`);
  }
  const backend = await selectBackend({ backend: flags.backend as string | undefined });
  const say = flags.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
  say(`[coprs] backend: ${backend.name}`);
  const { model, meta, config } = loadCoprs(flags.ckpt);
  try {
    const saved = (config.train ?? {}) as Partial<CoprsTrainConfig>;
    const { preset, ...rest } = saved as CoprsTrainConfig;
    const cfg = resolveCoprsTrainConfig(preset ?? 'small', rest);
    const seed = Number(flags.seed);
    // a stream seed the stage-3 run did not read (its dataSeed) and held-out never reads (heldout.seed)
    const streamSeed = cfg.dataSeed + 5000 + seed;
    const t0 = Date.now();
    const cache = cacheHeadInputs(model, trainStream('refshapes', { seed: streamSeed }).take(samplesN));
    const cacheSeconds = (Date.now() - t0) / 1000;
    say(`[coprs] cached e_conc, embeddings and targets of ${samplesN} training-scene samples (stream seed ${streamSeed}) in ${cacheSeconds.toFixed(0)} s`);
    let result: { loss: number; steps: number };
    try {
      result = pretrainHead(model, cache, cfg, {
        steps, batchSize: batch, lr: cfg.optim.lr * cfg.optim.lrScale.heatmapHead, seed,
        every: Math.max(1, Math.round(steps / 10)),
        onLog: (s, p) => say(`[coprs] head step ${s}/${steps} loss ${p.loss.toFixed(4)} bce ${p.bce.toFixed(4)} dice ${p.dice.toFixed(3)} focal ${p.focal.toFixed(3)}`),
      });
    } finally {
      disposeHeadCache(cache);
    }
    const seconds = (Date.now() - t0) / 1000;
    const info = { from: flags.ckpt, fromStep: meta.step, steps, samples: samplesN, batch, streamSeed, finalLoss: result.loss, seconds };
    await saveCoprs(flags.out, model, config.sources, { size: meta.size ?? cfg.preset, step: meta.step, train: config.train, extra: { headPretrain: info } });
    say(`[coprs] head pre-training: ${steps} steps in ${seconds.toFixed(0)} s, final loss ${result.loss.toFixed(4)} -> ${flags.out}`);
    return { out: flags.out, ...info };
  } finally {
    model.dispose();
  }
}
