#!/usr/bin/env node
// Build notebooks/<name>.ipynb from notebooks/src/<name>.txt, whose cells are separated by lines
// `#%% md` and `#%% code`. The .txt files are the reviewable source. A committed notebook may carry
// the outputs of a `small` run (bin/publish-notebooks.js): building keeps the outputs of every cell
// whose source is unchanged and clears the rest, and `--check` compares cell kinds and sources only
// (exit 1 if any notebook's cells differ from its source).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'notebooks', 'src');

const KERNEL_METADATA = {
  kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
  language_info: {
    codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
    file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript', version: '5.0.4',
  },
};

/** The cells of a notebook source text: [{ kind: 'md' | 'code', source: string[] }]. */
function parseSource(text) {
  const parts = text.split(/^#%% (md|code)\n/m);
  const cells = [];
  for (let i = 1; i < parts.length; i += 2) {
    const lines = parts[i + 1].replace(/\n+$/, '').split('\n');
    cells.push({ kind: parts[i], source: lines.map((l, j) => (j < lines.length - 1 ? `${l}\n` : l)) });
  }
  return cells;
}

const joined = (s) => [].concat(s).join('');

/** A cell's identity for comparison: its kind and its source text. */
function cellKey(c) {
  return `${c.cell_type === 'markdown' ? 'md' : 'code'}\u0000${joined(c.source)}`;
}

/** The notebook built from `text`, keeping outputs of unchanged cells of `previous` (parsed JSON or null). */
function build(text, previous) {
  const old = new Map();
  for (const c of (previous && previous.cells) || []) if (c.cell_type === 'code') old.set(`${c.id}\u0000${cellKey(c)}`, c);
  const cells = parseSource(text).map(({ kind, source }, i) => {
    const id = `cell-${String(i).padStart(2, '0')}`;
    if (kind === 'md') return { cell_type: 'markdown', id, metadata: {}, source };
    const kept = old.get(`${id}\u0000code\u0000${source.join('')}`);
    return { cell_type: 'code', execution_count: kept ? kept.execution_count : null, id, metadata: {}, outputs: kept ? kept.outputs : [], source };
  });
  const keptAny = cells.some((c) => c.cell_type === 'code' && c.outputs.length > 0);
  const metadata = { ...KERNEL_METADATA };
  if (keptAny && previous && previous.metadata && previous.metadata.coprs) metadata.coprs = previous.metadata.coprs;
  return `${JSON.stringify({ cells, metadata, nbformat: 4, nbformat_minor: 5 }, null, 1)}\n`;
}

/** True when the notebook's cells (kinds, ids, sources) are those of the source text. */
function sameCells(nb, text) {
  const want = parseSource(text);
  if (!nb || !Array.isArray(nb.cells) || nb.cells.length !== want.length) return false;
  return nb.cells.every((c, i) => c.id === `cell-${String(i).padStart(2, '0')}` && cellKey(c) === `${want[i].kind}\u0000${want[i].source.join('')}`);
}

module.exports = { parseSource, build, sameCells };

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const f of fs.readdirSync(srcDir).filter((f) => f.endsWith('.txt')).sort()) {
    const out = path.join(root, 'notebooks', f.replace(/\.txt$/, '.ipynb'));
    const text = fs.readFileSync(path.join(srcDir, f), 'utf8');
    let have = null;
    try { have = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null; } catch { have = null; }
    if (sameCells(have, text)) continue;
    if (check) {
      console.error(`${path.relative(root, out)} differs from notebooks/src/${f}: run node bin/build-notebooks.js`);
      stale++;
    } else {
      fs.writeFileSync(out, build(text, have));
      console.log(`wrote ${path.relative(root, out)}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
