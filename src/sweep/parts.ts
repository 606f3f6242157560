/**
 * The stage-1 mini-SAM and stage-2 policy a sweep point starts from. Each (size, budget) pair is
 * trained once per sweep folder (DIR/parts/) with the sweep preset's budget, resumably, or reused:
 *
 * - a shipped checkpoint (data/checkpoints/sam-<size>, data/checkpoints/policy-<size>) when it
 *   matches — the same size, the same training budget (preset, steps, batch, seed) and, for a
 *   policy, trained on the very mini-SAM the point uses (weights sha256);
 * - else DIR/parts/sam-<size> (a stage-1 run folder; its best/ is the checkpoint) and
 *   DIR/parts/policy-<size>-on-sam-<size> (a stage-2 run folder), finished, resumed from their
 *   latest/ or started.
 *
 * Budgets: stage 1 is the sweep preset's stage-1 config at the point's size. Stage 2 is the
 * sweep preset's stage-2 budget (steps, batch, data mix, held-out, re-spread, schedule shape) at
 * the point's policy size, with that size's own peak learning rate (the kit's choice: in the
 * stage-2 presets the learning rate goes with the model width, everything else is the budget).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { PresetName } from '../config/preset';
import { SAM_SIZES, type SamSize } from '../models/sam/config';
import { resolveSamDir } from '../models/coprs/checkpoint';
import { readPolicyConfig, samSource } from '../models/policy/checkpoint';
import { readCheckpointMeta } from '../train/checkpoint';
import { resolveSamTrainConfig, type SamTrainConfig } from '../train/sam/config';
import { trainSam } from '../train/sam/trainer';
import { SFT_PRESETS, resolveSftConfig, type SftConfig } from '../train/sft/config';
import { encoderFromFlag, trainSft } from '../train/sft/trainer';
import { DATA_DIR } from '../util/paths';

export interface PartsRequest {
  /** The sweep preset: whose stage-1/2 budgets are used. */
  preset: PresetName;
  sam: SamSize;
  policy: PresetName;
  /** Where parts trained by the sweep go (DIR/parts). */
  dir: string;
  /** Where shipped checkpoints are looked for (default data/checkpoints; null: never reuse). */
  shippedDir?: string | null;
  /** Override the stage-1 / stage-2 steps (then a shipped checkpoint with other steps does not match). */
  samSteps?: number;
  sftSteps?: number;
  log?: (line: string) => void;
}

export interface PartsResult {
  /** The mini-SAM checkpoint folder and the policy checkpoint folder. */
  sam: string;
  policy: string;
  /** Where each came from: a shipped checkpoint, a finished run of this sweep, or trained (or resumed) now. */
  samFrom: 'shipped' | 'cached' | 'trained';
  policyFrom: 'shipped' | 'cached' | 'trained';
}

/** The stage-1 config a sweep trains a mini-SAM of `size` with. */
export function samPartConfig(preset: PresetName, size: SamSize, steps?: number): SamTrainConfig {
  return resolveSamTrainConfig(preset, { size, ...(steps != null ? { steps } : {}) });
}

/** The stage-2 config a sweep trains a policy of `size` with (see the module comment). */
export function policyPartConfig(preset: PresetName, size: PresetName, steps?: number): SftConfig {
  const b = SFT_PRESETS[preset];
  const own = SFT_PRESETS[size];
  return resolveSftConfig(size, {
    steps: steps ?? b.steps, batchSize: b.batchSize, reasonFraction: b.reasonFraction, bucketBatches: b.bucketBatches, workers: b.workers,
    auxPerception: b.auxPerception, respread: b.respread, heldout: b.heldout, checkpointEvery: b.checkpointEvery, logEvery: b.logEvery,
    optim: { ...b.optim, lr: own.optim.lr },
  });
}

const stepOf = (dir: string): number | null => {
  if (!fs.existsSync(path.join(dir, 'checkpoint.json'))) return null;
  try {
    return readCheckpointMeta(dir).step;
  } catch {
    return null;
  }
};

/** Does a shipped mini-SAM match the config the sweep would train? */
function samMatches(dir: string, cfg: SamTrainConfig): boolean {
  try {
    const meta = readCheckpointMeta(dir, { kind: 'sam' });
    const t = (meta.config as { train?: Partial<SamTrainConfig> } | null)?.train;
    return !!t && t.preset === cfg.preset && t.size === cfg.size && t.steps === cfg.steps && t.imagesPerStep === cfg.imagesPerStep && t.promptsPerImage === cfg.promptsPerImage && t.seed === cfg.seed;
  } catch {
    return false;
  }
}

/** Does a shipped policy match the config the sweep would train, on this mini-SAM? */
function policyMatches(dir: string, cfg: SftConfig, samSha: string | undefined): boolean {
  try {
    const { config } = readPolicyConfig(dir);
    const t = config.train as Partial<SftConfig> | undefined;
    return !!t && t.preset === cfg.preset && t.steps === cfg.steps && t.batchSize === cfg.batchSize && t.seed === cfg.seed && config.encoder.kind === 'sam' && config.encoder.sha256 === samSha;
  } catch {
    return false;
  }
}

/** The mini-SAM and policy of a point: reused or trained (see the module comment). */
export async function ensureParts(req: PartsRequest): Promise<PartsResult> {
  const say = req.log ?? (() => {});
  const shipped = req.shippedDir === undefined ? path.join(DATA_DIR, 'checkpoints') : req.shippedDir;
  fs.mkdirSync(req.dir, { recursive: true });

  // stage 1: the mini-SAM
  const samCfg = samPartConfig(req.preset, req.sam, req.samSteps);
  let samDir: string;
  let samFrom: PartsResult['samFrom'];
  const shippedSam = shipped ? path.join(shipped, `sam-${req.sam}`) : null;
  if (shippedSam && samMatches(shippedSam, samCfg)) {
    samDir = shippedSam;
    samFrom = 'shipped';
  } else {
    const run = path.join(req.dir, `sam-${req.sam}`);
    const latestStep = stepOf(path.join(run, 'latest'));
    if (latestStep != null && latestStep >= samCfg.steps && fs.existsSync(path.join(run, 'best', 'checkpoint.json'))) {
      samFrom = 'cached';
    } else {
      say(`[sweep] stage 1: mini-SAM ${req.sam}, ${samCfg.steps} steps (${req.preset} budget)${latestStep != null ? `, resuming at step ${latestStep}` : ''} -> ${run}`);
      await trainSam(samCfg, { out: run, resume: latestStep != null, log: null });
      samFrom = 'trained';
    }
    samDir = resolveSamDir(run);
  }

  // stage 2: the policy, on that mini-SAM
  const sftCfg = policyPartConfig(req.preset, req.policy, req.sftSteps);
  const embedDim = SAM_SIZES[req.sam].embedDim;
  const samSha = samSource(samDir, embedDim, SAM_SIZES[req.sam].imageSize / 8).sha256; // the encoder's grid: input / 8 (128 → 16)
  let policyDir: string;
  let policyFrom: PartsResult['policyFrom'];
  const shippedPolicy = shipped ? path.join(shipped, `policy-${req.policy}`) : null;
  if (shippedPolicy && policyMatches(shippedPolicy, sftCfg, samSha)) {
    policyDir = shippedPolicy;
    policyFrom = 'shipped';
  } else {
    policyDir = path.join(req.dir, `policy-${req.policy}-on-sam-${req.sam}`);
    const latestStep = stepOf(path.join(policyDir, 'latest'));
    if (latestStep != null && latestStep >= sftCfg.steps && fs.existsSync(path.join(policyDir, 'checkpoint.json'))) {
      const enc = readPolicyConfig(policyDir).config.encoder;
      if (enc.sha256 !== samSha) throw new Error(`${policyDir} was trained on another mini-SAM (weights ${enc.sha256?.slice(0, 12)}…) than ${samDir} (${samSha?.slice(0, 12)}…); delete ${policyDir} so the sweep trains it again`);
      policyFrom = 'cached';
    } else {
      say(`[sweep] stage 2: policy ${req.policy} on mini-SAM ${req.sam}, ${sftCfg.steps} steps (${req.preset} budget)${latestStep != null ? `, resuming at step ${latestStep}` : ''} -> ${policyDir}`);
      const enc = encoderFromFlag(samDir);
      try {
        await trainSft(sftCfg, { out: policyDir, encoder: { encoder: enc.encoder, source: enc.source }, resume: latestStep != null, log: null });
      } finally {
        enc.dispose();
      }
      policyFrom = 'trained';
    }
  }
  return { sam: samDir, policy: policyDir, samFrom, policyFrom };
}

/**
 * What a point's parts are (results CSV columns): each part's training steps and its best
 * validation metric as its checkpoint records it — stage 1: val mIoU (mean of box and point
 * prompts); stage 2: held-out target accuracy (the preset's few held-out samples, a noisy number).
 * The size ablations compare parts trained at one budget; these columns say how good each was.
 */
export function partColumns(parts: { sam: string; policy: string }): Record<string, number | string | null> {
  const read = (dir: string) => {
    try {
      const m = readCheckpointMeta(dir);
      const train = (m.config as { train?: { steps?: number } } | null)?.train;
      return { steps: train?.steps ?? null, metric: m.best?.metric ?? null, value: m.best?.value ?? null };
    } catch {
      return { steps: null, metric: null, value: null };
    }
  };
  const s = read(parts.sam);
  const p = read(parts.policy);
  return { sam_steps: s.steps, sam_best_metric: s.metric, sam_best: s.value, policy_steps: p.steps, policy_best_metric: p.metric, policy_best: p.value };
}
