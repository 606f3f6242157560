/**
 * Shared fixtures of the CoPRS tests (not a test file itself): a tiny randomly initialised mini-SAM
 * (size S with a one-block encoder) and a tiny random policy that records it as its encoder, saved
 * as stage-1 / stage-2 checkpoints, and in-memory models built from them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSamFromConfig } from '../src/models/sam/build-sam';
import { resolveSamConfig } from '../src/models/sam/config';
import type { Sam } from '../src/models/sam/sam';
import { saveCheckpoint } from '../src/train/checkpoint';
import { PolicyModel } from '../src/models/policy/model';
import { samSource, savePolicy } from '../src/models/policy/checkpoint';
import { CoprsModel } from '../src/models/coprs/model';
import { resolveCoprsModelConfig } from '../src/models/coprs/config';

export const tmpDir = (prefix = 'coprs-'): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** A tiny random mini-SAM (64 channels, 16×16 grid, 64×64 masks). */
export function tinySam(seed = 3): Sam {
  return buildSamFromConfig(resolveSamConfig('S', { encoder: { depth: 1 } }), seed);
}

/** A tiny random CoPRS model in memory. */
export function tinyCoprs(seed = 3): CoprsModel {
  const sam = tinySam(seed);
  const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed });
  return new CoprsModel(policy, sam, resolveCoprsModelConfig({ seed }));
}

/** Stage-1 and stage-2 checkpoints on disk: `sam` (kind 'sam') and `policy` (kind 'policy', trained on that sam). */
export async function writeParts(root: string, seed = 3): Promise<{ sam: string; policy: string }> {
  const samDir = path.join(root, 'sam');
  const policyDir = path.join(root, 'policy');
  const sam = tinySam(seed);
  await saveCheckpoint(samDir, { kind: 'sam', size: 'S', config: { model: sam.config }, step: 0, tensors: sam.params.entries() });
  const policy = PolicyModel.create('tiny', { embedDim: sam.embedDim, gridSize: sam.embedSize }, { seed });
  await savePolicy(policyDir, policy, samSource(samDir, sam.embedDim, sam.embedSize), { step: 0 });
  sam.dispose();
  policy.dispose();
  return { sam: samDir, policy: policyDir };
}
