/**
 * The paradigm comparison (issue #6 item 6; the analog of the CoPRS paper's Tables 1–2): every
 * registered paradigm AND CoPRS trained at the matched budget of one preset (PARADIGM_BUDGET: the
 * same optimizer steps and completions per step, the same refshapes training stream, the same
 * shipped mini-SAM and policy), then evaluated greedily on the same frozen splits:
 *
 *   refshapes val / testA / testB (cIoU, gIoU)   ·   reasonshapes val / test (gIoU, cIoU; short, long)
 *
 * plus parameter counts (total, trainable) and inference time per sample.
 *
 *   const r = await compareParadigms({ preset: 'small', out: 'runs/compare-small' });
 *
 * OUT/<name>/ is each run's folder (a paradigm or coprs checkpoint, log.jsonl, latest/);
 * OUT/<name>/result.json marks a finished entry, so a re-run skips it and an interrupted run resumes
 * from its latest/. OUT/results.csv (danfojs, one row per paradigm × split), OUT/results.json and
 * OUT/results.md (the two tables) are rewritten after every entry.
 */
import * as fs from 'fs';
import * as path from 'path';
import { resolveCoprsTrainConfig } from '../train/coprs/config';
import { trainCoprs } from '../train/coprs/trainer';
import { evaluateCoprs } from '../models/coprs/eval';
import { loadCoprs } from '../models/coprs/checkpoint';
import { writeCompletionsCsv } from '../train/coprs/completions';
import { writeFileAtomic } from '../util/atomic';
import { PACKAGE_ROOT } from '../util/paths';
import { PARADIGM_EVAL_SPLITS, evaluateParadigm, parseSplitName } from './eval';
import { getParadigm, loadParadigm, paradigmNames } from './registry';
import { trainParadigm } from './trainer';
import { PARADIGM_BUDGET } from './types';

/** The CoPRS entry's name in the comparison (trained by src/train/coprs, not the paradigm registry). */
export const COPRS_ENTRY = 'coprs';

export interface CompareOptions {
  preset?: string;
  out: string;
  /** Entries to run (default: coprs and every registered paradigm). */
  paradigms?: string[];
  /** Optimizer steps for every entry (default: the preset's matched budget). */
  steps?: number;
  /** "dataset/split" names (default PARADIGM_EVAL_SPLITS). */
  splits?: readonly string[];
  /** Samples per split (default all). */
  limit?: number;
  sam?: string;
  policy?: string;
  /** Per-entry config overrides (e.g. { 'seg-zero': { coldStart: { steps: 1 } } }). */
  overrides?: Record<string, unknown>;
  log?: ((line: string) => void) | null;
}

/** One row per entry × split. */
export interface CompareRow {
  paradigm: string;
  emits: string;
  split: string;
  n: number;
  gIoU: number;
  cIoU: number;
  /** reasonshapes only (null elsewhere). */
  shortGIoU: number | null;
  shortCIoU: number | null;
  longGIoU: number | null;
  longCIoU: number | null;
  msPerSample: number;
  parameters: number;
  trainable: number;
  steps: number;
  trainSeconds: number;
}

export interface CompareResult {
  preset: string;
  steps: number;
  out: string;
  rows: CompareRow[];
  /** Entries skipped because their result.json existed. */
  skipped: string[];
}

const COPRS_EMITS = '<think>…</think> <REF_POS>';

function subsetNumbers(subsets: Record<string, { gIoU: number; cIoU: number }> | undefined, name: string): [number | null, number | null] {
  const s = subsets?.[name];
  return s ? [s.gIoU, s.cIoU] : [null, null];
}

/** Train (or resume) and evaluate CoPRS; rows for its result.json. */
export async function runCoprsEntry(dir: string, preset: string, steps: number, opts: CompareOptions, splits: readonly string[]): Promise<CompareRow[]> {
  const overrides = { ...((opts.overrides?.[COPRS_ENTRY] as Record<string, unknown>) ?? {}), steps };
  const config = resolveCoprsTrainConfig(preset, overrides);
  const resume = fs.existsSync(path.join(dir, 'latest', 'checkpoint.json'));
  const t = await trainCoprs(config, { out: dir, resume, steps, sam: opts.sam, policy: opts.policy, log: opts.log === undefined ? null : opts.log });
  const { model } = loadCoprs(dir);
  try {
    const counts = model.parameterCounts() as Record<string, number>;
    const rows: CompareRow[] = [];
    for (const name of splits) {
      const { dataset, split } = parseSplitName(name);
      const r = await evaluateCoprs(model, { dataset, split, limit: opts.limit, rows: true });
      const sub = (s: string) => {
        const xs = (r.rows ?? []).filter((x) => x.subset === s);
        return xs.length ? xs : null;
      };
      // per-subset gIoU from the rows; cIoU per subset needs pixel counts, which the CoPRS rows do not keep
      const g = (xs: { maskIoU: number }[] | null) => (xs ? xs.reduce((a, x) => a + x.maskIoU, 0) / xs.length : null);
      rows.push({
        paradigm: COPRS_ENTRY, emits: COPRS_EMITS, split: name, n: r.n, gIoU: r.gIoU, cIoU: r.cIoU,
        shortGIoU: g(sub('short')), shortCIoU: null, longGIoU: g(sub('long')), longCIoU: null,
        msPerSample: r.ms / r.n, parameters: counts.total, trainable: counts.total - (counts.imageEncoder ?? 0), steps: t.step, trainSeconds: t.seconds,
      });
    }
    return rows;
  } finally {
    model.dispose();
  }
}

/** Train (or resume) and evaluate one registered paradigm. */
export async function runParadigmEntry(name: string, dir: string, preset: string, steps: number, opts: CompareOptions, splits: readonly string[]): Promise<CompareRow[]> {
  const def = getParadigm(name);
  const resume = fs.existsSync(path.join(dir, 'latest', 'checkpoint.json'));
  const t = await trainParadigm(name, {
    out: dir, preset, resume, steps, sam: opts.sam, policy: opts.policy,
    overrides: opts.overrides?.[name], log: opts.log === undefined ? null : opts.log,
  });
  const p = loadParadigm(dir);
  try {
    const ev = await evaluateParadigm(p, { splits, limit: opts.limit });
    const counts = ev.parameters;
    return ev.results.map((r) => {
      const [sg, sc] = subsetNumbers(r.subsets, 'short');
      const [lg, lc] = subsetNumbers(r.subsets, 'long');
      return {
        paradigm: name, emits: def.emits, split: `${r.dataset}/${r.split}`, n: r.n, gIoU: r.gIoU, cIoU: r.cIoU,
        shortGIoU: sg, shortCIoU: sc, longGIoU: lg, longCIoU: lc, msPerSample: r.msPerSample,
        parameters: counts.total, trainable: counts.trainable ?? counts.total, steps: t.step, trainSeconds: t.seconds,
      };
    });
  } finally {
    p.dispose();
  }
}

const f3 = (v: number | null) => (v == null ? '–' : v.toFixed(3));

/** The two tables (Tables 1–2 analogs) as Markdown. */
export function comparisonMarkdown(r: { preset: string; steps: number; rows: CompareRow[] }): string {
  const names = [...new Set(r.rows.map((x) => x.paradigm))];
  const get = (p: string, s: string) => r.rows.find((x) => x.paradigm === p && x.split === s);
  const lines = [
    `Preset \`${r.preset}\`, ${r.steps} steps per entry at the matched budget (src/paradigms/compare.ts), greedy decoding.`,
    '',
    '**refshapes (Table 1 analog)** — cIoU (gIoU)',
    '',
    '| paradigm | emits | val | testA | testB | parameters (trainable) | ms / sample (testA) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const p of names) {
    const cell = (s: string) => {
      const x = get(p, s);
      return x ? `${x.cIoU.toFixed(3)} (${x.gIoU.toFixed(3)})` : '–';
    };
    const any = r.rows.find((x) => x.paradigm === p)!;
    const ms = get(p, 'refshapes/testA')?.msPerSample;
    lines.push(`| ${p} | \`${any.emits.replace(/\|/g, '\\|')}\` | ${cell('refshapes/val')} | ${cell('refshapes/testA')} | ${cell('refshapes/testB')} | ${any.parameters.toLocaleString('en-US')} (${any.trainable.toLocaleString('en-US')}) | ${ms == null ? '–' : ms.toFixed(0)} |`);
  }
  lines.push('', '**reasonshapes, zero-shot (Table 2 analog)** — gIoU / cIoU; short and long queries: gIoU', '',
    '| paradigm | val gIoU | val cIoU | test gIoU | test cIoU | test short gIoU | test long gIoU |', '|---|---|---|---|---|---|---|');
  for (const p of names) {
    const v = get(p, 'reasonshapes/val');
    const t = get(p, 'reasonshapes/test');
    lines.push(`| ${p} | ${f3(v?.gIoU ?? null)} | ${f3(v?.cIoU ?? null)} | ${f3(t?.gIoU ?? null)} | ${f3(t?.cIoU ?? null)} | ${f3(t?.shortGIoU ?? null)} | ${f3(t?.longGIoU ?? null)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Run the comparison (see the module comment). */
export async function compareParadigms(opts: CompareOptions): Promise<CompareResult> {
  const preset = opts.preset ?? 'small';
  const budget = PARADIGM_BUDGET[preset as keyof typeof PARADIGM_BUDGET];
  if (!budget) throw new Error(`compareParadigms: unknown preset "${preset}"; expected one of ${Object.keys(PARADIGM_BUDGET).join(', ')}`);
  const steps = opts.steps ?? budget.steps;
  const known = [COPRS_ENTRY, ...paradigmNames()];
  const entries = opts.paradigms ?? known;
  const unknown = entries.filter((e) => !known.includes(e));
  if (unknown.length) throw new Error(`compareParadigms: unknown paradigm(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const splits = opts.splits ?? PARADIGM_EVAL_SPLITS;
  splits.forEach(parseSplitName);
  const out = path.resolve(opts.out);
  fs.mkdirSync(out, { recursive: true });
  const sam = opts.sam ?? path.join(PACKAGE_ROOT, 'data/checkpoints/sam-S');
  const policy = opts.policy ?? path.join(PACKAGE_ROOT, `data/checkpoints/policy-${preset === 'tiny' ? 'small' : preset}`);
  const say = opts.log === undefined ? (l: string) => console.error(l) : opts.log;
  const rows: CompareRow[] = [];
  const skipped: string[] = [];
  const write = () => {
    writeCompletionsCsv(path.join(out, 'results.csv'), rows as unknown as Record<string, string | number | boolean | null>[]);
    writeFileAtomic(path.join(out, 'results.json'), `${JSON.stringify({ preset, steps, splits, rows }, null, 2)}\n`);
    writeFileAtomic(path.join(out, 'results.md'), comparisonMarkdown({ preset, steps, rows }));
  };
  for (const name of entries) {
    const dir = path.join(out, name);
    const done = path.join(dir, 'result.json');
    if (fs.existsSync(done)) {
      const saved = JSON.parse(fs.readFileSync(done, 'utf8')) as { steps: number; rows: CompareRow[] };
      if (saved.steps === steps) {
        rows.push(...saved.rows);
        skipped.push(name);
        say?.(`[compare] ${name}: done earlier (${done})`);
        continue;
      }
    }
    say?.(`[compare] ${name}: ${steps} steps (${preset}) -> ${dir}`);
    const t0 = Date.now();
    const r = name === COPRS_ENTRY
      ? await runCoprsEntry(dir, preset, steps, { ...opts, sam, policy }, splits)
      : await runParadigmEntry(name, dir, preset, steps, { ...opts, sam, policy }, splits);
    writeFileAtomic(done, `${JSON.stringify({ steps, rows: r }, null, 2)}\n`);
    rows.push(...r);
    write();
    say?.(`[compare] ${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s; ${r.map((x) => `${x.split} cIoU ${x.cIoU.toFixed(3)}`).join(', ')}`);
  }
  write();
  return { preset, steps, out, rows, skipped };
}
