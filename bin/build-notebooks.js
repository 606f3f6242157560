#!/usr/bin/env node
// Build notebooks/<name>.ipynb from notebooks/src/<name>.txt, whose cells are separated by lines
// `#%% md` and `#%% code`. The .txt files are the reviewable source; the .ipynb files are committed
// without outputs. `--check` exits 1 if any notebook differs from its source.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'notebooks', 'src');

function build(text) {
  const parts = text.split(/^#%% (md|code)\n/m);
  const cells = [];
  for (let i = 1; i < parts.length; i += 2) {
    const kind = parts[i];
    const lines = parts[i + 1].replace(/\n+$/, '').split('\n');
    const source = lines.map((l, j) => (j < lines.length - 1 ? `${l}\n` : l));
    const id = `cell-${String(cells.length).padStart(2, '0')}`;
    cells.push(kind === 'md'
      ? { cell_type: 'markdown', id, metadata: {}, source }
      : { cell_type: 'code', execution_count: null, id, metadata: {}, outputs: [], source });
  }
  const nb = {
    cells,
    metadata: {
      kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
      language_info: {
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
        file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript', version: '5.0.4',
      },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return `${JSON.stringify(nb, null, 1)}\n`;
}

const check = process.argv.includes('--check');
let stale = 0;
for (const f of fs.readdirSync(srcDir).filter((f) => f.endsWith('.txt')).sort()) {
  const out = path.join(root, 'notebooks', f.replace(/\.txt$/, '.ipynb'));
  const want = build(fs.readFileSync(path.join(srcDir, f), 'utf8'));
  const have = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : null;
  if (have === want) continue;
  if (check) {
    console.error(`${path.relative(root, out)} differs from notebooks/src/${f}: run node bin/build-notebooks.js`);
    stale++;
  } else {
    fs.writeFileSync(out, want);
    console.log(`wrote ${path.relative(root, out)}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
