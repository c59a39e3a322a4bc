#!/usr/bin/env node
// Executes notebooks headlessly with the tslab kernel of the project venv.
//
//   npm run notebooks                       every notebook, quick profile, into
//                                           .scratch/notebooks-quick/
//   npm run notebooks -- --profile default  the real experiments, into .scratch/notebooks-default/
//   npm run notebooks -- --inplace --profile default 02-scholar   re-execute committed notebooks
//                                                                 in place
//
// Any cell error fails the run and names the notebook and the cell; the other notebooks still run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NB_DIR = path.join(ROOT, 'notebooks');
const VENV = path.join(ROOT, '.venv');

export function parseArgs(argv) {
  const opts = { profile: 'quick', inplace: false, out: null, timeout: null, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--profile') opts.profile = argv[++i];
    else if (a === '--inplace') opts.inplace = true;
    else if (a === '--out') opts.out = path.resolve(argv[++i]);
    else if (a === '--timeout') opts.timeout = Number(argv[++i]);
    else if (a.startsWith('--'))
      throw new Error(
        `unknown option ${a} (use --profile quick|default|paper, --inplace, ` +
          '--out DIR, --timeout SECONDS)',
      );
    else opts.only.push(a);
  }
  // Seconds per cell: an hour, three in the paper profile (a chain of five WGAN-GP scholars is
  // one cell of more than an hour), as `npm run reproduce` allows.
  opts.timeout ??= opts.profile === 'paper' ? 3 * 3600 : 3600;
  if (!['quick', 'default', 'paper'].includes(opts.profile))
    throw new Error(`--profile ${opts.profile}: use quick, default or paper`);
  if (!(opts.timeout > 0)) throw new Error('--timeout needs a positive number of seconds per cell');
  if (opts.inplace && opts.out) throw new Error('use either --inplace or --out, not both');
  return opts;
}

export function listNotebooks(only = []) {
  const all = fs
    .readdirSync(NB_DIR)
    .filter((f) => f.endsWith('.ipynb') && !f.includes('.failed.'))
    .sort();
  if (only.length === 0) return all;
  return only.map((o) => {
    const hit = all.find((f) => f === o || f.startsWith(o) || f === `${o}.ipynb`);
    if (!hit) throw new Error(`no notebook matches '${o}' in notebooks/ (have: ${all.join(', ')})`);
    return hit;
  });
}

/** Runs notebooks; returns [{ notebook, ok, seconds, output }]. */
export function runNotebooks(opts, log = console.log) {
  const python = path.join(VENV, 'bin', 'python');
  if (!fs.existsSync(python)) throw new Error('.venv is missing: run `npm run setup` first');
  const outDir = opts.inplace
    ? NB_DIR
    : (opts.out ?? path.join(ROOT, '.scratch', `notebooks-${opts.profile}`));
  // Only in-place runs (the committed notebooks) write the repository's results/ and figures/;
  // any other run keeps its results and figures beside its output, so tests never touch committed
  // files.
  const scratchEnv = opts.inplace
    ? {}
    : {
        DGR_RESULTS_DIR: path.join(outDir, 'results'),
        DGR_FIGURES_DIR: path.join(outDir, 'figures'),
      };
  const baseEnv = {
    ...process.env,
    ...scratchEnv,
    ...(opts.env ?? {}),
    DGR_PROFILE: opts.profile,
    JUPYTER_PATH: path.join(VENV, 'share', 'jupyter'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  const results = [];
  const notebooks = listNotebooks(opts.only);
  log(
    `[notebooks] ${notebooks.length} notebook(s), profile ${opts.profile}, ` +
      `output ${path.relative(ROOT, outDir) || '.'}`,
  );
  for (const [i, nb] of notebooks.entries()) {
    const t = Date.now();
    log(`[notebooks] (${i + 1}/${notebooks.length}) ${nb} ...`);
    const output = path.join(outDir, nb);
    const env = { ...baseEnv, DGR_NOTEBOOK: nb.replace(/\.ipynb$/, '') };
    const r = spawnSync(
      python,
      [
        path.join(ROOT, 'scripts', 'execute_notebook.py'),
        path.join(NB_DIR, nb),
        output,
        '--timeout',
        String(opts.timeout),
        ...(opts.inplace ? ['--warn-machine-paths'] : []),
      ],
      {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'inherit', 'pipe'],
        maxBuffer: 64 << 20,
      },
    );
    for (const w of (r.stderr ?? '').split('\n').filter((l) => l.startsWith('warning: ')))
      log(`[notebooks] ${w}`);
    const seconds = (Date.now() - t) / 1000;
    const ok = r.status === 0;
    let error;
    if (!ok) {
      const lines = (r.stderr ?? '').trim().split('\n');
      error = lines.find((l) => l.startsWith('FAILED')) ?? lines.slice(-5).join('\n');
      log(`[notebooks] ${error}`);
      // Everything the run printed on stderr, the kernel's own messages included (a crash of the
      // kernel process shows there, not in the notebook): beside the partial notebook.
      const errLog = output.replace(/\.ipynb$/, '') + '.failed.log';
      fs.writeFileSync(errLog, r.stderr ?? '');
      log(`[notebooks] its stderr: ${path.relative(ROOT, errLog)}`);
    }
    results.push({
      notebook: nb,
      ok,
      seconds,
      output: ok ? output : output.replace(/\.ipynb$/, '.failed.ipynb'),
      ...(error ? { error } : {}),
    });
  }
  const failed = results.filter((r) => !r.ok);
  log(
    `[notebooks] ${results.length - failed.length} passed, ${failed.length} failed` +
      results
        .map((r) => `\n  ${r.ok ? 'ok  ' : 'FAIL'} ${r.notebook} ${r.seconds.toFixed(1)} s`)
        .join(''),
  );
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    const results = runNotebooks(parseArgs(process.argv.slice(2)));
    process.exit(results.every((r) => r.ok) ? 0 : 1);
  } catch (err) {
    console.error(`[notebooks] ${err.message}`);
    process.exit(2);
  }
}
