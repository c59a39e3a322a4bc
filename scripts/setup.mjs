#!/usr/bin/env node
// One-command set-up for dgr-notebooks, run by `npm install` (postinstall) and `npm run setup`.
//
//   1. native  : @tensorflow/tfjs-node's binding on the native TensorFlow library.
//                Online: the package's own download (libtensorflow 2.9.1 + prebuilt addon).
//                Offline: build the binding against the shared libraries of the
//                `tensorflow-cpu` pip wheel. Both are cached under .cache/ so that
//                a second `npm install` (which wipes node_modules) takes seconds.
//   2. python  : a project-local venv (.venv) with JupyterLab, nbconvert/nbclient,
//                ipykernel and plotly (whose wheel carries the JupyterLab renderer).
//   3. kernel  : the tslab kernel registered into that venv (not globally).
//   4. build   : `tsc` compiles lib/ (and tests/) to build/, which notebooks import.
//   5. data    : MNIST verified and cached under data/mnist.
//   6. chromium: a Chrome/Chromium/Edge for static figures and the browser test: found on the
//                PATH, in the usual system folders or in playwright's cache; else, on
//                Debian/Ubuntu as root, Debian's chromium is installed (DGR_INSTALL_CHROMIUM=0
//                skips that); else a note with the one command that adds it. Never fails set-up.
//
// Usage: node scripts/setup.mjs [native|python|kernel|build|data ...]   (default: all)
// Environment: DGR_TF_SOURCE=download|wheel  force one way to get libtensorflow
//              DGR_PYTHON=/path/to/python3   interpreter for the venv (default python3)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, '.cache');
const VENV = path.join(ROOT, '.venv');
const require = createRequire(path.join(ROOT, 'package.json'));
const TF_WHEEL = { name: 'tensorflow-cpu', version: '2.21.0' };
const WHEEL_MEMBERS = [
  /^tensorflow\/libtensorflow_cc\.so\.2$/,
  /^tensorflow\/libtensorflow_framework\.so\.2$/,
  /^tensorflow\/include\/tensorflow\/c\//,
  /^tensorflow\/include\/xla\/tsl\/c\//,
  /^tensorflow\/include\/(tensorflow\/core|tsl)\/platform\/ctstring/,
];

const t0 = Date.now();
const log = (msg) =>
  console.log(`[setup ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

class SetupError extends Error {
  constructor(step, what, fix) {
    super(`setup step '${step}' failed: ${what}\n  To fix: ${fix}`);
  }
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return {
    ok: r.status === 0,
    status: r.status,
    out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
  };
}

const tail = (text, n = 15) => text.trim().split('\n').slice(-n).join('\n    ');

// ---------------------------------------------------------------- native TensorFlow
function tfjsNodeDir() {
  return path.dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
}

/** Loads the binding in a child process (a failed dlopen must not kill this one). */
function bindingWorks() {
  const probe =
    `
    const tf = require('@tensorflow/tfjs-node');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    const s = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).sum().dataSync()[0];
    if (s !== 64 * 64 * 64) throw new Error('wrong matmul result ' + s);
    console.log('TensorFlow ' + tf.version.tfjs + ' / libtensorflow ' + ` +
    'tf.backend().binding.TF_Version);';
  const r = run(process.execPath, ['-e', probe], {
    cwd: ROOT,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  return { ok: r.ok, out: r.out.trim() };
}

function cacheKey(source) {
  const pkg = JSON.parse(fs.readFileSync(path.join(tfjsNodeDir(), 'package.json'), 'utf8'));
  return (
    `tfjs-node-${pkg.version}-${source}-node-abi${process.versions.modules}-` +
    `${process.platform}-${process.arch}`
  );
}

/** Moves tfjs-node's deps/ and lib/ into the cache and links them back. */
function saveNative(source) {
  const pkgDir = tfjsNodeDir();
  const dest = path.join(CACHE, 'native', cacheKey(source));
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  for (const sub of ['deps', 'lib']) {
    const from = path.join(pkgDir, sub);
    const real = fs.realpathSync(from);
    if (real.startsWith(CACHE))
      fs.cpSync(real, path.join(dest, sub), { recursive: true, verbatimSymlinks: true });
    else fs.renameSync(from, path.join(dest, sub));
  }
  fs.writeFileSync(
    path.join(dest, 'source.json'),
    JSON.stringify({ source, node: process.version, date: new Date().toISOString() }, null, 2),
  );
  restoreNative(dest);
}

/** Points tfjs-node at a cached build: deps/ is linked, lib/ (the small binding) is copied. */
function restoreNative(dir) {
  const pkgDir = tfjsNodeDir();
  fs.rmSync(path.join(pkgDir, 'deps'), { recursive: true, force: true });
  fs.symlinkSync(path.join(dir, 'deps'), path.join(pkgDir, 'deps'));
  fs.rmSync(path.join(pkgDir, 'lib'), { recursive: true, force: true });
  fs.cpSync(path.join(dir, 'lib'), path.join(pkgDir, 'lib'), { recursive: true });
}

function tryDownload() {
  const pkgDir = tfjsNodeDir();
  log("native: trying tfjs-node's own download of libtensorflow (needs internet) ...");
  const pkgJson = path.join(pkgDir, 'package.json');
  const saved = fs.readFileSync(pkgJson);
  const r = run(process.execPath, ['scripts/install.js'], { cwd: pkgDir, timeout: 15 * 60_000 });
  // install.js rewrites package.json and may die before restoring it
  fs.writeFileSync(pkgJson, saved);
  const works = r.ok && bindingWorks().ok;
  if (!works) {
    const why = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|getaddrinfo/.test(r.out)
      ? 'no route to the download host'
      : tail(r.out, 3);
    log(`native: download unavailable (${why}); building from the tensorflow-cpu wheel instead`);
  }
  return works;
}

function python() {
  return process.env.DGR_PYTHON || 'python3';
}

function fetchWheel() {
  const dir = path.join(CACHE, 'wheels');
  const found = () =>
    fs.existsSync(dir) &&
    fs
      .readdirSync(dir)
      .find((f) => f.startsWith(`tensorflow_cpu-${TF_WHEEL.version}-`) && f.endsWith('.whl'));
  if (!found()) {
    log(`native: pip download ${TF_WHEEL.name}==${TF_WHEEL.version} ...`);
    fs.mkdirSync(dir, { recursive: true });
    const r = run(python(), [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--retries',
      '0',
      '--only-binary=:all:',
      '--python-version',
      '3.11',
      '--platform',
      'manylinux_2_27_x86_64',
      '-d',
      dir,
      `${TF_WHEEL.name}==${TF_WHEEL.version}`,
    ]);
    if (!r.ok || !found()) {
      throw new SetupError(
        'native',
        `pip could not get the ${TF_WHEEL.name} ${TF_WHEEL.version} wheel:\n    ${tail(r.out)}`,
        `make pip reach an index with ${TF_WHEEL.name}==${TF_WHEEL.version} (or put the wheel in ` +
          `${dir}), then run: npm run setup`,
      );
    }
  }
  return path.join(dir, found());
}

function buildFromWheel() {
  const pkgDir = tfjsNodeDir();
  const wheel = fetchWheel();
  const staging = path.join(CACHE, 'native', `staging-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  log(`native: extracting libtensorflow from ${path.basename(wheel)} ...`);
  const extract =
    `
import re, shutil, sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
pats = [re.compile(p) for p in sys.argv[3:]]
with zipfile.ZipFile(wheel) as z:
    for m in z.infolist():
        if m.is_dir() or not any(p.search(m.filename) for p in pats):
            continue
        rel = m.filename[len('tensorflow/'):]
        dest = os.path.join(out, 'lib', rel) if rel.startswith('libtensorflow') ` +
    `else os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(m) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
`;
  const depsDir = path.join(staging, 'deps');
  let r = run(python(), ['-c', extract, wheel, depsDir, ...WHEEL_MEMBERS.map((p) => p.source)]);
  if (!r.ok)
    throw new SetupError(
      'native',
      `could not extract ${wheel}:\n    ${tail(r.out)}`,
      `delete ${path.dirname(wheel)} and run: npm run setup`,
    );
  const libDir = path.join(depsDir, 'lib');
  for (const lib of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    if (!fs.existsSync(path.join(libDir, lib)))
      throw new SetupError(
        'native',
        `${lib} is not in ${wheel}`,
        `delete ${path.dirname(wheel)} and run: npm run setup`,
      );
    if (run('strip', ['--strip-unneeded', path.join(libDir, lib)]).ok === false)
      log(`native: (strip not available; ${lib} kept unstripped)`);
  }
  // The binding links -ltensorflow -ltensorflow_framework and loads libtensorflow_cc.so.2 by
  // SONAME.
  fs.symlinkSync('libtensorflow_cc.so.2', path.join(libDir, 'libtensorflow.so'));
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(libDir, 'libtensorflow_framework.so'));
  fs.rmSync(path.join(pkgDir, 'deps'), { recursive: true, force: true });
  fs.symlinkSync(depsDir, path.join(pkgDir, 'deps'));
  log('native: building the tfjs-node binding (node-pre-gyp --build-from-source, ~30 s) ...');
  const preGyp = require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: [pkgDir] });
  const nodedir =
    process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
  r = run(process.execPath, [preGyp, 'install', '--build-from-source', `--nodedir=${nodedir}`], {
    cwd: pkgDir,
  });
  if (!r.ok) {
    throw new SetupError(
      'native',
      `building the binding failed:\n    ${tail(r.out)}`,
      'install a C++ toolchain and Node headers (Debian: apt-get install g++ make python3; ' +
        'nodedir must hold include/node), then run: npm run setup',
    );
  }
  fs.rmSync(path.join(pkgDir, 'build'), { recursive: true, force: true });
  fs.unlinkSync(path.join(pkgDir, 'deps'));
  fs.renameSync(depsDir, path.join(pkgDir, 'deps'));
  saveNative('wheel');
  fs.rmSync(staging, { recursive: true, force: true });
}

function native() {
  let check = bindingWorks();
  if (check.ok) return log(`native: binding loads (${check.out})`);
  const forced = process.env.DGR_TF_SOURCE;
  if (forced && !['download', 'wheel'].includes(forced)) {
    throw new SetupError(
      'native',
      `DGR_TF_SOURCE=${forced} is not a known source`,
      'set DGR_TF_SOURCE to download or wheel, or unset it',
    );
  }
  const sources = forced ? [forced] : ['download', 'wheel'];
  for (const source of sources) {
    const cached = path.join(CACHE, 'native', cacheKey(source));
    if (fs.existsSync(path.join(cached, 'source.json'))) {
      restoreNative(cached);
      check = bindingWorks();
      if (check.ok) return log(`native: restored the cached ${source} build (${check.out})`);
      log(`native: cached ${source} build in ${cached} does not load; rebuilding`);
      fs.rmSync(cached, { recursive: true, force: true });
    }
  }
  if (sources.includes('download') && tryDownload()) saveNative('download');
  else if (sources.includes('wheel')) buildFromWheel();
  check = bindingWorks();
  if (!check.ok) {
    throw new SetupError(
      'native',
      `the native TensorFlow binding still does not load:\n    ${tail(check.out)}`,
      `rm -rf .cache/native && npm run setup   (see environment.md, "Native TensorFlow")`,
    );
  }
  log(`native: ok (${check.out})`);
}

// ---------------------------------------------------------------- Python venv + kernel
function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function pythonVenv() {
  const req = path.join(ROOT, 'requirements.txt');
  const stamp = path.join(VENV, '.dgr-requirements.sha256');
  const want = sha256(req);
  if (
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, 'utf8') === want &&
    fs.existsSync(path.join(VENV, 'bin', 'jupyter'))
  ) {
    return log('python: .venv is up to date');
  }
  if (!fs.existsSync(path.join(VENV, 'bin', 'python'))) {
    log(`python: creating .venv with ${python()} ...`);
    const r = run(python(), ['-m', 'venv', VENV]);
    if (!r.ok)
      throw new SetupError(
        'python',
        `${python()} -m venv failed:\n    ${tail(r.out)}`,
        'install Python 3.9+ with venv (Debian: apt-get install python3-venv), ' +
          'or set DGR_PYTHON, then run: npm run setup',
      );
  }
  log('python: pip install -r requirements.txt (JupyterLab, nbconvert, ipykernel, plotly) ...');
  // --retries 0: an unreachable public index otherwise costs minutes of retries offline.
  const r = run(
    path.join(VENV, 'bin', 'python'),
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--retries',
      '0',
      '--timeout',
      '30',
      '-r',
      req,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (!r.ok)
    throw new SetupError(
      'python',
      `pip install failed:\n    ${tail(r.out)}`,
      'make pip reach an index holding the packages of requirements.txt, then run: npm run setup',
    );
  fs.writeFileSync(stamp, want);
  log('python: ok');
}

function kernel() {
  const tslabBin = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  const r = run(process.execPath, [
    require.resolve('tslab/bin/tslab'),
    'install',
    `--python=${path.join(VENV, 'bin', 'python')}`,
    '--sys-prefix',
    `--binary=${tslabBin}`,
  ]);
  if (!r.ok)
    throw new SetupError(
      'kernel',
      `tslab install failed:\n    ${tail(r.out)}`,
      'run npm run setup (it creates .venv first)',
    );
  // Kernel environment: quiet TensorFlow, and glibc keeps freed memory (page faults are costly; see
  // environment.md).
  for (const name of ['tslab', 'jslab']) {
    const spec = path.join(VENV, 'share', 'jupyter', 'kernels', name, 'kernel.json');
    const json = JSON.parse(fs.readFileSync(spec, 'utf8'));
    json.env = { ...(json.env ?? {}), ...kernelEnv() };
    fs.writeFileSync(spec, JSON.stringify(json, null, 2) + '\n');
  }
  log(
    'kernel: tslab registered in .venv/share/jupyter/kernels ' +
      `(binary ${path.relative(ROOT, tslabBin)})`,
  );
}

export function kernelEnv() {
  return {
    TF_CPP_MIN_LOG_LEVEL: '2',
    MALLOC_MMAP_THRESHOLD_: '4294967296',
    MALLOC_TRIM_THRESHOLD_: '4294967296',
    MALLOC_TOP_PAD_: '268435456',
  };
}

// ---------------------------------------------------------------- TypeScript build, data
function build() {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = run(process.execPath, [tsc, '-p', ROOT]);
  if (!r.ok)
    throw new SetupError(
      'build',
      `tsc reported errors:\n    ${tail(r.out, 30)}`,
      'fix the errors above, then run: npm run build',
    );
  log('build: lib/ compiled to build/');
}

// The data step loads MNIST exactly as the notebooks do (SHA-256 of every file, then parsing), so
// what it reports is what the loader will find. Notices (a file moved aside) come first, one per
// line; the last line is the result, or the loader's whole error message.
const DATA_PROBE = `
  const { loadMnist } = require('./build/lib/data/mnist');
  const { defaultDataRoot } = require('./build/lib/data/registry');
  loadMnist().then(
    (m) => console.log('RESULT ' +
      JSON.stringify({ dir: defaultDataRoot(), train: m.train.count, test: m.test.count })),
    (err) => { console.error(String(err && err.message || err)); process.exit(1); });`;

function data() {
  const r = run(process.execPath, ['-e', DATA_PROBE], { cwd: ROOT });
  const lines = r.out.trim().split('\n');
  const result = lines.find((l) => l.startsWith('RESULT '));
  for (const l of lines) if (l.startsWith('data: ')) log(l);
  if (!r.ok || result === undefined) {
    throw new SetupError(
      'data',
      lines.filter((l) => !l.startsWith('data: ')).join('\n    '),
      'do as the message above says, then run: node scripts/setup.mjs data',
    );
  }
  const { dir, train, test } = JSON.parse(result.slice('RESULT '.length));
  const rel = path.relative(ROOT, path.join(dir, 'mnist'));
  const where = rel.startsWith('..') || path.isAbsolute(rel) ? path.join(dir, 'mnist') : rel;
  log(
    `data: MNIST verified (size and SHA-256 of its 4 files) and loaded: ${train} train / ` +
      `${test} test images in ${where}`,
  );
}

// ---------------------------------------------------------------- Chromium (static figures)
function chromium() {
  const lib = path.join(ROOT, 'build', 'lib', 'figures', 'chromium.js');
  if (!fs.existsSync(lib))
    throw new SetupError('chromium', 'build/lib is missing', 'run: npm run setup');
  const {
    findChromium,
    chromiumInstallPlan,
    CHROMIUM_INSTALL_COMMAND,
    CHROMIUM_OPT_OUT_VAR,
  } = require(lib);
  const found = () => {
    try {
      return findChromium();
    } catch {
      return null;
    }
  };
  let browser = found();
  if (browser) return log(`chromium: using ${browser}`);
  let osRelease = '';
  try {
    osRelease = fs.readFileSync('/etc/os-release', 'utf8');
  } catch {
    /* not Linux, or no os-release */
  }
  const plan = chromiumInstallPlan({
    platform: process.platform,
    osRelease,
    uid: process.getuid?.(),
    env: process.env,
    hasAptGet: run('sh', ['-c', 'command -v apt-get']).ok,
  });
  if (plan.install) {
    log(
      `chromium: no Chrome/Chromium/Edge found; installing Debian's chromium with apt-get ` +
        `(~1 min, ~350 MB; ${CHROMIUM_OPT_OUT_VAR}=0 npm install skips this) ...`,
    );
    const r = run('bash', [path.join(ROOT, 'scripts', 'install-chromium.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    browser = found();
    if (browser) return log(`chromium: installed, using ${browser}`);
    log(`chromium: the install did not give a usable browser:\n    ${tail(r.out, 5)}`);
  } else {
    log(`chromium: no Chrome/Chromium/Edge found, not installing one (${plan.reason})`);
  }
  log(
    `chromium: everything else is set up; figures show interactively in JupyterLab. ` +
      `For static figure images and the browser test run: ${CHROMIUM_INSTALL_COMMAND}`,
  );
}

const STEPS = { native, python: pythonVenv, kernel, build, data, chromium };

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(STEPS);
  try {
    for (const step of wanted) {
      if (!STEPS[step])
        throw new SetupError(step, 'unknown step', `use one of: ${Object.keys(STEPS).join(', ')}`);
      STEPS[step]();
    }
    log(`done (${wanted.join(', ')})`);
  } catch (err) {
    console.error(`\n[setup] ${err instanceof SetupError ? err.message : err.stack}`);
    console.error(
      '[setup] npm 10 without internet: ' +
        'run `npm ci --ignore-scripts && npm run setup` (see README).',
    );
    process.exit(1);
  }
}
