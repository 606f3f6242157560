/**
 * Write a run's OUT/latest (weights + optimizer state) as a weights-only policy checkpoint, for
 * shipping a run's final step when it, not the step the 32-sample held-out metric picked, is the
 * better one on the benchmark's val splits (README, policy-small-v3).
 *
 *   node --import tsx tools/export-policy.ts runs/policy-small-v4/latest data/checkpoints/policy-small-v3
 */
import { selectBackend } from '../src/backend/select';
import { loadPolicy, writeModelCheckpoint, type PolicyCheckpointConfig } from '../src/models/policy/checkpoint';

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const [src, dst] = process.argv.slice(2);
  if (!src || !dst) throw new Error('usage: tools/export-policy.ts SRC_LATEST DST');
  const b = loadPolicy(src, { encoder: 'none' });
  try {
    const meta = b.meta!;
    const train = (meta.config as PolicyCheckpointConfig).train;
    const m = await writeModelCheckpoint(dst, b.model, b.source, { step: meta.step, best: meta.best, train });
    console.log(`${dst}: policy step ${m.step}, ${b.model.paramCount()} parameters, sha256 ${m.weightsSha256.slice(0, 16)}`);
  } finally {
    b.dispose();
  }
})();
