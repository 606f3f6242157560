/**
 * `coprs check-backend [--backend B] [--against cpu] [--preset tiny] [--seed N] [--mode M] [--json]`:
 * numerical agreement of one stage-3 training step on two backends with the same seed.
 *
 * Both sides build the same CoPRS model (random weights from the seed; the target's weights are then
 * copied from the reference's, so they are bit-identical), take the same training prompts, and
 * compute one update's L_GRPO + λ_SEG·L_SEG and its gradient w.r.t. every trained parameter — no
 * optimizer step, nothing written. The rollouts are sampled ONCE, on the reference backend, and both
 * sides score those same token ids (sampling is discrete: a last-bit difference in a logit may pick
 * another token, which would compare two different losses); in each group half of them are replaced
 * by the ground-truth chain of thought, so that <REF_POS> is found and advantages are non-zero and
 * every part's gradient is exercised (see mixWithGroundTruth). The target also samples its own
 * rollouts from the same RNG state, and the report says whether they came out identical.
 *
 * Reported: the loss relative error |L_b − L_ref| / |L_ref| (the issue's bar: ≤ 1e-3), the parts
 * (GRPO, SEG), the reward and advantage differences, and gradient relative errors
 * max|g_b − g_ref| / max|g_ref| per part and for a few named tensors. `ok` is false (exit 1) when
 * the loss error exceeds --tol or a part's gradient error exceeds --grad-tol.
 */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, prepareBackend, selectBackend, type BackendName } from '../../backend/select';
import { buildSam } from '../../models/sam/build-sam';
import { PolicyModel } from '../../models/policy/model';
import { CoprsModel, COPRS_PARTS, type CoprsPart } from '../../models/coprs/model';
import { frozenCopy } from '../../models/coprs/reference';
import { disposeImageBatch, softTargets } from '../../models/coprs/images';
import { disposeLogProbs } from '../../models/policy/logprobs';
import type { GenerateResult } from '../../models/policy/generate';
import { encodeResponse, responseText } from '../../models/policy/prompt';
import type { Sample } from '../../data/sample';
import { trainStream } from '../../data/shapeworld/splits';
import { resolveCoprsTrainConfig, COPRS_MODES, type CoprsTrainConfig } from '../../train/coprs/config';
import { collectRollouts, disposeRollouts, type RolloutBatch } from '../../train/coprs/rollout';
import { stageThreeObjective, type BatchState, type ObjectiveParts } from '../../train/coprs/objective';
import { trainedParts } from '../../train/coprs/optimizer';
import { Rng, deriveSeed } from '../../util/rng';
import { FlagSpec, Flags, UsageError } from '../args';

export const CHECK_BACKEND_FLAGS: Record<string, FlagSpec> = {
  backend: { type: 'string', help: 'the backend to check: auto | tensorflow | webgpu | wasm | cpu (default: COPRS_BACKEND, else auto)' },
  against: { type: 'string', help: 'the reference backend (default cpu)', default: 'cpu' },
  preset: { type: 'string', help: 'stage-3 preset of the step: tiny (default) | small | base', default: 'tiny' },
  seed: { type: 'number', help: 'seed of the weights and of the rollout RNG (default 1)', default: 1 },
  mode: { type: 'string', help: `${COPRS_MODES.join(' | ')} (default combined)`, default: 'combined' },
  tol: { type: 'number', help: 'largest loss relative error that passes (default 1e-3)', default: 1e-3 },
  'grad-tol': { type: 'number', help: 'largest per-part gradient relative error that passes (default 1e-2)', default: 1e-2 },
  json: { type: 'boolean', help: 'print one JSON object as the last line' },
};

/** max|a − b| / max|b| (the backend tests' relative error). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale + 1e-30);
}

interface SideResult {
  backend: string;
  parts: ObjectiveParts;
  rewards: number[];
  advantages: number[];
  /** Gradient of every trained parameter, by checkpoint name. */
  grads: Map<string, Float32Array>;
  ms: number;
}

function buildModel(cfg: CoprsTrainConfig, seed: number): CoprsModel {
  const sam = buildSam('S', { seed });
  const policy = PolicyModel.create(cfg.preset, { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed });
  return new CoprsModel(policy, sam, cfg.model);
}

/** A rollout batch for given responses (what collectRollouts builds around its own sampling). */
function batchFor(model: CoprsModel, ref: PolicyModel | null, samples: Sample[], cfg: CoprsTrainConfig, generation: GenerateResult): RolloutBatch {
  const prompts = model.prompts(samples.map((s) => s.query));
  const images = model.encode(samples.map((s) => s.image));
  const targets = softTargets(samples.map((s) => s.mask), model.sam.imageSize, model.maskSize);
  let refLogp: tf.Tensor2D | null = null;
  if (ref && cfg.mode !== 'seg' && cfg.grpo.beta > 0) {
    const lp = model.score(prompts, generation.ids, images, cfg.grpo.G, { temperature: cfg.rollout.temperature, policy: ref });
    refLogp = lp.logProbs;
    disposeLogProbs({ ...lp, logProbs: null as unknown as tf.Tensor2D });
  }
  return {
    samples, prompts, images, targets, targetValues: targets.dataSync() as Float32Array, validValues: Uint8Array.from(images.valid.dataSync()),
    G: cfg.grpo.G, generation, refLogp, generateMs: 0, refMs: 0,
  };
}

/** One update's loss parts and gradients on the current backend, on the given responses. */
function objectiveOn(model: CoprsModel, ref: PolicyModel | null, samples: Sample[], cfg: CoprsTrainConfig, generation: GenerateResult): Omit<SideResult, 'backend' | 'ms'> {
  const parts = new Set<CoprsPart>(trainedParts(cfg.mode));
  const named = COPRS_PARTS.filter((p) => parts.has(p)).flatMap((p) => model.partParams(p));
  const nameOf = new Map(named.map(([n, v]) => [v.name, n]));
  const batch = batchFor(model, ref, samples, cfg, generation);
  const state: BatchState = {};
  const out: { value?: ObjectiveParts } = {};
  try {
    const { value, grads } = tf.variableGrads(stageThreeObjective(model, batch, cfg, 0, state, out), named.map(([, v]) => v));
    const byName = new Map<string, Float32Array>();
    for (const [vn, g] of Object.entries(grads)) byName.set(nameOf.get(vn)!, g.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    return { parts: out.value!, rewards: [...state.rewards!.total], advantages: [...state.stats!.advantages], grads: byName };
  } finally {
    state.oldLogp?.dispose();
    disposeRollouts(batch);
  }
}

/**
 * The responses both sides score: in each group of G, the first ⌈G/2⌉ are the sample's ground-truth
 * chain of thought (they end in <REF_POS>, so the SEG gradient reaches the policy through e_conc, and
 * they score differently from the sampled ones, so advantages are non-zero); the rest are the
 * sampled rollouts. A random policy alone rarely emits <REF_POS>, which would leave the policy's
 * gradient at zero on both sides and test nothing.
 */
function mixWithGroundTruth(model: CoprsModel, samples: Sample[], sampled: GenerateResult, G: number): GenerateResult {
  const ids: number[][] = [];
  const text: string[] = [];
  const lengths: number[] = [];
  const finished: boolean[] = [];
  const half = Math.ceil(G / 2);
  sampled.ids.forEach((row, i) => {
    const s = samples[Math.floor(i / G)];
    if (i % G < half && s.cot?.text) {
      const gt = encodeResponse(model.policy.tokenizer, s.cot.text);
      ids.push(gt);
      text.push(responseText(s.cot.text));
      lengths.push(gt.length);
      finished.push(true);
    } else {
      ids.push(row);
      text.push(sampled.text[i]);
      lengths.push(sampled.lengths[i]);
      finished.push(sampled.finished[i]);
    }
  });
  return { ids, text, lengths, finished, promptIndex: sampled.promptIndex, tokens: lengths.reduce((a, b) => a + b, 0) };
}

function sameIds(a: number[][], b: number[][]): boolean {
  return a.length === b.length && a.every((r, i) => r.length === b[i].length && r.every((t, j) => t === b[i][j]));
}

export async function checkBackendCommand(flags: Flags): Promise<Record<string, unknown>> {
  const against = String(flags.against ?? 'cpu').toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(against)) throw new UsageError(`--against "${against}": expected one of ${BACKEND_NAMES.join(', ')}`);
  if (!(COPRS_MODES as readonly string[]).includes(String(flags.mode))) throw new UsageError(`--mode "${flags.mode}": expected one of ${COPRS_MODES.join(', ')}`);
  const seed = Number(flags.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed expects an integer, got ${flags.seed}`);
  let cfg: CoprsTrainConfig;
  try {
    cfg = resolveCoprsTrainConfig(String(flags.preset), { mode: flags.mode, seed, heldout: { samples: 0 }, warmup: { steps: 0 } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const chosen = await selectBackend({ backend: flags.backend as string | undefined });
  const target = chosen.name;
  const refAttempt = await prepareBackend(against as BackendName);
  if (!refAttempt.ok) throw new Error(`the reference backend ${against} cannot start: ${refAttempt.detail}`);
  const log = (l: string) => console.error(`[check-backend] ${l}`);
  if (target === against) log(`warning: checking ${target} against itself`);
  const samples = trainStream('refshapes', { seed: cfg.dataSeed }).take(cfg.batchSize / cfg.grpo.G);
  const rolloutSeed = deriveSeed(cfg.seed, 'coprs-rollouts');

  // Reference: build, sample the rollouts once, score them.
  await tf.setBackend(against);
  const t0 = Date.now();
  const refModel = buildModel(cfg, seed);
  const refPolicy = cfg.mode !== 'seg' && cfg.grpo.beta > 0 ? frozenCopy(refModel.policy) : null;
  let generation: GenerateResult;
  let sampledIds: number[][];
  let refSide: SideResult;
  const weights = new Map<string, Float32Array>();
  try {
    for (const [n, v] of refModel.namedParams()) weights.set(n, v.dataSync().slice() as Float32Array);
    const sampled = collectRollouts(refModel, refPolicy, samples, cfg, new Rng(rolloutSeed));
    sampledIds = sampled.generation.ids;
    generation = mixWithGroundTruth(refModel, samples, sampled.generation, cfg.grpo.G);
    disposeRollouts(sampled);
    refSide = { backend: against, ...objectiveOn(refModel, refPolicy, samples, cfg, generation), ms: Date.now() - t0 };
  } finally {
    refPolicy?.dispose();
    refModel.dispose();
  }
  log(`${against}: loss ${refSide.parts.loss} (${generation.ids.length} rollouts, ${generation.tokens} tokens, ${refSide.ms} ms)`);

  // Target: the same weights, its own sampling (compared), then the reference's rollouts scored.
  await tf.setBackend(target);
  const t1 = Date.now();
  const model = buildModel(cfg, seed);
  let policyRef: PolicyModel | null = null;
  let rolloutsIdentical: boolean;
  let side: SideResult;
  try {
    tf.tidy(() => {
      for (const [n, v] of model.namedParams()) {
        const w = weights.get(n);
        if (!w) throw new Error(`parameter ${n} missing from the reference model`);
        v.assign(tf.tensor(w, v.shape, v.dtype));
      }
    });
    policyRef = cfg.mode !== 'seg' && cfg.grpo.beta > 0 ? frozenCopy(model.policy) : null;
    const own = collectRollouts(model, policyRef, samples, cfg, new Rng(rolloutSeed));
    rolloutsIdentical = sameIds(own.generation.ids, sampledIds);
    disposeRollouts(own);
    side = { backend: target, ...objectiveOn(model, policyRef, samples, cfg, generation), ms: Date.now() - t1 };
  } finally {
    policyRef?.dispose();
    model.dispose();
  }

  const rel = (a: number | null, b: number | null) => (a == null || b == null ? null : Math.abs(a - b) / Math.max(Math.abs(b), 1e-30));
  const lossRelError = rel(side.parts.loss, refSide.parts.loss)!;
  const perPart: Record<string, number> = {};
  const refNorm: Record<string, number> = {};
  const perTensor: { name: string; size: number; relError: number }[] = [];
  let nonFinite = 0;
  for (const part of COPRS_PARTS) {
    const names = [...refSide.grads.keys()].filter((n) => partOf(n) === part);
    if (names.length === 0) continue;
    const a = concat(names.map((n) => side.grads.get(n)!));
    const b = concat(names.map((n) => refSide.grads.get(n)!));
    for (const x of a) if (!Number.isFinite(x)) nonFinite++;
    perPart[part] = relError(a, b);
    refNorm[part] = Math.sqrt(b.reduce((n, x) => n + x * x, 0));
    // Per tensor, the scale is floored at 1e-4 of the part's largest gradient: some gradients are
    // zero in exact arithmetic (e.g. attention key biases: softmax ignores a per-query shift) and
    // hold only rounding noise on both sides, whose ratio means nothing.
    const partMax = b.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (const n of names) {
      const gb = refSide.grads.get(n)!;
      const ga = side.grads.get(n)!;
      const scale = Math.max(gb.reduce((m, x) => Math.max(m, Math.abs(x)), 0), 1e-4 * partMax, 1e-30);
      perTensor.push({ name: n, size: gb.length, relError: ga.reduce((m, x, i) => Math.max(m, Math.abs(x - gb[i])), 0) / scale });
    }
  }
  // A few named gradients: the first tensor of each part, the heatmap head's fusion conv and
  // the policy's patch tower (the stage-3 additions), and the worst three.
  const pick = new Set<string>();
  for (const part of COPRS_PARTS) {
    const first = perTensor.find((t) => partOf(t.name) === part);
    if (first) pick.add(first.name);
  }
  for (const re of [/^head\.fuse\.2\.w/, /^policy\..*tower.*down\.0\.w/, /^policy\..*embed/]) {
    const t = perTensor.find((x) => re.test(x.name));
    if (t) pick.add(t.name);
  }
  for (const t of [...perTensor].sort((x, y) => y.relError - x.relError).slice(0, 3)) pick.add(t.name);
  const gradients = perTensor.filter((t) => pick.has(t.name));
  const worstPart = Math.max(...Object.values(perPart));
  const tol = Number(flags.tol);
  const gradTol = Number(flags['grad-tol']);
  const ok = Number.isFinite(lossRelError) && lossRelError <= tol && nonFinite === 0 && worstPart <= gradTol;
  const result = {
    ok,
    backend: target,
    against,
    reason: chosen.reason,
    preset: cfg.preset,
    mode: cfg.mode,
    seed,
    rollouts: { count: generation.ids.length, tokens: generation.tokens, groundTruthPerGroup: Math.ceil(cfg.grpo.G / 2), sampledOn: against, targetSamplingIdentical: rolloutsIdentical, refPosFound: refSide.parts.refPosFound.filter((x) => x).length },
    loss: { [against]: refSide.parts.loss, [target]: side.parts.loss, relError: lossRelError, tol },
    grpo: { [against]: refSide.parts.grpo, [target]: side.parts.grpo, relError: rel(side.parts.grpo, refSide.parts.grpo) },
    seg: { [against]: refSide.parts.seg, [target]: side.parts.seg, relError: rel(side.parts.seg, refSide.parts.seg) },
    rewardMaxAbsDiff: maxAbsDiff(side.rewards, refSide.rewards),
    advantageMaxAbsDiff: maxAbsDiff(side.advantages, refSide.advantages),
    gradRelError: { perPart, worst: worstPart, tol: gradTol, nonFinite, tensors: perTensor.length, refNorm },
    gradients,
    ms: { [against]: refSide.ms, [target]: side.ms },
  };
  if (!flags.json) {
    const e = (x: number | null) => (x == null ? '—' : x.toExponential(2));
    console.log(`stage-3 ${cfg.preset} step (${cfg.mode}), seed ${seed}: ${target} vs ${against}`);
    console.log(`rollouts      ${generation.ids.length} (per group of ${cfg.grpo.G}: ${Math.ceil(cfg.grpo.G / 2)} ground-truth chains of thought, the rest sampled on ${against}, up to ${cfg.rollout.maxTokens} tokens); ${target}'s own sampling from the same RNG state: ${rolloutsIdentical ? 'identical' : 'DIFFERENT (both sides score the reference rollouts)'}`);
    console.log(`loss          ${against} ${refSide.parts.loss}  ${target} ${side.parts.loss}  relative error ${e(lossRelError)} (tol ${tol})`);
    console.log(`  grpo / seg  relative errors ${e(result.grpo.relError)} / ${e(result.seg.relError)}; rewards max |Δ| ${e(result.rewardMaxAbsDiff)}, advantages max |Δ| ${e(result.advantageMaxAbsDiff)}`);
    for (const [p, v] of Object.entries(perPart)) console.log(`grad ${p.padEnd(14)} relative error ${e(v)}  (‖g_${against}‖ ${e(refNorm[p])})`);
    for (const g of gradients) console.log(`  ${g.name.padEnd(48)} [${g.size}] ${e(g.relError)}`);
    console.log(`time          ${against} ${refSide.ms} ms, ${target} ${side.ms} ms (build + rollouts + one forward/backward)`);
    console.log(ok ? 'AGREE' : `DISAGREE (loss tol ${tol}, gradient tol ${gradTol}${nonFinite ? `, ${nonFinite} non-finite gradient values` : ''})`);
  }
  return result;
}

function partOf(name: string): CoprsPart | null {
  if (name.startsWith('policy.')) return 'policy';
  if (name.startsWith('head.')) return 'heatmapHead';
  if (name.startsWith('sam.promptEncoder.')) return 'promptEncoder';
  if (name.startsWith('sam.maskDecoder.')) return 'maskDecoder';
  return null;
}

function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}
