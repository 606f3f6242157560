/**
 * The notebooks import src/ through tslab, which compiles every imported file itself with its own
 * TypeScript (5.0) and options, and loads them from memory with a resolver that knows files, not
 * folders. This test catches what would break a notebook long before the notebook run does:
 * (1) src/ type-checks under tslab's compiler and options, (2) no relative import names a folder.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../src/util/paths';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const SRC = path.join(PACKAGE_ROOT, 'src');

test('every relative import in src/ names a .ts file, not a folder (tslab resolves files only)', () => {
  const bad: string[] = [];
  for (const file of sourceFiles(SRC)) {
    // Comments may quote import lines (e.g. usage examples); only code counts.
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']*)'/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      if (!fs.existsSync(`${target}.ts`) && !fs.existsSync(target)) bad.push(`${path.relative(PACKAGE_ROOT, file)}: '${m[1]}' does not exist`);
      else if (!fs.existsSync(`${target}.ts`) && fs.statSync(target).isDirectory()) bad.push(`${path.relative(PACKAGE_ROOT, file)}: '${m[1]}' is a folder; import '${m[1]}/index'`);
    }
  }
  assert.deepEqual(bad, []);
});

test('src/ type-checks with tslab\'s TypeScript and compiler options', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('@tslab/typescript-for-tslab') as typeof import('typescript');
  const options: import('typescript').CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [path.join(PACKAGE_ROOT, 'node_modules', '@types')],
  };
  const program = ts.createProgram(sourceFiles(SRC), options);
  const diags = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.relative(PACKAGE_ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  assert.deepEqual(diags, []);
});

test('committed notebooks match their cell sources in notebooks/src (node bin/build-notebooks.js)', () => {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'build-notebooks.js'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('building a notebook keeps the outputs of unchanged cells and clears changed ones; --check compares sources only', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nbs = require(path.join(PACKAGE_ROOT, 'bin', 'build-notebooks.js')) as {
    build(text: string, previous: unknown): string;
    sameCells(nb: unknown, text: string): boolean;
  };
  const text = '#%% md\n# Title\n#%% code\nconst a = 1;\n#%% code\nconsole.log(a);\n';
  const fresh = JSON.parse(nbs.build(text, null));
  assert.equal(fresh.cells.length, 3);
  assert.ok(nbs.sameCells(fresh, text));
  // an executed copy: outputs on both code cells, notebook metadata from the publisher
  const executed = JSON.parse(JSON.stringify(fresh));
  executed.cells[1].outputs = [{ output_type: 'stream', name: 'stdout', text: ['x\n'] }];
  executed.cells[1].execution_count = 1;
  executed.cells[2].outputs = [{ output_type: 'stream', name: 'stdout', text: ['1\n'] }];
  executed.cells[2].execution_count = 2;
  executed.metadata.coprs = { preset: 'small' };
  assert.ok(nbs.sameCells(executed, text), 'outputs do not make a notebook stale');
  const edited = text.replace('console.log(a);', 'console.log(a + 1);');
  assert.ok(!nbs.sameCells(executed, edited));
  const rebuilt = JSON.parse(nbs.build(edited, executed));
  assert.deepEqual(rebuilt.cells[1].outputs, executed.cells[1].outputs, 'unchanged cell keeps its output');
  assert.equal(rebuilt.cells[1].execution_count, 1);
  assert.deepEqual(rebuilt.cells[2].outputs, [], 'changed cell loses its output');
  assert.equal(rebuilt.cells[2].execution_count, null);
  assert.deepEqual(rebuilt.metadata.coprs, { preset: 'small' });
  assert.ok(nbs.sameCells(rebuilt, edited));
});

/** Notebooks that must be committed with the outputs of a `small` run (issue #5). */
const PUBLISHED = ['05-heatmaps', '06-correlation', '07-ablations', '08-reward-lab'];

test('published notebooks carry a complete small run: every code cell executed, static figures, no inlined plotly bundle', () => {
  const fsm = require('fs') as typeof import('fs');
  for (const name of PUBLISHED) {
    const file = path.join(PACKAGE_ROOT, 'notebooks', `${name}.ipynb`);
    const text = fsm.readFileSync(file, 'utf8');
    const nb = JSON.parse(text) as { metadata: { coprs?: { preset?: string; commit?: string } }; cells: { cell_type: string; execution_count: number | null; outputs?: unknown[] }[] };
    assert.equal(nb.metadata.coprs?.preset, 'small', `${name}: run npm run notebooks:publish -- ${name.slice(0, 2)}`);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    const stale = code.filter((c) => c.execution_count == null).length;
    assert.equal(stale, 0, `${name}: ${stale} code cells have no output from the published run (their source changed): run npm run notebooks:publish -- ${name.slice(0, 2)}`);
    assert.ok(text.length < 4e6, `${name}: ${(text.length / 1e6).toFixed(1)} MB — publish with static figures`);
    assert.ok(!text.includes('Plotly.newPlot') || !text.includes('plotly.js v'), `${name}: the plotly.js bundle is inlined`);
  }
});
