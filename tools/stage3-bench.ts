/**
 * One line of JSON: the mean stage-3 GRPO step on wasm (`benchCoprsStep` with the SEG warm-up off,
 * random weights, rollouts to the length cap), for before/after comparisons across commits
 * (tools/stage3-speed-compare.sh). Usage: node --import tsx tools/stage3-bench.ts [preset] [steps]
 */
import { selectBackend } from '../src/backend/select';
import { benchCoprsStep } from '../src/train/coprs/bench';

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const r = await benchCoprsStep(process.argv[2] ?? 'small', { steps: Number(process.argv[3] ?? 3), overrides: { warmup: { steps: 0 } } });
  console.log(JSON.stringify(r));
})();
