/**
 * Run the paradigm comparison (src/paradigms/compare.ts) from the command line until `coprs sweep
 * --ablation paradigm` wraps it: node --import tsx tools/compare-paradigms.ts [preset] [out] [entries,…]
 */
import { selectBackend } from '../src/backend/select';
import { compareParadigms } from '../src/paradigms/compare';

(async () => {
  await selectBackend({});
  const [preset = 'small', out = `runs/compare-${preset}`, entries] = process.argv.slice(2);
  const r = await compareParadigms({ preset, out, paradigms: entries ? entries.split(',') : undefined });
  console.log(JSON.stringify({ preset: r.preset, steps: r.steps, out: r.out, skipped: r.skipped, rows: r.rows.length }));
})().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
