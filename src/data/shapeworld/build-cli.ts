/**
 * Rebuilds the frozen ShapeWorld-RS splits into data/shapeworld (or the directory given as the
 * first argument) and verifies the result:
 *
 *   node --import tsx src/data/shapeworld/build-cli.ts [outDir]
 */
import { buildShapeWorld } from './build';
import { verifyShapeWorld } from './manifest';

async function main(): Promise<void> {
  const r = await buildShapeWorld(process.argv[2], { log: (m) => console.log(m) });
  console.log(`generation + rendering: ${r.msPerSample.toFixed(2)} ms per sample`);
  const v = await verifyShapeWorld(r.dir);
  console.log(v.ok ? `verified ${v.checkedFiles} files, ${v.checkedSplits} splits` : `VERIFY FAILED: ${JSON.stringify(v.mismatches.slice(0, 5))}`);
  if (!v.ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
