/** Rows of plain values as CSV (RFC 4180 quoting; numbers as JavaScript prints them; null/NaN empty). */
export type CsvValue = string | number | boolean | null | undefined;

const cell = (v: CsvValue): string => {
  if (v == null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(rows: readonly Record<string, CsvValue>[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [cols.map((c) => cell(c)).join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}
