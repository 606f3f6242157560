/**
 * The table of sampled completions (TRL's `log_completions`): one row per rollout with its query,
 * completion, length, rewards (total and each named one), advantage and mask IoU, written as CSV
 * through danfojs-node (`DataFrame` → `toCSV`). danfojs writes string cells as they are, so every
 * string is quoted here first (RFC 4180: "…" with inner quotes doubled) — completions hold commas.
 * If danfojs-node does not load, the same CSV is written by the kit's own writer and the returned
 * `writer` says so (with danfojs' error), once per process on stderr too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../../util/atomic';

export type CompletionRow = Record<string, string | number | boolean | null>;

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

function cell(v: string | number | boolean | null): string | number {
  if (v === null) return '';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return Number.isFinite(v) ? v : '';
}

/** The kit's own CSV (the fallback, and the reference the danfojs path is tested against). */
export function plainCsv(rows: CompletionRow[], columns: string[]): string {
  const lines = [columns.map(quote).join(',')];
  for (const r of rows) lines.push(columns.map((c) => String(cell(r[c] ?? null))).join(','));
  return `${lines.join('\n')}\n`;
}

let warned = false;

/** Write the rows as CSV to `file`; returns which writer did it. */
export function writeCompletionsCsv(file: string, rows: CompletionRow[]): { writer: 'danfojs' | 'plain'; note?: string } {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let dfd: { DataFrame: new (data: unknown, opts?: unknown) => unknown; toCSV: (df: unknown, opts?: unknown) => string | void } | null = null;
  let note: string | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    dfd = require('danfojs-node');
  } catch (e) {
    note = `danfojs-node did not load (${(e as Error).message.split('\n')[0]}); the completions table was written by the kit's own CSV writer`;
    if (!warned) console.error(`[coprs] ${note}`);
    warned = true;
  }
  if (dfd && rows.length > 0) {
    const data: Record<string, (string | number)[]> = {};
    for (const c of columns) data[c] = rows.map((r) => cell(r[c] ?? null));
    const df = new dfd.DataFrame(data, { columns: columns.map(quote) });
    const csv = dfd.toCSV(df, {}) as string;
    writeFileAtomic(file, csv.endsWith('\n') ? csv : `${csv}\n`);
    return { writer: 'danfojs' };
  }
  writeFileAtomic(file, plainCsv(rows, columns));
  return { writer: 'plain', note };
}
