/**
 * The paradigm framework (DESIGN §4, issue #6): every reasoning-segmentation paradigm of the kit —
 * LISA, Seg-Zero, CoReS, RSVP, CR-Seg — is a `Paradigm`: a model built from the SAME shipped parts
 * (the stage-1 mini-SAM `data/checkpoints/sam-S`, frozen image encoder, and the stage-2 policy
 * `data/checkpoints/policy-small`), its training objective (`trainStep`), its inference
 * (`predict`), parameter counts by part, checkpoints and `dispose`. One generic trainer
 * (trainer.ts: resumable from OUT/latest, JSONL log) and one generic evaluator (eval.ts: gIoU/cIoU
 * on the frozen splits, inference time per sample) serve them all.
 *
 * ## Adding a paradigm (what the LISA and Seg-Zero folders do)
 *
 * 1. `src/paradigms/<name>/config.ts`: a training config that EXTENDS `ParadigmTrainConfig` (plain
 *    values, one comment per field) with one preset per `PresetName`, built from
 *    `paradigmPresetBase(preset, name)` so that the budget fields (steps, completions per step) are
 *    the shared ones (see "Budget" below); a `resolveConfig(preset, overrides)` that merges
 *    overrides with `mergeConfig` (unknown keys rejected) and checks invariants
 *    (`validateParadigmTrainConfig` + its own).
 * 2. `src/paradigms/<name>/model.ts`: a class that extends `ParadigmBase<YourConfig>`:
 *    - create the paradigm's own modules from `this.own.scope('…')` in the constructor (their
 *      checkpoint names start with `<ownScope>.`), and freeze what the paper freezes
 *      (`this.sam.params.setTrainable(false, 'promptEncoder')`, …); the image encoder is frozen by
 *      the base class;
 *    - `parts()`: the trainable variables per part (`policy`, `maskDecoder`, your modules…); the
 *      base class builds AdamW with one group per part (lr × `optim.lrScale[part]`, default 1),
 *      counts parameters by part, and checkpoints every variable;
 *    - `trainStep()`: one optimizer step; build the loss as a closure and call
 *      `this.update(lossFn, out)` (one forward + backward, non-finite refusal, AdamW, schedule);
 *      take data from `this.stream` (refshapes training stream; reasonshapes stays zero-shot) and
 *      sampling draws from `this.rng`; return `finishStep(...)`'s report with a TRL-style record;
 *    - `predictBatch(samples, opts)`: greedy inference → responses and mask logits [B, r, r] over
 *      the padded SAM frame; the base `predict` turns them into masks at the original image size;
 *    - optionally `extraStateTensors()` / `loadExtraState()` for state beyond weights, AdamW, RNG and
 *      stream (e.g. a frozen GRPO reference policy under `ref.*`) — tsconfig has
 *      noImplicitOverride: write `protected override …` / `override dispose()`;
 *    - prompts: `encodeInstructionPrompt(tokenizer, INSTRUCTION, query, policy.imageTokens)` with an
 *      instruction in words of the frozen vocabulary (test it with `tokenizer.unknownWords`).
 * 3. `src/paradigms/<name>/index.ts`: export a `ParadigmDefinition` (name, what the policy emits,
 *    summary, `resolveConfig`, `create(parts, config)`), and add it to `BUILTIN_PARADIGMS` in
 *    registry.ts. `coprs train paradigm --paradigm <name>` and `coprs eval-paradigm` then work.
 * 4. Tests `test/paradigm-<name>*.test.ts`: its own parts, a tiny-preset step with a tensor-leak
 *    check, save/load (see test/paradigm-framework.test.ts for the shared helpers).
 *
 * ## Budget (how the paradigms are compared fairly)
 *
 * Every paradigm's preset takes `steps` and `batchSize` from `PARADIGM_BUDGET[preset]`: the same
 * number of optimizer steps and the same number of completions per step (GRPO: prompts × G
 * rollouts; supervised: samples, one ground-truth response each) — i.e. the same number of
 * (image, query, response) forward/backward rows — on the same refshapes training stream
 * (`dataSeed`), from the same stage-1/2 checkpoints, with the same policy size. Warm-up / cold-start
 * steps a paradigm needs (Seg-Zero's format cold start, CoPRS's SEG warm-up) count INSIDE `steps`.
 * `--steps N` changes the number for a run; a comparison sweep passes one N to every paradigm.
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, Sample } from '../data/sample';
import { trainStream, type ShapeWorldStream, type StreamState } from '../data/shapeworld/splits';
import { mergeConfig } from '../config/merge';
import { PRESET_NAMES, parsePresetName, type PresetName } from '../config/preset';
import { Params } from '../nn/params';
import { postprocessLogits } from '../io/postprocess';
import { Rng, deriveSeed, type RngState } from '../util/rng';
import { AdamW, type ParamGroup } from '../train/adamw';
import { lrFactor, type Schedule } from '../train/schedule';
import { saveCheckpoint, type CheckpointMeta } from '../train/checkpoint';
import type { PolicyModel } from '../models/policy/model';
import type { Sam } from '../models/sam/sam';
import type { CoprsSources } from '../models/coprs/checkpoint';
import { disposeImageBatch, encodeImages, type ImageBatch } from '../models/coprs/images';
import type { CompletionRow } from '../train/coprs/completions';
import { BOS, IMAGE, type Tokenizer } from '../models/policy/tokenizer';

/** Checkpoint kind of every paradigm checkpoint (the paradigm's name is in `config.paradigm`). */
export const PARADIGM_KIND = 'paradigm';

/** Where the shared parts came from (the same record CoPRS keeps). */
export type ParadigmSources = CoprsSources;

/** The shared parts a paradigm is built from: the shipped mini-SAM and policy (the paradigm takes ownership). */
export interface ParadigmParts {
  policy: PolicyModel;
  sam: Sam;
  sources: ParadigmSources;
}

/**
 * The matched budget per preset (see the module comment): optimizer steps and completions
 * (forward/backward rows) per step. `small` equals CoPRS's `small` stage-3 preset (90 × 16).
 */
export const PARADIGM_BUDGET: Record<PresetName, { steps: number; batchSize: number }> = {
  tiny: { steps: 4, batchSize: 4 },
  small: { steps: 90, batchSize: 16 },
  base: { steps: 3000, batchSize: 64 },
};

/** The fields every paradigm's training config has (a paradigm's config extends it). */
export interface ParadigmTrainConfig {
  /** The paradigm's registered name. */
  paradigm: string;
  /** Preset the config started from (tiny, small, base). */
  preset: PresetName;
  /** Seed of the paradigm's own initial weights and of its sampling draws. */
  seed: number;
  /** Seed of the refshapes training stream (training scenes only; the same for every paradigm). */
  dataSeed: number;
  /** Optimizer steps (the matched budget: PARADIGM_BUDGET[preset].steps). */
  steps: number;
  /** Completions (forward/backward rows) per step (the matched budget: PARADIGM_BUDGET[preset].batchSize). */
  batchSize: number;
  /** Greedy generation cap at inference (and the default rollout cap). */
  maxTokens: number;
  optim: {
    /** Base (policy) peak learning rate. */
    lr: number;
    /** Learning-rate multipliers by part name (a part not listed gets 1). */
    lrScale: Record<string, number>;
    /** Decoupled weight decay (every parameter). */
    weightDecay: number;
    beta1: number;
    beta2: number;
    eps: number;
    /** OneCycle from the peak (pct_start 0), cosine down to peak / finalDiv (as CoPRS stage 3). */
    finalDiv: number;
    /** Global gradient-norm clip (0: off). */
    clipNorm: number;
  };
  /** A non-finite loss or gradient refuses the update (no weight changes); then 'stop' the run or 'skip' the step. */
  onNonFinite: 'stop' | 'skip';
  /** Write a log line every this many steps. */
  logEvery: number;
  /** Write OUT/latest every this many steps (and at the end). */
  checkpointEvery: number;
  /** Write a CSV table of the step's completions every this many steps (0: never). */
  completionsEvery: number;
}

/** The shared part of every paradigm preset (the budget included). */
export function paradigmPresetBase(preset: PresetName, paradigm: string): ParadigmTrainConfig {
  const b = PARADIGM_BUDGET[preset];
  return {
    paradigm, preset, seed: 0, dataSeed: 1, steps: b.steps, batchSize: b.batchSize,
    maxTokens: preset === 'tiny' ? 12 : preset === 'small' ? 200 : 320,
    optim: { lr: preset === 'base' ? 5e-5 : 1e-4, lrScale: {}, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, finalDiv: 6.7, clipNorm: 1 },
    onNonFinite: 'stop',
    logEvery: preset === 'tiny' ? 1 : preset === 'small' ? 5 : 10,
    checkpointEvery: preset === 'tiny' ? 2 : preset === 'small' ? 15 : 100,
    completionsEvery: preset === 'tiny' ? 2 : preset === 'small' ? 15 : 100,
  };
}

/** Check the shared fields; every error names the key and what to change. */
export function validateParadigmTrainConfig(c: ParadigmTrainConfig): void {
  const fail = (msg: string): never => {
    throw new Error(`${c.paradigm} train config: ${msg}`);
  };
  const posInt = (v: number, name: string, min = 1): void => {
    if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer ≥ ${min}, got ${v}`);
  };
  if (!(PRESET_NAMES as readonly string[]).includes(c.preset)) fail(`preset must be one of ${PRESET_NAMES.join(', ')}, got "${c.preset}"`);
  posInt(c.steps, 'steps');
  posInt(c.batchSize, 'batchSize (completions per step)');
  posInt(c.maxTokens, 'maxTokens');
  const o = c.optim;
  if (!(o.lr > 0)) fail(`optim.lr must be > 0, got ${o.lr}`);
  for (const [k, v] of Object.entries(o.lrScale)) if (!(typeof v === 'number' && v > 0)) fail(`optim.lrScale.${k} must be > 0, got ${v}`);
  if (!(o.weightDecay >= 0)) fail(`optim.weightDecay must be ≥ 0, got ${o.weightDecay}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) fail(`optim.beta1 and optim.beta2 must be in [0, 1), got ${o.beta1}, ${o.beta2}`);
  if (!(o.finalDiv >= 1)) fail(`optim.finalDiv must be ≥ 1, got ${o.finalDiv}`);
  if (!(o.clipNorm >= 0)) fail(`optim.clipNorm must be ≥ 0 (0: off), got ${o.clipNorm}`);
  if (c.onNonFinite !== 'stop' && c.onNonFinite !== 'skip') fail(`onNonFinite must be "stop" or "skip", got "${c.onNonFinite}"`);
  posInt(c.logEvery, 'logEvery');
  posInt(c.checkpointEvery, 'checkpointEvery');
  posInt(c.completionsEvery, 'completionsEvery', 0);
}

/**
 * A preset's config with overrides merged in (unknown keys rejected; `optim.lrScale` is a map, so
 * its keys merge by name) — the helper every paradigm's `resolveConfig` uses.
 */
export function resolveWithOverrides<C extends ParadigmTrainConfig>(presets: Record<PresetName, C>, preset: string, overrides: unknown, validate: (c: C) => void): C {
  const name = parsePresetName(preset);
  const base = structuredClone(presets[name]);
  if (overrides != null && (typeof overrides !== 'object' || Array.isArray(overrides))) throw new Error(`${base.paradigm} train config: expected an object of overrides, got ${JSON.stringify(overrides)}`);
  const o = structuredClone((overrides ?? {}) as Record<string, unknown>);
  let lrScale: Record<string, unknown> | null = null;
  const optim = o.optim as Record<string, unknown> | undefined;
  if (optim && typeof optim === 'object' && 'lrScale' in optim) {
    lrScale = optim.lrScale as Record<string, unknown>;
    delete optim.lrScale;
  }
  if ('paradigm' in o && o.paradigm !== base.paradigm) throw new Error(`${base.paradigm} train config: paradigm cannot be overridden (got "${o.paradigm}")`);
  const c = mergeConfig(base, o, `${base.paradigm}.train.${name}`);
  if (lrScale) c.optim.lrScale = { ...c.optim.lrScale, ...(lrScale as Record<string, number>) };
  validateParadigmTrainConfig(c);
  validate(c);
  return c;
}

/** One step's report (the generic trainer logs `record` as one JSONL line). */
export interface ParadigmStepReport {
  step: number;
  /** True when the update was refused (non-finite) and `onNonFinite` is 'skip'. */
  skipped: boolean;
  reason?: string;
  /** The total loss of the step. */
  loss: number;
  /** Mean total reward of the step's completions (null for a supervised step). */
  reward: number | null;
  gradNorm: number;
  lr: number;
  ms: number;
  /** The JSONL record: TRL names (`loss`, `reward`, `reward_std`, `rewards/<name>/mean|std`, `completions/*`, `kl`, `grad_norm`, `learning_rate`, `step_time`) plus the paradigm's terms (`loss/<term>`). */
  record: Record<string, unknown>;
  /** One row per completion: query, completion, rewards, advantage (for the CSV table). */
  completions: CompletionRow[];
}

/** One sample's prediction at the ORIGINAL image size. */
export interface ParadigmPrediction {
  id: string;
  /** The policy's response text (control tokens dropped). */
  response: string;
  /** Mask logits [H·W] row-major at the original size (low-res logits un-padded and bilinearly resized, as SAM's postprocess). */
  maskLogits: Float32Array;
  /** The binary mask (logit ≥ 0). */
  mask: BinaryMask;
  /** Wall time of this sample's share of its batch, ms (batch time / batch size). */
  ms: number;
  /** Paradigm-specific values (parsed box and points, [SEG] found, …), plain JSON. */
  extra?: Record<string, unknown>;
}

/** What `predictBatch` returns: responses and mask logits over the padded SAM frame. */
export interface BatchPrediction {
  responses: string[];
  /** Low-resolution mask logits [B, r, r] over the S×S padded frame (the caller disposes). */
  masks: tf.Tensor3D;
  /** What preprocessing did to each image (to undo the padding). */
  infos: ImageBatch['infos'];
  /** Per-sample plain extras. */
  extras?: Record<string, unknown>[];
}

export interface PredictOptions {
  /** Samples per forward batch (default 16). */
  batchSize?: number;
  /** Greedy generation cap (default: the config's maxTokens). */
  maxTokens?: number;
}

/** The paradigm interface (see the module comment). */
export interface Paradigm<C extends ParadigmTrainConfig = ParadigmTrainConfig> {
  /** Registered name ('lisa', 'seg-zero', …). */
  readonly name: string;
  /** What the policy emits, in a line ("… [SEG]", "<think>…</think><answer>{json}</answer>"). */
  readonly emits: string;
  readonly config: C;
  readonly policy: PolicyModel;
  readonly sam: Sam;
  readonly sources: ParadigmSources;
  /** Optimizer steps taken. */
  step: number;
  /** Training wall time over all runs, ms. */
  elapsedMs: number;
  /** One optimizer step on the next training batch. */
  trainStep(): ParadigmStepReport;
  /** Greedy inference: per sample, the response and the mask at the original size. */
  predict(samples: Sample[], opts?: PredictOptions): Promise<ParadigmPrediction[]>;
  /** Parameter counts by trainable part, plus the frozen parts and the total. */
  parameterCounts(): Record<string, number>;
  /** Save a checkpoint folder: weights (and, with `withState`, AdamW, RNG, stream and extra state for resuming). */
  save(dir: string, opts?: { withState?: boolean; best?: CheckpointMeta['best'] }): Promise<CheckpointMeta>;
  /** Restore weights (and state when present) from loaded checkpoint tensors. */
  loadState(meta: CheckpointMeta, tensors: Map<string, tf.Tensor>): void;
  dispose(): void;
}

/** A paradigm as the registry knows it. */
export interface ParadigmDefinition<C extends ParadigmTrainConfig = ParadigmTrainConfig> {
  name: string;
  /** What the policy emits (DESIGN §4's table). */
  emits: string;
  /** One line: how the emission becomes a mask, and how it trains. */
  summary: string;
  /** A preset with overrides merged in and checked. */
  resolveConfig(preset: string, overrides?: unknown): C;
  /** Build the paradigm from the shared parts (it takes ownership of them). */
  create(parts: ParadigmParts, config: C): Paradigm<C>;
}

/** What a paradigm checkpoint's `config` holds. */
export interface ParadigmCheckpointConfig {
  paradigm: string;
  train: ParadigmTrainConfig;
  policy: PolicyModel['config'];
  sam: NonNullable<Sam['config']>;
  tokenizer: ReturnType<PolicyModel['tokenizer']['toJSON']>;
  sources: ParadigmSources;
}

/** A non-finite loss or gradient with `onNonFinite: 'stop'`. */
export class ParadigmNonFiniteError extends Error {}

const countVars = (xs: [string, tf.Variable][]) => xs.reduce((n, [, v]) => n + v.size, 0);

/**
 * The shared machinery of a paradigm (see "Adding a paradigm"): the parts, the paradigm's own
 * parameter store, AdamW with one group per part and the OneCycle schedule, the training stream and
 * sampling RNG, the update with non-finite refusal, batch prediction at the original size,
 * parameter counts, checkpoints.
 */
export abstract class ParadigmBase<C extends ParadigmTrainConfig> implements Paradigm<C> {
  abstract readonly name: string;
  abstract readonly emits: string;
  readonly policy: PolicyModel;
  readonly sam: Sam;
  readonly sources: ParadigmSources;
  /** The paradigm's own parameters; create modules from `own.scope('…')` (checkpoint names `<ownScope>.…`). */
  readonly own: Params;
  readonly stream: ShapeWorldStream;
  /** Sampling draws (rollouts); stored in checkpoints. */
  readonly rng: Rng;
  readonly schedule: Schedule;
  step = 0;
  best: CheckpointMeta['best'] = null;
  elapsedMs = 0;
  private opt: AdamW | null = null;
  private readonly nameOf = new Map<string, string>();

  constructor(parts: ParadigmParts, readonly config: C, ownScope: string) {
    const { policy, sam } = parts;
    if (policy.encoder.embedDim !== sam.embedDim || policy.encoder.gridSize !== sam.embedSize) {
      throw new Error(`${config.paradigm}: the policy reads ${policy.encoder.gridSize}×${policy.encoder.gridSize}×${policy.encoder.embedDim} image embeddings, the mini-SAM gives ${sam.embedSize}×${sam.embedSize}×${sam.embedDim}; they must share one frozen encoder`);
    }
    if (/^(policy|sam|ref|adamw)$/.test(ownScope)) throw new Error(`paradigm own scope "${ownScope}" collides with a reserved checkpoint prefix`);
    this.policy = policy;
    this.sam = sam;
    this.sources = parts.sources;
    sam.params.setTrainable(false, 'imageEncoder'); // the frozen encoder, shared by every paradigm
    this.own = Params.create(deriveSeed(config.seed, config.paradigm)).scope(ownScope);
    this.stream = trainStream('refshapes', { seed: config.dataSeed });
    this.rng = new Rng(deriveSeed(config.seed, `${config.paradigm}-rollouts`));
    this.schedule = { kind: 'onecycle', total: config.steps, finalDiv: config.optim.finalDiv };
  }

  /** The trainable variables per part, by checkpoint name (one AdamW group per part). */
  abstract parts(): Record<string, [string, tf.Variable][]>;
  /** One optimizer step (see the module comment). */
  abstract trainStep(): ParadigmStepReport;
  /** Greedy inference on a batch (see `BatchPrediction`). */
  protected abstract predictBatch(samples: Sample[], opts: { maxTokens: number }): BatchPrediction;

  /** Every variable by checkpoint name: `policy.*`, `sam.*`, then the paradigm's own. */
  namedParams(): [string, tf.Variable][] {
    return [
      ...this.policy.params.entries().map(([n, v]) => [`policy.${n}`, v] as [string, tf.Variable]),
      ...this.sam.params.entries().map(([n, v]) => [`sam.${n}`, v] as [string, tf.Variable]),
      ...this.own.entries(),
    ];
  }

  /** Trainable policy variables (helper for `parts`). */
  protected policyPart(): [string, tf.Variable][] {
    return this.policy.params.entries().filter(([, v]) => v.trainable).map(([n, v]) => [`policy.${n}`, v] as [string, tf.Variable]);
  }

  /** Trainable mini-SAM variables under a submodule (helper for `parts`). */
  protected samPart(sub: 'promptEncoder' | 'maskDecoder'): [string, tf.Variable][] {
    return this.sam.params.entries(sub).filter(([, v]) => v.trainable).map(([n, v]) => [`sam.${n}`, v] as [string, tf.Variable]);
  }

  /** Trainable own variables under a scope (helper for `parts`). */
  protected ownPart(scope: string): [string, tf.Variable][] {
    return this.own.entries(`${this.own.prefix}.${scope}`).filter(([, v]) => v.trainable);
  }

  /** AdamW with one group per part (built on first use, after the subclass made its modules). */
  get optimizer(): AdamW {
    if (!this.opt) {
      const o = this.config.optim;
      const groups: ParamGroup[] = Object.entries(this.parts()).filter(([, vars]) => vars.length > 0).map(([name, vars]) => ({ name, vars, lrScale: o.lrScale[name] ?? 1, weightDecay: o.weightDecay }));
      for (const g of groups) for (const [n, v] of g.vars) this.nameOf.set(v.name, n);
      this.opt = new AdamW(groups, { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clipNorm: o.clipNorm });
    }
    return this.opt;
  }

  /** The base learning rate at the current step. */
  lr(): number {
    return this.config.optim.lr * lrFactor(this.schedule, this.step);
  }

  /** Encode images once with the frozen encoder (E, the policy's input, the valid region); dispose with `disposeImageBatch`. */
  encode(images: Sample['image'][]): ImageBatch {
    return encodeImages(this.sam, images, this.policy.config.vision.pixelPool);
  }

  /**
   * One forward + backward pass of `lossFn` over every trainable variable and one AdamW update at
   * the scheduled rate. A non-finite loss or gradient refuses the update (no weight changes) and
   * returns the reason; the caller passes it to `finishStep`.
   */
  protected update(lossFn: () => tf.Scalar): { loss: number; gradNorm: number; refused: string | null } {
    const opt = this.optimizer;
    const vars = opt.groups.flatMap((g) => g.vars.map(([, v]) => v));
    const { value, grads } = tf.variableGrads(lossFn, vars);
    try {
      const loss = value.dataSync()[0];
      if (!Number.isFinite(loss)) return { loss, gradNorm: NaN, refused: `non-finite loss ${loss}` };
      const byName: Record<string, tf.Tensor> = {};
      for (const [vn, g] of Object.entries(grads)) if (g) byName[this.nameOf.get(vn)!] = g;
      try {
        return { loss, gradNorm: opt.apply(byName, this.lr()).gradNorm, refused: null };
      } catch (e) {
        if (!/non-finite gradient/.test((e as Error).message)) throw e;
        return { loss, gradNorm: NaN, refused: (e as Error).message.replace(/^AdamW: /, '') };
      }
    } finally {
      tf.dispose([value, ...Object.values(grads).filter((g): g is tf.Tensor => g != null)]);
    }
  }

  /**
   * Close a step: advance the step counter and the time, and build the report (a refused update
   * becomes a skipped step, or `ParadigmNonFiniteError` with `onNonFinite: 'stop'`).
   */
  /** The generation cap for these prompts: `maxTokens`, or what maxSeqLen leaves after the longest prompt. */
  protected generationCap(prompts: readonly (readonly number[])[], maxTokens: number): number {
    return Math.min(maxTokens, this.policy.config.maxSeqLen - Math.max(...prompts.map((p) => p.length)));
  }

  protected finishStep(t0: number, lr: number, u: { loss: number; gradNorm: number; refused: string | null }, record: Record<string, unknown>, reward: number | null, completions: CompletionRow[]): ParadigmStepReport {
    const stepNo = this.step + 1;
    this.step = stepNo;
    const ms = Date.now() - t0;
    this.elapsedMs += ms;
    if (u.refused) {
      const msg = `step ${stepNo}: ${u.refused}; the update was refused and no weights were changed`;
      if (this.config.onNonFinite === 'stop') {
        this.step = stepNo - 1;
        throw new ParadigmNonFiniteError(`${msg}. The run stops (onNonFinite=stop); lower optim.lr, or pass --set onNonFinite=skip`);
      }
      return { step: stepNo, skipped: true, reason: msg, loss: NaN, reward: null, gradNorm: NaN, lr, ms, record: { step: stepNo, skipped: true, reason: msg, learning_rate: lr, step_time: ms / 1000 }, completions: [] };
    }
    const full = { step: stepNo, loss: u.loss, ...record, grad_norm: u.gradNorm, learning_rate: lr, step_time: ms / 1000 };
    return { step: stepNo, skipped: false, loss: u.loss, reward, gradNorm: u.gradNorm, lr, ms, record: full, completions };
  }

  /** Greedy inference; masks at the original image size (SAM's postprocess, threshold at logit 0). */
  async predict(samples: Sample[], opts: PredictOptions = {}): Promise<ParadigmPrediction[]> {
    const bs = opts.batchSize ?? 16;
    if (!Number.isInteger(bs) || bs < 1) throw new Error(`${this.name}.predict: batchSize must be a positive integer, got ${bs}`);
    const maxTokens = opts.maxTokens ?? this.config.maxTokens;
    const out: ParadigmPrediction[] = [];
    for (let s0 = 0; s0 < samples.length; s0 += bs) {
      const batch = samples.slice(s0, s0 + bs);
      const t0 = performance.now();
      const p = this.predictBatch(batch, { maxTokens });
      const logits: Float32Array[] = [];
      try {
        const r = p.masks.shape[1];
        for (let i = 0; i < batch.length; i++) {
          const full = tf.tidy(() => postprocessLogits(p.masks.slice([i, 0, 0], [1, r, r]).reshape([r, r]) as tf.Tensor2D, p.infos[i])); // origH x origW
          logits.push((await full.data()) as Float32Array);
          full.dispose();
        }
      } finally {
        p.masks.dispose();
      }
      const ms = (performance.now() - t0) / batch.length;
      batch.forEach((s, i) => {
        const info = p.infos[i];
        const data = new Uint8Array(logits[i].length);
        for (let k = 0; k < data.length; k++) data[k] = logits[i][k] >= 0 ? 1 : 0;
        out.push({ id: s.id, response: p.responses[i], maskLogits: logits[i], mask: { width: info.origW, height: info.origH, data }, ms, ...(p.extras ? { extra: p.extras[i] } : {}) });
      });
      await new Promise((res) => setImmediate(res));
    }
    return out;
  }

  /** Parameter counts: each trainable part, the frozen rest of the mini-SAM and of the policy, the total. */
  parameterCounts(): Record<string, number> {
    const parts = Object.fromEntries(Object.entries(this.parts()).map(([p, vars]) => [p, countVars(vars)]));
    const trained = new Set(Object.values(this.parts()).flatMap((vs) => vs.map(([n]) => n)));
    const frozen = this.namedParams().filter(([n]) => !trained.has(n));
    return {
      ...parts,
      imageEncoder: this.sam.params.count('imageEncoder'),
      frozen: countVars(frozen),
      trainable: countVars(this.namedParams()) - countVars(frozen),
      total: countVars(this.namedParams()),
    };
  }

  /** Extra tensors for OUT/latest (e.g. `ref.*` of a GRPO reference policy). */
  protected extraStateTensors(): [string, tf.Tensor][] {
    return [];
  }

  /** Restore what `extraStateTensors` saved. */
  protected loadExtraState(_tensors: Map<string, tf.Tensor>): void {
    // nothing by default
  }

  /** The checkpoint `config`. */
  checkpointConfig(): ParadigmCheckpointConfig {
    if (!this.sam.config) throw new Error(`${this.name} checkpoint: the mini-SAM has no build config (build it with buildSamFromConfig / loadSamCheckpoint)`);
    return { paradigm: this.name, train: this.config, policy: this.policy.config, sam: this.sam.config, tokenizer: this.policy.tokenizer.toJSON(), sources: this.sources };
  }

  async save(dir: string, opts: { withState?: boolean; best?: CheckpointMeta['best'] } = {}): Promise<CheckpointMeta> {
    const extra: Record<string, unknown> = { paradigm: this.name, stream: this.stream.getState(), elapsedMs: this.elapsedMs, parameters: this.parameterCounts() };
    const tensors: [string, tf.Tensor][] = [...this.namedParams()];
    if (opts.withState) {
      const s = this.optimizer.stateTensors();
      extra.optimizerStep = s.step;
      tensors.push(...this.extraStateTensors(), ...s.tensors);
    }
    return saveCheckpoint(dir, {
      kind: PARADIGM_KIND, size: this.config.preset, config: this.checkpointConfig(), step: this.step,
      best: opts.best ?? this.best, rng: { rollouts: this.rng.getState() }, extra, tensors,
    });
  }

  loadState(meta: CheckpointMeta, tensors: Map<string, tf.Tensor>): void {
    const missing: string[] = [];
    for (const [name, v] of this.namedParams()) {
      const t = tensors.get(name);
      if (!t) {
        missing.push(name);
        continue;
      }
      if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`checkpoint tensor "${name}" has shape [${t.shape}], the ${this.name} model's has [${v.shape}] (a checkpoint of another size?)`);
      v.assign(t);
    }
    if (missing.length > 0) throw new Error(`checkpoint lacks ${missing.length} parameters of the ${this.name} model, e.g. ${missing.slice(0, 3).join(', ')}`);
    this.step = meta.step;
    this.best = meta.best;
    this.elapsedMs = Number(meta.extra.elapsedMs ?? 0);
    if (meta.rng.rollouts) this.rng.setState(meta.rng.rollouts as RngState);
    if (meta.extra.stream) this.stream.setState(meta.extra.stream as StreamState);
    if (meta.extra.optimizerStep != null) {
      this.optimizer.loadState(meta.extra.optimizerStep as number, tensors);
      this.loadExtraState(tensors);
    }
  }

  dispose(): void {
    this.opt?.dispose();
    this.opt = null;
    this.own.dispose();
    this.policy.dispose();
    this.sam.dispose();
  }
}

/** Run `fn` with an encoded image batch, disposing it afterwards. */
export function withImages<T>(p: { encode(images: Sample['image'][]): ImageBatch }, samples: Sample[], fn: (b: ImageBatch) => T): T {
  const b = p.encode(samples.map((s) => s.image));
  try {
    return fn(b);
  } finally {
    disposeImageBatch(b);
  }
}

/** Mean and unbiased std (TRL's logging convention). */
/** TRL's completion-length columns of a step record. */
export function completionLengthStats(lens: readonly number[]): Record<string, number> {
  return { 'completions/mean_length': meanStd(lens).mean, 'completions/min_length': Math.min(...lens), 'completions/max_length': Math.max(...lens) };
}

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, std };
}

/**
 * Prompt ids of a paradigm's own instruction (the layout of `encodePrompt` in
 * src/models/policy/prompt.ts: `<bos>`, `imageTokens` × `<image>`, the instruction, then
 * "Query: …"). The policy's vocabulary is frozen: write instructions with words it knows
 * (`tokenizer.unknownWords(text)` lists the others, which would become `<unk>`).
 */
export function encodeInstructionPrompt(tok: Tokenizer, instruction: string, query: string, imageTokens: number): number[] {
  if (typeof query !== 'string' || query.trim() === '') throw new Error(`prompt: the query is empty (got ${JSON.stringify(query)}); a prompt needs a non-empty query`);
  const ids = tok.encode(`${instruction} Query: ${query.trim()}`);
  if (ids.includes(IMAGE)) throw new Error('prompt: the instruction and the query must not contain an <image> token');
  return [BOS, ...new Array<number>(imageTokens).fill(IMAGE), ...ids];
}
