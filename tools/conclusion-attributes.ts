/**
 * Which part of a policy's conclusion is wrong (issue #3 diagnosis): greedy responses on a split,
 * and for each parsed conclusion ("So the target is the <size> <color> <shape> <position>.") whether
 * its size, colour, shape and position word match the ground-truth target's; plus a few failures
 * printed beside the scene's objects (the target starred).
 *
 *   node --import tsx tools/conclusion-attributes.ts CKPT [split=refshapes/val] [N=80] [shown=3]
 */
import { selectBackend } from '../src/backend/select';
import { loadSplit, shapeWorldMeta } from '../src/data/shapeworld/index';
import { evaluatePolicy } from '../src/models/policy/eval';
import { parseConclusion } from '../src/models/policy/format';

(async () => {
  await selectBackend({ backend: 'wasm', log: null });
  const ckpt = process.argv[2] ?? 'data/checkpoints/policy-small';
  const split = process.argv[3] ?? 'refshapes/val';
  const n = Number(process.argv[4] ?? 80);
  const shown = Number(process.argv[5] ?? 3);
  const r = await evaluatePolicy(ckpt, { split, limit: n, perSample: true });
  const [ds, sp] = split.split('/');
  const byId = new Map((await loadSplit(ds, sp, { limit: n })).map((s) => [s.id, s]));
  const hit = { size: 0, color: 0, shape: 0, position: 0, parsed: 0, correct: 0 };
  let printed = 0;
  for (const row of r.perSample ?? []) {
    const s = byId.get(row.id)!;
    const meta = shapeWorldMeta(s);
    const t = meta.scene.objects.find((o) => o.id === meta.targetIds[0])!;
    const c = parseConclusion(row.text);
    if (c) {
      hit.parsed++;
      hit.size += +(c.size === t.size);
      hit.color += +(c.color === t.color);
      hit.shape += +(c.shape === t.shape);
      hit.position += +(c.position === t.position);
    }
    hit.correct += +row.correct;
    if (!row.correct && printed < shown) {
      printed++;
      console.log(`query: ${s.query}\nresponse: ${row.text}\nobjects: ${meta.scene.objects.map((o) => `${o.id === t.id ? '*' : ''}${o.size} ${o.color} ${o.shape} (${o.position})`).join(' | ')}\n`);
    }
  }
  const k = r.perSample?.length ?? 0;
  console.log(JSON.stringify({ ckpt, split, n: k, targetAccuracy: hit.correct / k, parsed: hit.parsed / k, conclusionMatches: { size: hit.size / k, color: hit.color / k, shape: hit.shape / k, position: hit.position / k } }));
})();
