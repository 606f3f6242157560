/** Tables for notebooks: rows or a danfojs DataFrame → HTML (inline) and aligned text (CLI/logs). */

export type Row = Record<string, string | number | boolean | null | undefined>;

/** Anything with danfojs' `columns` and `values`. */
export interface FrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
}

function toColumnsRows(t: Row[] | FrameLike): { columns: string[]; rows: unknown[][] } {
  if (Array.isArray(t)) {
    const columns = [...new Set(t.flatMap((r) => Object.keys(r)))];
    return { columns, rows: t.map((r) => columns.map((c) => r[c])) };
  }
  const values = t.values as unknown[];
  const rows = values.map((v) => (Array.isArray(v) ? v : [v]));
  return { columns: t.columns, rows };
}

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v == null ? '' : String(v));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function tableHtml(t: Row[] | FrameLike, caption?: string): string {
  const { columns, rows } = toColumnsRows(t);
  const head = columns.map((c) => `<th style="text-align:right;padding:2px 8px">${esc(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v) => `<td style="text-align:right;padding:2px 8px">${esc(fmt(v))}</td>`).join('')}</tr>`).join('');
  return `<table style="border-collapse:collapse;font-family:monospace">${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function tableText(t: Row[] | FrameLike): string {
  const { columns, rows } = toColumnsRows(t);
  const cells = [columns, ...rows.map((r) => r.map(fmt))];
  const widths = columns.map((_, j) => Math.max(...cells.map((r) => String(r[j]).length)));
  return cells.map((r) => r.map((v, j) => String(v).padStart(widths[j])).join('  ')).join('\n');
}
