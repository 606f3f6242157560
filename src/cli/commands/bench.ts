/**
 * `coprs bench [--json] [--quick]`: GFLOP/s of a 256² and a 512² matmul and of a conv2d forward +
 * backward on every available backend, measured in one run so ratios between backends are fair on
 * a shared, noisy machine.
 */
import * as tf from '@tensorflow/tfjs';
import { availableBackends, selectBackend } from '../../backend/select';
import { benchConv2d, benchMatmul, DEFAULT_CONV, OpTiming, TimeOptions } from '../../bench/ops-bench';
import type { Flags } from '../args';

export async function benchCommand(flags: Flags): Promise<Record<string, unknown>> {
  const chosen = await selectBackend({ backend: flags.backend as string | undefined });
  const available = (await availableBackends()).filter((a) => a.ok).map((a) => a.name);
  const opts: TimeOptions = flags.quick ? { minMs: 100, minReps: 1 } : { minMs: 600, minReps: 3 };
  const results: Record<string, Record<string, OpTiming>> = {};
  for (const name of available) {
    await tf.setBackend(name);
    const r: Record<string, OpTiming> = {};
    r.matmul256 = await benchMatmul(256, opts);
    r.matmul512 = await benchMatmul(512, opts);
    r.conv2d = await benchConv2d(DEFAULT_CONV, opts);
    results[name] = r;
    if (!flags.json) {
      for (const t of Object.values(r)) console.log(`${name.padEnd(10)} ${t.name.padEnd(40)} ${t.gflops.toFixed(2).padStart(8)} GFLOP/s  (${t.msPerRun.toFixed(2)} ms, ${t.reps} runs)`);
    }
  }
  await tf.setBackend(chosen.name);
  const ratios: Record<string, number> = {};
  const base = results.cpu;
  if (base) {
    for (const [name, r] of Object.entries(results)) {
      if (name === 'cpu') continue;
      for (const k of Object.keys(r)) ratios[`${name}/cpu ${k}`] = Math.round((r[k].gflops / base[k].gflops) * 10) / 10;
    }
  }
  if (!flags.json) for (const [k, v] of Object.entries(ratios)) console.log(`ratio ${k}: ${v}×`);
  return { chosen: chosen.name, backends: available, results, ratios, date: new Date().toISOString(), node: process.version };
}
