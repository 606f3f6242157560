/**
 * `npm start` (= `coprs start`): the main job on the embedded default — the backend report, the
 * data check (verify data/shapeworld against its manifest, rebuilding it if it is missing or
 * damaged), the tour figures, then CoPRS stage 3 (`small`) from the shipped stage-1/2 checkpoints,
 * its evaluation on refshapes testA/testB and reasonshapes test, and the results table and heatmap
 * figures in figures/ (main-job.ts). `--skip-train` stops after the tour.
 */
import * as path from 'path';
import { selectBackend } from '../../backend/select';
import { trainingKernelReport } from '../../backend/kernels';
import { loadSplit, shapeWorldStats, verifyShapeWorld, DEFAULT_DATA_DIR } from '../../data/shapeworld/index';
import { display, savedFigures } from '../../notebook/display';
import { sampleGridPng, splitStatsFigure, splitStatsRows } from '../../notebook/tour';
import { presetFromEnv } from '../../config/preset';
import { PACKAGE_ROOT } from '../../util/paths';
import { rebuildShapeWorld } from '../../data/shapeworld/index';
import type { Flags } from '../args';
import { runMainJob } from './main-job';

export async function startCommand(flags: Flags): Promise<Record<string, unknown>> {
  const preset = presetFromEnv();
  const say = (s: string) => console.error(s);
  say(`CoPRS Lab — preset ${preset.name}`);

  say('\n[1/5] backend');
  const backend = await selectBackend({ backend: flags.backend as string | undefined, log: (l) => say(l) });
  const kernels = await trainingKernelReport(backend.name);
  say(`training kernels on ${backend.name}: ${kernels.complete ? `complete (${kernels.required})` : `MISSING ${kernels.missing.join(', ')}`}`);

  say('\n[2/5] data: ShapeWorld-RS frozen splits against data/shapeworld/manifest.json');
  let verify = await verifyShapeWorld(DEFAULT_DATA_DIR);
  let rebuilt = false;
  if (!verify.ok) {
    say(`data/shapeworld does not match its manifest (${verify.mismatches.length} problems, e.g. ${verify.mismatches[0]?.kind} ${verify.mismatches[0]?.path}): rebuilding`);
    const r = await rebuildShapeWorld();
    if (!r.ok) throw new Error(`the rebuilt splits do not reproduce the committed manifest (${r.mismatchCount} differences, e.g. ${JSON.stringify(r.mismatches[0])})`);
    rebuilt = true;
    verify = await verifyShapeWorld(DEFAULT_DATA_DIR);
  }
  say(`verified ${verify.checkedFiles} files and ${verify.checkedSplits} split checksums${rebuilt ? ' (after rebuilding)' : ''}`);
  const stats = await shapeWorldStats(DEFAULT_DATA_DIR);
  display.table(splitStatsRows(stats), 'ShapeWorld-RS splits');

  say('\n[3/5] tour figures');
  const n = preset.tourSamples;
  const per = Math.max(1, Math.floor(n / 4));
  const ref = [
    ...(await loadSplit('refshapes', 'val', { limit: per * 2 })),
    ...(await loadSplit('refshapes', 'testA', { limit: per })),
    ...(await loadSplit('refshapes', 'testB', { limit: per })),
  ];
  const reason = await loadSplit('reasonshapes', 'val', { limit: n });
  const before = savedFigures().length;
  await display.png(await sampleGridPng(ref, { columns: 4 }), { save: 'tour-refshapes' });
  await display.png(await sampleGridPng(reason, { columns: 4, captionLines: 6 }), { save: 'tour-reasonshapes' });
  await display.plotly(splitStatsFigure(stats), { save: 'tour-split-stats', width: 820, height: 460 });
  const written = savedFigures().slice(before).map((f) => path.relative(PACKAGE_ROOT, f));
  for (const f of written) say(`wrote ${f}`);

  const example = reason.find((s) => s.subset === 'long') ?? reason[0];
  say(`\nexample (${example.id}, ${example.subset}):\n  query: ${example.query}\n  response: <think>${example.cot?.text}</think> <REF_POS>`);
  let main: Awaited<ReturnType<typeof runMainJob>> | null = null;
  if (!flags['skip-train']) {
    say('\n[4/5] CoPRS stage 3 from the shipped checkpoints');
    main = await runMainJob({ preset: preset.name, say, steps: flags.steps as number | undefined, mode: flags.mode as string | undefined });
    say('\n[5/5] results');
    display.table(main.rows, 'CoPRS (stage 3, greedy) on the frozen test splits');
    for (const f of main.figures) say(`wrote ${path.relative(PACKAGE_ROOT, f)}`);
    say(`results table and heatmap figures are in ${path.relative(PACKAGE_ROOT, path.dirname(main.figures[0])) || '.'}/ (results-*.md, coprs-heatmaps-*.png)`);
  }
  return {
    ok: true,
    results: main ? { rows: main.rows, run: path.relative(PACKAGE_ROOT, main.out), train: main.train } : null,
    preset: preset.name,
    backend: backend.name,
    reason: backend.reason,
    trainingKernelsComplete: kernels.complete,
    data: { ok: verify.ok, rebuilt, files: verify.checkedFiles, splits: Object.fromEntries(Object.entries(stats.splits).map(([k, s]) => [k, s.count])) },
    figures: written,
  };
}
