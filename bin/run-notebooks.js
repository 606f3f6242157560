#!/usr/bin/env node
// `npm run test:notebooks`: execute every notebook under Jupyter with the tslab kernel, on copies
// (outputs go to notebooks/_executed/, the committed notebooks are untouched), in the preset named by
// COPRS_PRESET (default `tiny`). Fails on any cell error. Usage: run-notebooks.js [name-filter ...]
//
// `--publish` (`npm run notebooks:publish -- 05 06`): run in COPRS_PRESET (default `small`) with
// static figures (COPRS_NOTEBOOK_STATIC=1: Plotly as PNG, no inlined bundle) and write the executed
// notebook over notebooks/<name>.ipynb, so the committed notebook shows a real `small` run. Cell
// timing metadata is dropped; `metadata.coprs` records the preset, the commit and the wall time.
// bin/build-notebooks.js keeps these outputs as long as a cell's source is unchanged.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nbDir = path.join(root, 'notebooks');
const outDir = path.join(nbDir, '_executed');
const kernelBinary = path.join(root, 'bin', 'tslab');
const tslab = path.join(root, 'node_modules', '.bin', 'tslab');
const python = process.env.COPRS_PYTHON || '/usr/bin/python3';

function fail(msg) {
  console.error(`test:notebooks: ${msg}`);
  process.exit(1);
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
}

if (!which('jupyter-nbconvert')) fail('jupyter-nbconvert not found: apt-get install jupyter-nbconvert python3-ipykernel');

// Register the kit's tslab kernel (bin/tslab starts tslab from the repository root) unless the
// registered `tslab` kernel already points at it.
function registeredKernelBinary() {
  const r = spawnSync(python, ['-c', 'import json,jupyter_client.kernelspec as k; print(json.dumps(k.KernelSpecManager().get_kernel_spec("tslab").argv))'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  try { return JSON.parse(r.stdout)[0]; } catch { return null; }
}
if (registeredKernelBinary() !== kernelBinary) {
  const r = spawnSync(tslab, ['install', `--python=${python}`, `--binary=${kernelBinary}`], { stdio: 'inherit' });
  if (r.status !== 0) fail('tslab install failed');
  if (registeredKernelBinary() !== kernelBinary) fail(`the tslab kernel is not registered with ${kernelBinary}`);
}

/**
 * tslab reports compile errors as stderr text with an empty error message, so on failure the
 * notebook is run once more with --allow-errors and every cell's stderr and error outputs are shown.
 */
function diagnose(nb) {
  const diagDir = path.join(outDir, 'diagnostics');
  fs.mkdirSync(diagDir, { recursive: true });
  spawnSync('jupyter-nbconvert', ['--to', 'notebook', '--execute', '--allow-errors', '--ExecutePreprocessor.kernel_name=tslab',
    '--output-dir', diagDir, path.join(nbDir, nb)], { env, encoding: 'utf8', cwd: root });
  let executed;
  try { executed = JSON.parse(fs.readFileSync(path.join(diagDir, nb), 'utf8')); } catch { return '  (no diagnostics: the re-run wrote no notebook)'; }
  const lines = [];
  executed.cells.forEach((c, i) => {
    for (const o of c.outputs || []) {
      const text = o.output_type === 'error' ? `${o.ename}: ${o.evalue}\n${(o.traceback || []).join('\n')}`
        : o.output_type === 'stream' && o.name === 'stderr' ? [].concat(o.text).join('') : null;
      if (text) lines.push(`  cell ${i}: ${[].concat(c.source).join('').split('\n')[0]}\n    ${text.trim().split('\n').slice(0, 15).join('\n    ')}`);
    }
  });
  return lines.join('\n') || '  (no stderr or error output in the re-run)';
}

const publish = process.argv.includes('--publish');
const filters = process.argv.slice(2).filter((a) => a !== '--publish');
const notebooks = fs.readdirSync(nbDir)
  .filter((f) => f.endsWith('.ipynb'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (notebooks.length === 0) fail('no notebooks found');
fs.mkdirSync(outDir, { recursive: true });

const env = { ...process.env, COPRS_PRESET: process.env.COPRS_PRESET || (publish ? 'small' : 'tiny'), COPRS_NOTEBOOK_RUN: '1' };
if (publish) env.COPRS_NOTEBOOK_STATIC = '1';

/** Write the executed notebook over the committed one (its cells must still be the source's). */
function publishExecuted(nb, secs) {
  const { sameCells } = require('./build-notebooks.js');
  const name = nb.replace(/\.ipynb$/, '');
  const text = fs.readFileSync(path.join(nbDir, 'src', `${name}.txt`), 'utf8');
  const executed = JSON.parse(fs.readFileSync(path.join(outDir, nb), 'utf8'));
  if (!sameCells(executed, text)) fail(`${nb}: the executed cells differ from notebooks/src/${name}.txt; run node bin/build-notebooks.js first`);
  // tslab reports no execution counts: number the code cells in the order nbconvert ran them, so a
  // cell whose count is null later (bin/build-notebooks.js clears changed cells) is visibly stale
  let count = 0;
  for (const c of executed.cells) {
    if (c.metadata) delete c.metadata.execution;
    if (c.cell_type === 'code') c.execution_count = ++count;
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '';
  executed.metadata.coprs = { preset: env.COPRS_PRESET, commit: commit && dirty ? `${commit}+changes` : commit, executed: new Date().toISOString().slice(0, 10), seconds: Number(secs), backend: process.env.COPRS_BACKEND || 'auto' };
  const json = `${JSON.stringify(executed, null, 1)}\n`;
  fs.writeFileSync(path.join(nbDir, nb), json);
  console.log(`  published notebooks/${nb} (${(json.length / 1024).toFixed(0)} KiB)`);
}
let failed = 0;
for (const nb of notebooks) {
  const t0 = Date.now();
  const r = spawnSync('jupyter-nbconvert', [
    '--to', 'notebook', '--execute',
    '--ExecutePreprocessor.kernel_name=tslab',
    `--ExecutePreprocessor.timeout=${process.env.COPRS_NOTEBOOK_TIMEOUT || 1200}`,
    '--output-dir', outDir,
    path.join(nbDir, nb),
  ], { env, encoding: 'utf8', cwd: root });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    failed++;
    const tail = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim()).slice(-12).join('\n');
    console.log(`not ok - ${nb} (${secs} s, preset ${env.COPRS_PRESET})\n${tail}`);
    console.log(diagnose(nb));
  } else {
    console.log(`ok - ${nb} (${secs} s, preset ${env.COPRS_PRESET})`);
    if (publish) publishExecuted(nb, secs);
  }
}
console.log(`${notebooks.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
