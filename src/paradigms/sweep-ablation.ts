/**
 * `coprs sweep --ablation paradigm`: the paradigm comparison (compare.ts) as an ablation of the
 * sweep registry (src/sweep/registry.ts), so it resumes, publishes and tabulates like the others.
 * One point per entry — `coprs` and every registered paradigm — each trained for the point's
 * stage-3 step count (the preset's matched budget) from the sweep's stage-1/2 checkpoints and
 * evaluated on the sweep's splits. Paradigms have no prior: their heatmap columns are NaN.
 */
import { registerAblation, ablationNames, type PointOutcome } from '../sweep/registry';
import type { SplitMetrics } from '../sweep/results';
import { COPRS_ENTRY, runCoprsEntry, runParadigmEntry, type CompareRow } from './compare';
import { getParadigm, paradigmNames } from './registry';

function outcome(rows: CompareRow[]): PointOutcome {
  const evals: Record<string, SplitMetrics> = {};
  for (const r of rows) evals[r.split] = { n: r.n, gIoU: r.gIoU, cIoU: r.cIoU, heatmapGIoU: NaN, heatmapCIoU: NaN, formatRate: NaN };
  const first = rows[0];
  const test = rows.find((r) => r.split === 'reasonshapes/test');
  const testA = rows.find((r) => r.split === 'refshapes/testA');
  return {
    eval: evals,
    columns: {
      paradigm: first.paradigm, emits: first.emits, parameters: first.parameters, trainable: first.trainable, train_seconds: first.trainSeconds,
      ms_per_sample_testA: testA ? testA.msPerSample : null,
      reasonshapes_test_short_gIoU: test?.shortGIoU ?? null, reasonshapes_test_long_gIoU: test?.longGIoU ?? null,
    },
  };
}

if (!ablationNames().includes('paradigm')) {
  registerAblation('paradigm', {
    title: 'CoPRS and the other paradigms at the matched budget',
    paper: 'Tables 1–2 (refshapes cIoU; reasonshapes gIoU/cIoU, short and long)',
    axis: 'paradigm',
    points: () => [COPRS_ENTRY, ...paradigmNames()].map((name) => ({
      id: name, label: name, value: name, overrides: {}, isDefault: name === COPRS_ENTRY,
    })),
    runPoint: async (ctx) => {
      const name = String(ctx.point.value);
      const splits = ctx.evalSplits.map(([d, s]) => `${d}/${s}`);
      const opts = { out: ctx.runDir, sam: ctx.parts.sam, policy: ctx.parts.policy, limit: ctx.evalLimit ?? undefined, log: ctx.log };
      if (name !== COPRS_ENTRY) getParadigm(name); // unknown → the registry's error
      const rows = name === COPRS_ENTRY
        ? await runCoprsEntry(ctx.runDir, ctx.preset, ctx.config.steps, opts, splits)
        : await runParadigmEntry(name, ctx.runDir, ctx.preset, ctx.config.steps, opts, splits);
      return outcome(rows);
    },
  });
}
