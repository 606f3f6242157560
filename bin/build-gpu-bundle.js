#!/usr/bin/env node
/*
 * A self-contained build of the `coprs` CLI for a GPU machine that has no Node.js, no npm registry
 * and no Vulkan loader (docs/gpu.md). `npm run bundle:gpu` (or `node bin/build-gpu-bundle.js`)
 * writes dist/gpu-bundle/:
 *
 *   run.sh            unpacks everything once (into $COPRS_HOME, default /tmp/coprs-gpu), sets
 *                     LD_LIBRARY_PATH and the Vulkan ICD variables, and runs `coprs <args>` from
 *                     the unpacked app folder (so data/checkpoints/... paths work as in the repo)
 *   node.xz           this machine's `node` binary (debug symbols stripped when `strip` exists)
 *   app.tar.xz        the CLI bundled by esbuild (src/cli/main.ts and everything it imports,
 *                     tfjs and its wasm/webgpu backends included) + the wasm backend's .wasm files
 *   dawn.tar.xz       node_modules/webgpu: Dawn's linux-x64 dawn.node and the package's ESM entry
 *   sharp.tar.xz      node_modules/sharp + @img/sharp-linux-x64 + @img/sharp-libvips-linux-x64
 *                     (prebuilt, glibc) and sharp's JS dependencies; sharp decodes/encodes PNGs
 *                     (frozen splits, checkpoints' figures, infer) and is imported by the data
 *                     pipeline, so it is carried rather than avoided
 *   data.tar.xz       data/shapeworld and the shipped checkpoints (data/checkpoints/*)
 *   debs/*.deb        Debian's libvulkan1 (the Vulkan loader) and libglvnd0 (libGLdispatch, which
 *                     NVIDIA's Vulkan driver library links against), from `apt-get download`;
 *                     run.sh unpacks them with `dpkg -x` into a folder of their own
 *   MANIFEST.txt      sizes, sha256 sums, versions
 *
 * and fails when the folder exceeds 64 MiB (what the GPU machine's `carry` takes).
 *
 * Options: --out DIR (default dist/gpu-bundle), --checkpoints a,b (checkpoint folders to carry;
 * default every folder in data/checkpoints), --debs "libvulkan1 libglvnd0", --no-strip, --no-data,
 * --limit-mib N (default 64), --verify (afterwards: copy the bundle to a temp dir and run
 * `coprs info` and `coprs bench --quick --ops-only --backend wasm` from it, without node_modules).
 * Slow steps are cached in dist/.cache (node.xz by the binary's size and mtime, the .debs).
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
const NM = path.join(ROOT, 'node_modules');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = { out: path.join(ROOT, 'dist', 'gpu-bundle'), checkpoints: null, debs: ['libvulkan1', 'libglvnd0'], strip: true, data: true, limitMiB: 64, verify: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--out') o.out = path.resolve(val());
    else if (a === '--checkpoints') o.checkpoints = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--debs') o.debs = val().split(/[\s,]+/).filter(Boolean);
    else if (a === '--no-strip') o.strip = false;
    else if (a === '--no-data') o.data = false;
    else if (a === '--limit-mib') o.limitMiB = Number(val());
    else if (a === '--verify') o.verify = true;
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\n?/, '').replace(/^ \* ?/gm, ''));
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  return o;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * MiB, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${String(r.stderr).trim().split('\n').slice(-5).join('\n')}`);
  return String(r.stdout);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function dirSize(p) {
  const st = fs.lstatSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, e) => n + dirSize(path.join(p, e)), 0);
}

const fmt = (bytes) => `${(bytes / MiB).toFixed(2).padStart(7)} MiB`;

/** Copy a file or folder (recursively), skipping names matched by `skip`. */
function copy(src, dst, skip = () => false) {
  const st = fs.statSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dst, { recursive: true });
    for (const e of fs.readdirSync(src)) if (!skip(e, path.join(src, e))) copy(path.join(src, e), path.join(dst, e), skip);
  } else {
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
    fs.chmodSync(dst, st.mode);
  }
}

/** tar + xz -9 of `entries` (relative to `dir`), reproducible ordering and ownership. */
function tarXz(dir, entries, file) {
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-cJf', file, '-C', dir, ...entries], { env: { ...process.env, XZ_OPT: '-9 -T1' } });
}

/**
 * esbuild plugin: the kit's sources compute repository paths from `__dirname` (src/util/paths.ts,
 * src/data/shapeworld/store.ts, ...). In one bundle every module shares the bundle's `__dirname`,
 * so each kit file's `__dirname` is rewritten to where that file would sit in the app folder
 * (the bundle lies at the app folder's root, which plays the repository root).
 */
const dirnamePlugin = {
  name: 'coprs-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(SRC + path.sep)) return undefined;
      const rel = path.relative(ROOT, path.dirname(args.path)).split(path.sep).join('/');
      const text = fs.readFileSync(args.path, 'utf8');
      if (!/\b__dirname\b/.test(text)) return { contents: text, loader: 'ts' };
      return { contents: text.replace(/\b__dirname\b/g, `__coprsDir(${JSON.stringify(rel)})`), loader: 'ts' };
    });
  },
};

/** Packages the bundle must not inline: native code, or optional tools the GPU runs do not use. */
const EXTERNAL = [
  'webgpu', // ESM entry + dawn.node: carried in node_modules/webgpu
  'sharp', // JS + prebuilt native binary and libvips: carried in node_modules
  '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', // libtensorflow: not carried (the tensorflow backend is skipped)
  'danfojs-node', // completions CSV: the kit falls back to its own writer
  'playwright-core', 'plotly.js-dist', 'tslab', // figures and notebooks only
  'node-fetch', // tfjs-core's fetch for old Node versions (Node 20 has fetch)
];

async function bundleCli(appDir) {
  const esbuild = require('esbuild');
  const entry = [
    "'use strict';",
    "const { main } = require('./src/cli/main.ts');",
    'main(process.argv.slice(2)).then(',
    '  (code) => { process.exitCode = code; },',
    "  (err) => { console.error(`coprs: ${err && err.message ? err.message : err}`); process.exitCode = 1; },",
    ');',
  ].join('\n');
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'coprs-gpu-bundle.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path.join(appDir, 'coprs.cjs'),
    external: EXTERNAL,
    plugins: [dirnamePlugin],
    banner: { js: "/* coprs-lab GPU bundle (bin/build-gpu-bundle.js) */\nconst __coprsDir = (rel) => require('path').join(__dirname, rel);" },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: false,
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

function copyWasmFiles(appDir) {
  const dir = path.join(NM, '@tensorflow', 'tfjs-backend-wasm', 'dist');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.wasm'));
  for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(appDir, f));
  return files;
}

function stageDawn(appDir) {
  const src = path.join(NM, 'webgpu');
  const dst = path.join(appDir, 'node_modules', 'webgpu');
  for (const f of ['package.json', 'index.js', 'LICENSE.md']) copy(path.join(src, f), path.join(dst, f));
  copy(path.join(src, 'dist', 'linux-x64'), path.join(dst, 'dist', 'linux-x64'));
  return JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')).version;
}

function stageSharp(appDir) {
  const skipDocs = (name) => /\.(d\.ts|d\.mts|d\.cts|mjs|md)$/.test(name) && name !== 'index.mjs';
  const pkgs = ['sharp', '@img/colour', '@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64', 'detect-libc', 'semver'];
  for (const p of pkgs) {
    const src = path.join(NM, p);
    if (!fs.existsSync(src)) throw new Error(`node_modules/${p} is missing: run npm install (sharp's linux-x64 prebuilt packages are needed)`);
    copy(src, path.join(appDir, 'node_modules', p), (name, full) => (p === 'sharp' && (name === 'src' || name === 'install') && path.dirname(full) === src) || skipDocs(name));
  }
  return JSON.parse(fs.readFileSync(path.join(NM, 'sharp', 'package.json'), 'utf8')).version;
}

function stageData(appDir, checkpoints) {
  copy(path.join(ROOT, 'data', 'shapeworld'), path.join(appDir, 'data', 'shapeworld'));
  const carried = [];
  for (const c of checkpoints) {
    const src = path.resolve(ROOT, c);
    if (!fs.existsSync(path.join(src, 'checkpoint.json'))) throw new Error(`--checkpoints ${c}: no checkpoint.json in ${src}`);
    const name = path.basename(src);
    copy(src, path.join(appDir, 'data', 'checkpoints', name));
    carried.push(`data/checkpoints/${name}`);
  }
  return carried;
}

function nodeXz(cacheDir, strip) {
  const nodeBin = fs.realpathSync(process.execPath);
  const st = fs.statSync(nodeBin);
  const doStrip = strip && have('strip');
  const cached = path.join(cacheDir, `node-${process.version}-${st.size}-${Math.round(st.mtimeMs)}${doStrip ? '-stripped' : ''}.xz`);
  if (!fs.existsSync(cached)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = path.join(cacheDir, 'node.tmp');
    if (doStrip) run('strip', ['--strip-debug', '-o', tmp, nodeBin]);
    else fs.copyFileSync(nodeBin, tmp);
    console.error(`[bundle] xz -9 of node ${process.version} (${fmt(fs.statSync(tmp).size).trim()}${doStrip ? ', debug symbols stripped' : ''}); cached in ${path.relative(ROOT, cacheDir)}`);
    run('xz', ['-9', '-T1', '-f', tmp]);
    fs.renameSync(`${tmp}.xz`, cached);
  }
  // Unpacked size, from xz's own listing (the cache holds only the compressed file).
  let unpacked = st.size;
  try {
    const totals = run('xz', ['--robot', '-l', cached]).split('\n').find((l) => l.startsWith('totals'));
    if (totals) unpacked = Number(totals.split('\t')[4]);
  } catch {
    // keep the binary's own size
  }
  return { file: cached, source: nodeBin, stripped: doStrip, rawSize: st.size, unpacked };
}

function fetchDebs(cacheDir, names) {
  const dir = path.join(cacheDir, 'debs');
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (const name of names) {
    let deb = fs.readdirSync(dir).find((f) => f.startsWith(`${name}_`) && f.endsWith('_amd64.deb'));
    if (!deb) {
      // apt-get download writes into the current folder; -oAPT::Architecture keeps it amd64 on any host.
      run('apt-get', ['download', '-oAPT::Architecture=amd64', `${name}:amd64`], { cwd: dir });
      deb = fs.readdirSync(dir).find((f) => f.startsWith(`${name}_`) && f.endsWith('_amd64.deb'));
      if (!deb) throw new Error(`apt-get download ${name} produced no ${name}_*_amd64.deb`);
    }
    out.push(path.join(dir, deb));
  }
  return out;
}

const RUN_SH = `#!/bin/sh
# coprs-lab GPU bundle: run the coprs CLI on a machine without Node.js, npm or a Vulkan loader.
#   sh run.sh <coprs command and options>     e.g.  sh run.sh info
#   sh run.sh --diagnose                      what the machine offers (driver, Vulkan ICD, GPU)
# Unpacks once into $COPRS_HOME (default /tmp/coprs-gpu), then runs from $COPRS_HOME/app, where
# data/shapeworld and data/checkpoints/* lie as in the repository. Set COPRS_CWD to run elsewhere.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=\${COPRS_HOME:-/tmp/coprs-gpu}
STAMP=$(cat "$HERE/STAMP")

unxz_to() { # $1 file.xz, $2 destination file
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
untar_xz() { # $1 file.tar.xz, $2 folder
  if command -v xz >/dev/null 2>&1 && tar --version >/dev/null 2>&1; then tar -xJf "$1" -C "$2"
  else python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi
}
undeb() { # $1 file.deb, $2 folder (dpkg -x; without dpkg, read the ar archive in Python)
  if command -v dpkg >/dev/null 2>&1; then dpkg -x "$1" "$2"
  else python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'!<arch>\\n', 'not a .deb'
i = 8
while i < len(data):
    name = data[i:i + 16].decode().strip().rstrip('/'); size = int(data[i + 48:i + 58]); body = data[i + 60:i + 60 + size]
    if name.startswith('data.tar'):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    i += 60 + size + (size & 1)
PY
  fi
}

if [ ! -f "$DEST/.unpacked-$STAMP" ]; then
  echo "[run.sh] unpacking into $DEST" >&2
  rm -rf "$DEST"; mkdir -p "$DEST/app" "$DEST/vulkan"
  unxz_to "$HERE/node.xz" "$DEST/node"; chmod +x "$DEST/node"
  for t in "$HERE"/*.tar.xz; do untar_xz "$t" "$DEST/app"; done
  for d in "$HERE"/debs/*.deb; do [ -f "$d" ] && undeb "$d" "$DEST/vulkan"; done
  touch "$DEST/.unpacked-$STAMP"
fi
# A bundle built with --no-data uses the data/ of the repository it sits in (dist/gpu-bundle/..).
if [ ! -e "$DEST/app/data" ] && [ -d "$HERE/../../data/shapeworld" ]; then ln -s "$(cd "$HERE/../../data" && pwd)" "$DEST/app/data"; fi

# The carried Vulkan loader, then the driver's own libraries where NVIDIA's container runtime puts them.
LIBS="$DEST/vulkan/usr/lib/x86_64-linux-gnu"
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu/nvidia; do [ -d "$d" ] && LIBS="$LIBS:$d"; done
export LD_LIBRARY_PATH="$LIBS\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The driver's Vulkan ICD manifest (the loader finds none by itself when it lies outside /usr/share and /etc).
if [ -z "\${VK_ICD_FILENAMES:-}\${VK_DRIVER_FILES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$f" ]; then VK_ICD_FILENAMES="$f"; VK_DRIVER_FILES="$f"; export VK_ICD_FILENAMES VK_DRIVER_FILES; break; fi
  done
fi

if [ "\${1:-}" = "--diagnose" ]; then
  echo "node          $("$DEST/node" --version)"
  echo "bundle        $STAMP"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "VK_ICD_FILENAMES=\${VK_ICD_FILENAMES:-} VK_DRIVER_FILES=\${VK_DRIVER_FILES:-}"
  [ -n "\${VK_ICD_FILENAMES:-}" ] && cat "$VK_ICD_FILENAMES"
  ls -l "$DEST"/vulkan/usr/lib/x86_64-linux-gnu/ 2>/dev/null || true
  (ldconfig -p 2>/dev/null | grep -E 'libvulkan|libGLX_nvidia|libGLdispatch|libnvidia-glvkspirv') || echo "(ldconfig knows no Vulkan/NVIDIA GL libraries)"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "(no nvidia-smi)"
  exit 0
fi

cd "\${COPRS_CWD:-$DEST/app}"
exec "$DEST/node" "$DEST/app/coprs.cjs" "$@"
`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the GPU bundle carries linux-x64 binaries (this node's own among them); run it on linux-x64, not ${process.platform}-${process.arch}`);
  const cacheDir = path.join(ROOT, 'dist', '.cache');
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-gpu-bundle-'));
  const parts = {};
  const t0 = Date.now();
  try {
    fs.rmSync(opts.out, { recursive: true, force: true });
    fs.mkdirSync(path.join(opts.out, 'debs'), { recursive: true });

    // app: the esbuild bundle + the wasm backend's binaries (emscripten looks for them beside the script)
    const appDir = path.join(stage, 'app');
    fs.mkdirSync(appDir, { recursive: true });
    const meta = await bundleCli(appDir);
    const wasm = copyWasmFiles(appDir);
    const kitPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(appDir, 'package.json'), `${JSON.stringify({ name: kitPkg.name, version: kitPkg.version, private: true, description: 'coprs-lab GPU bundle (bin/build-gpu-bundle.js)' }, null, 1)}\n`);
    tarXz(appDir, ['coprs.cjs', 'package.json', ...wasm], path.join(opts.out, 'app.tar.xz'));
    parts.app = { raw: dirSize(appDir), what: `esbuild bundle of the CLI (${Object.keys(meta.inputs).length} inputs) + ${wasm.length} .wasm` };

    const dawnDir = path.join(stage, 'dawn');
    const dawnVersion = stageDawn(dawnDir);
    tarXz(dawnDir, ['node_modules'], path.join(opts.out, 'dawn.tar.xz'));
    parts.dawn = { raw: dirSize(dawnDir), what: `webgpu ${dawnVersion}: Dawn's dist/linux-x64/dawn.node + index.js` };

    const sharpDir = path.join(stage, 'sharp');
    const sharpVersion = stageSharp(sharpDir);
    tarXz(sharpDir, ['node_modules'], path.join(opts.out, 'sharp.tar.xz'));
    parts.sharp = { raw: dirSize(sharpDir), what: `sharp ${sharpVersion} + @img/sharp-linux-x64 + libvips (prebuilt)` };

    let checkpoints = [];
    if (opts.data) {
      const dataDir = path.join(stage, 'data');
      const wanted = opts.checkpoints ?? fs.readdirSync(path.join(ROOT, 'data', 'checkpoints')).map((d) => path.join('data', 'checkpoints', d)).filter((d) => fs.existsSync(path.join(ROOT, d, 'checkpoint.json')));
      checkpoints = stageData(dataDir, wanted);
      tarXz(dataDir, ['data'], path.join(opts.out, 'data.tar.xz'));
      parts.data = { raw: dirSize(dataDir), what: `data/shapeworld + ${checkpoints.join(', ') || 'no checkpoints'}` };
    }

    const node = nodeXz(cacheDir, opts.strip);
    fs.copyFileSync(node.file, path.join(opts.out, 'node.xz'));
    parts.node = { raw: node.unpacked, what: `${node.source} ${process.version}${node.stripped ? ` (debug sections stripped from ${fmt(node.rawSize).trim()})` : ''}` };

    const debs = fetchDebs(cacheDir, opts.debs);
    for (const d of debs) fs.copyFileSync(d, path.join(opts.out, 'debs', path.basename(d)));
    parts.debs = { raw: debs.reduce((n, d) => n + fs.statSync(d).size, 0), what: debs.map((d) => path.basename(d)).join(', ') };

    fs.writeFileSync(path.join(opts.out, 'run.sh'), RUN_SH, { mode: 0o755 });
    const files = fs.readdirSync(opts.out).flatMap((f) => (f === 'debs' ? fs.readdirSync(path.join(opts.out, 'debs')).map((d) => `debs/${d}`) : [f])).sort();
    const stamp = crypto.createHash('sha256').update(files.filter((f) => f !== 'run.sh').map((f) => sha256(path.join(opts.out, f))).join('')).digest('hex').slice(0, 16);
    fs.writeFileSync(path.join(opts.out, 'STAMP'), `${stamp}\n`);

    // Sizes.
    const sizeOf = (f) => fs.statSync(path.join(opts.out, f)).size;
    const rows = [
      ['node.xz', 'node', sizeOf('node.xz')],
      ['dawn.tar.xz', 'dawn', sizeOf('dawn.tar.xz')],
      ['sharp.tar.xz', 'sharp', sizeOf('sharp.tar.xz')],
      ['app.tar.xz', 'app', sizeOf('app.tar.xz')],
      ...(opts.data ? [['data.tar.xz', 'data', sizeOf('data.tar.xz')]] : []),
      ['debs/', 'debs', parts.debs.raw],
    ];
    const total = dirSize(opts.out);
    const lines = [
      `coprs-lab GPU bundle ${stamp}, built ${new Date().toISOString()} on ${os.hostname()} by ${process.version} (${process.platform}-${process.arch})`,
      `source: git ${gitDescribe()}`,
      '',
      'file            carried     unpacked    contents',
      ...rows.map(([f, k, size]) => `${f.padEnd(14)} ${fmt(size)} ${fmt(parts[k].raw)}   ${parts[k].what}`),
      `${'run.sh, STAMP'.padEnd(14)} ${fmt(sizeOf('run.sh') + sizeOf('STAMP'))}`,
      `${'total'.padEnd(14)} ${fmt(total)}              limit ${opts.limitMiB} MiB`,
      '',
      'sha256',
      ...files.filter((f) => f !== 'MANIFEST.txt').map((f) => `${sha256(path.join(opts.out, f))}  ${f}`),
      '',
    ];
    fs.writeFileSync(path.join(opts.out, 'MANIFEST.txt'), lines.join('\n'));
    console.log(lines.slice(0, rows.length + 7).join('\n'));
    console.log(`wrote ${path.relative(process.cwd(), opts.out) || '.'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const finalTotal = dirSize(opts.out);
    const tree = workingTreeSize();
    if (tree != null) {
      console.log(`the device tool also sends the working tree (git ls-files -co --exclude-standard): ${fmt(tree).trim()}; with this bundle in carry: ${fmt(tree + finalTotal).trim()} of its ${opts.limitMiB} MiB${opts.data ? ' (--no-data would use the tree\'s own data/ and save data.tar.xz)' : ''}`);
      if (tree + finalTotal > opts.limitMiB * MiB) console.error(`[bundle] warning: working tree + bundle exceed ${opts.limitMiB} MiB: the device tool will refuse the call; rebuild with --no-data or fewer --checkpoints`);
    }
    if (finalTotal > opts.limitMiB * MiB) throw new Error(`the bundle is ${fmt(finalTotal).trim()}, over the ${opts.limitMiB} MiB limit (drop --checkpoints or pass --no-data)`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  if (opts.verify) verify(opts.out);
}

/** Bytes of tracked and untracked-not-ignored files (what the device tool sends besides `carry`), or null without git. */
function workingTreeSize() {
  try {
    const files = run('git', ['-C', ROOT, 'ls-files', '-co', '--exclude-standard', '-z']).split('\0').filter(Boolean);
    return files.reduce((n, f) => {
      try {
        return n + fs.lstatSync(path.join(ROOT, f)).size;
      } catch {
        return n; // listed but deleted
      }
    }, 0);
  } catch {
    return null;
  }
}

/** The commit, and whether tracked files differ from it (read-only: GIT_OPTIONAL_LOCKS=0, no index refresh). */
function gitDescribe() {
  const env = { ...process.env, GIT_OPTIONAL_LOCKS: '0' };
  try {
    const head = run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { env }).trim();
    const clean = spawnSync('git', ['-C', ROOT, 'diff', '--quiet', 'HEAD', '--'], { env, stdio: 'ignore' }).status === 0;
    return clean ? head : `${head} + uncommitted changes`;
  } catch {
    return 'unknown';
  }
}

/**
 * Copy the bundle to a temp dir and run it from there with a clean environment: no node_modules,
 * no NODE_PATH, a PATH without this machine's node.
 */
function verify(out) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coprs-gpu-verify-'));
  try {
    copy(out, path.join(tmp, 'bundle'));
    // A `node` first on PATH that fails: nothing may run this machine's node (run.sh runs the carried one).
    const fakeBin = path.join(tmp, 'fakebin');
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, 'node'), '#!/bin/sh\necho "verify: the node on PATH was called" >&2\nexit 99\n', { mode: 0o755 });
    const env = { PATH: `${fakeBin}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: tmp, COPRS_HOME: path.join(tmp, 'home'), LANG: 'C.UTF-8' };
    for (const args of [['info', '--json'], ['bench', '--quick', '--ops-only', '--backend', 'wasm', '--json']]) {
      console.log(`\n[verify] sh run.sh ${args.join(' ')}   (COPRS_HOME=${env.COPRS_HOME})`);
      const r = spawnSync('sh', [path.join(tmp, 'bundle', 'run.sh'), ...args], { env, encoding: 'utf8', maxBuffer: 64 * MiB });
      const lastLine = String(r.stdout).trim().split('\n').pop();
      process.stderr.write(String(r.stderr).split('\n').filter((l) => !/^=+$|Hi, looks like you are running TensorFlow.js|^$/.test(l)).map((l) => `  ${l}\n`).join(''));
      if (r.status !== 0) throw new Error(`[verify] run.sh ${args.join(' ')} exited ${r.status}`);
      const j = JSON.parse(lastLine);
      if (args[0] === 'info') {
        console.log(`  backend ${j.backend}; available ${j.available.join(', ')}; training kernels ${j.trainingKernels.complete ? 'complete' : `MISSING ${j.trainingKernels.missing}`} (${j.trainingKernels.required}); node ${j.node}`);
        for (const b of j.backends) console.log(`  ${b.ok ? '✓' : '✗'} ${b.name.padEnd(11)} ${b.detail}`);
      } else {
        for (const [name, r2] of Object.entries(j.results)) for (const t of Object.values(r2)) console.log(`  ${name.padEnd(6)} ${t.name.padEnd(40)} ${t.gflops.toFixed(2).padStart(8)} GFLOP/s`);
      }
    }
    const home = path.join(tmp, 'home', 'app');
    if (fs.existsSync(path.join(home, 'node_modules', '@tensorflow'))) throw new Error('[verify] the unpacked app has node_modules/@tensorflow: the bundle is not self-contained');
    console.log(`\n[verify] ok: the bundle ran from ${tmp} with the carried node (app node_modules: ${fs.readdirSync(path.join(home, 'node_modules')).join(', ')})`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`build-gpu-bundle: ${e.message}`);
  process.exitCode = 1;
});
