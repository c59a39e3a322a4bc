#!/usr/bin/env node
// Real-browser test: JupyterLab (from .venv) + headless Chromium (playwright-core).
//
//   node scripts/browser-test.mjs [--notebook 00-setup.ipynb] [--profile quick|default]
//                                 [--timeout 600]
//   node scripts/browser-test.mjs --all          the above for 00-setup, then every notebook opened
//   node scripts/browser-test.mjs --all --only 00,01   ... opening only notebooks with these
//                                                      prefixes
//   node scripts/browser-test.mjs --open-only [--open-root DIR]   only open every notebook of DIR
//
// Starts JupyterLab on a free 127.0.0.1 port with a fresh token, root dir notebooks/, opens the
// notebook, runs Run > Run All Cells, waits for the kernel to go idle, and asserts that
//   - every code cell ran (has an execution count) and produced output,
//   - no cell produced error output (tslab reports errors on stderr; an `error` output counts too),
//   - a plotly figure rendered (`.js-plotly-plot` with its `svg.main-svg`).
// Screenshots go to test-output/. The server and kernel are stopped however the test ends.
// The notebook file is never saved: autosave is off in a throw-away settings dir, and the
// file's hash is compared before and after.
//
// Opening every notebook (--all, --open-only): a throw-away copy of each committed notebook is
// opened in JupyterLab (kernel started, nothing run), every cell scrolled into view, and it must
// show its figures and images rendered, no "No renderer" message, no console error, and no output
// wider than the output area; then JupyterLab saves it (as autosave would) and the saved file must
// be byte-identical to the committed one (metadata as the kernel reports it). One screenshot per
// notebook: test-output/browser-open-<notebook>.png.
// Exit code 0 = pass, 1 = fail, 2 = cannot run (missing venv/build/Chromium).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const OUT = path.join(ROOT, 'test-output');

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const NOTEBOOK = opt('notebook', '00-setup.ipynb');
const PROFILE = opt('profile', 'quick');
const TIMEOUT_S = Number(opt('timeout', '600'));
const NOTEBOOK_DIR = path.resolve(ROOT, opt('root', 'notebooks'));
const ALL = argv.includes('--all');
const OPEN_ONLY = argv.includes('--open-only');
const OPEN_ROOT = path.resolve(ROOT, opt('open-root', 'notebooks'));
// 1400 × 1000 CSS px with JupyterLab's side bar open gives an output area of about 1000 px.
const VIEWPORT = { width: Number(opt('width', '1400')), height: 1000 };

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
const say = (m) => console.log(`[browser-test ${secs().padStart(6)}s] ${m}`);

class CannotRun extends Error {}

function preconditions() {
  const jupyter = path.join(ROOT, '.venv', 'bin', 'jupyter');
  const jupyterPath = path.join(ROOT, '.venv', 'share', 'jupyter');
  if (!fs.existsSync(jupyter))
    throw new CannotRun('.venv/bin/jupyter is missing: run `npm run setup` first.');
  if (!fs.existsSync(path.join(jupyterPath, 'kernels', 'tslab', 'kernel.json'))) {
    throw new CannotRun(
      'the tslab kernel is not registered in .venv: run `node scripts/setup.mjs kernel`.',
    );
  }
  const chromiumJs = path.join(ROOT, 'build', 'lib', 'figures', 'chromium.js');
  if (!fs.existsSync(chromiumJs))
    throw new CannotRun('build/lib is missing or stale: run `npm run build` first.');
  const nb = path.join(NOTEBOOK_DIR, NOTEBOOK);
  if (!fs.existsSync(nb)) throw new CannotRun(`notebook not found: ${nb}`);
  const { findChromium, CHROMIUM_ARGS } = require(chromiumJs);
  let chromiumPath;
  try {
    chromiumPath = findChromium();
  } catch (e) {
    throw new CannotRun(e.message);
  }
  return { jupyter, jupyterPath, nb, chromiumPath, chromiumArgs: CHROMIUM_ARGS };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Throw-away Jupyter config/runtime/settings/workspaces, so nothing of the user's is read or
 * written.
 */
function isolatedJupyterDirs({ autosave = false } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-browser-test-'));
  const dirs = {
    tmp,
    config: path.join(tmp, 'config'),
    runtime: path.join(tmp, 'runtime'),
    settings: path.join(tmp, 'settings'),
    workspaces: path.join(tmp, 'workspaces'),
    checkpoints: path.join(tmp, 'checkpoints'),
    // the notebook trust database is written here when a notebook is saved
    data: path.join(tmp, 'data'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  const put = (plugin, file, value) => {
    fs.mkdirSync(path.join(dirs.settings, plugin), { recursive: true });
    fs.writeFileSync(path.join(dirs.settings, plugin, file), JSON.stringify(value));
  };
  put('@jupyterlab/docmanager-extension', 'plugin.jupyterlab-settings', { autosave });
  put('@jupyterlab/apputils-extension', 'notification.jupyterlab-settings', {
    fetchNews: 'false',
    checkForUpdates: false,
  });
  // Every cell stays in the page (JupyterLab 4 otherwise detaches cells scrolled out of view).
  put('@jupyterlab/notebook-extension', 'tracker.jupyterlab-settings', { windowingMode: 'none' });
  return dirs;
}

async function startJupyter(pre, dirs, port, token, rootDir = NOTEBOOK_DIR, extraArgs = []) {
  const args = [
    'lab',
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${rootDir}`,
    `--LabApp.user_settings_dir=${dirs.settings}`,
    `--LabApp.workspaces_dir=${dirs.workspaces}`,
    // JupyterLab checkpoints a notebook when it opens it: keep that out of notebooks/.
    `--FileCheckpoints.root_dir=${dirs.checkpoints}`,
    ...extraArgs,
  ];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-root');
  const log = fs.openSync(path.join(OUT, 'browser-test-jupyter.log'), 'w');
  const child = spawn(pre.jupyter, args, {
    cwd: ROOT,
    detached: true, // own process group: stopped as a whole below
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      JUPYTER_PATH: pre.jupyterPath,
      JUPYTER_CONFIG_DIR: dirs.config,
      JUPYTER_RUNTIME_DIR: dirs.runtime,
      JUPYTER_DATA_DIR: dirs.data,
      DGR_PROFILE: PROFILE,
      // Results and exported figures of the run go to the throw-away folder, never over committed
      // ones.
      DGR_RESULTS_DIR: path.join(dirs.tmp, 'results'),
      DGR_FIGURES_DIR: path.join(dirs.tmp, 'figures'),
    },
  });
  fs.closeSync(log);
  let exited = null;
  child.on('exit', (code, sig) => (exited = `exit code ${code}${sig ? `, signal ${sig}` : ''}`));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (exited)
      throw new Error(
        `JupyterLab stopped during start-up (${exited}); see test-output/browser-test-jupyter.log`,
      );
    try {
      const r = await fetch(`${base}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) return { child, base };
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(
    'JupyterLab did not answer within 120 s; see test-output/browser-test-jupyter.log',
  );
}

/**
 * Shuts kernels down through the REST API, stops the server's process group, then any kernel left
 * (found by our runtime dir).
 */
async function stopJupyter(server, token, dirs) {
  if (!server) return;
  const { child, base } = server;
  try {
    const r = await fetch(`${base}/api/kernels`, {
      headers: { Authorization: `token ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    for (const k of r.ok ? await r.json() : []) {
      await fetch(`${base}/api/kernels/${k.id}`, {
        method: 'DELETE',
        headers: { Authorization: `token ${token}` },
        signal: AbortSignal.timeout(10000),
      }).catch(() => {});
    }
  } catch {
    /* server already gone */
  }
  const alive = (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    killGroup('SIGTERM');
    for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++)
      await sleep(200);
    killGroup('SIGKILL');
  }
  // Kernels run in their own session; any still alive carries our unique runtime dir in its argv.
  for (const pid of fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)) {
    let cmd;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (pid !== process.pid && cmd.includes(dirs.runtime)) {
      say(`stopping leftover kernel process ${pid}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (let i = 0; i < 25 && alive(child.pid); i++) await sleep(200);
}

/** Waits until the server reports a kernel for the notebook, in state idle. */
async function waitKernelIdle(base, token, ms, notebook = NOTEBOOK) {
  const end = Date.now() + ms;
  let last = 'no session';
  while (Date.now() < end) {
    const r = await fetch(`${base}/api/sessions`, {
      headers: { Authorization: `token ${token}` },
    }).catch(() => null);
    const sessions = r?.ok ? await r.json() : [];
    const s = sessions.find((x) => x.path === notebook || x.path?.endsWith(`/${notebook}`));
    last = s ? `kernel ${s.kernel?.name} ${s.kernel?.execution_state}` : 'no session';
    if (s?.kernel?.execution_state === 'idle') return s.kernel;
    await sleep(250);
  }
  throw new Error(`the notebook's kernel did not become idle within ${ms / 1000} s (${last})`);
}

/** Reads the state of every code cell of the open notebook. */
async function cellStates(page) {
  return page.$$eval(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell.jp-CodeCell',
    (cells) =>
      cells.map((cell, i) => {
        // tslab reports errors on stderr; `error` outputs render with the same MIME type.
        const STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]';
        const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim();
        const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
        const errors = outputs
          .filter((o) => o.matches(STDERR) || o.querySelector(STDERR) !== null)
          .map((o) => (o.textContent ?? '').slice(0, 2000));
        return {
          index: i,
          source: (cell.querySelector('.jp-InputArea-editor')?.textContent ?? '').slice(0, 80),
          prompt,
          outputs: outputs.length,
          mimeTypes: outputs.map(
            (o) =>
              o.getAttribute('data-mime-type') ??
              o.querySelector('[data-mime-type]')?.getAttribute('data-mime-type') ??
              '?',
          ),
          errors,
          plotly: [...cell.querySelectorAll('.js-plotly-plot')].filter(
            (p) => p.querySelector('svg.main-svg') !== null,
          ).length,
        };
      }),
  );
}

async function runTest(pre, base, token) {
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: pre.chromiumPath,
    headless: true,
    chromiumSandbox: false,
    args: [...pre.chromiumArgs],
  });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const url = `${base}/lab/tree/${encodeURIComponent(NOTEBOOK)}?reset&token=${token}`;
    say(`opening ${url.replace(token, '<token>')}`);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
    await page.waitForSelector('.jp-NotebookPanel .jp-Notebook .jp-Cell', { timeout: 120_000 });
    // The toolbar indicator says 'idle' before any kernel exists; the status bar names the kernel
    // and its state once it is connected ("TypeScript | Idle").
    const idle = page.locator('.jp-StatusBar-Widget .jp-StatusBar-TextItem', {
      hasText: /\| Idle$/,
    });
    await idle.waitFor({ timeout: 120_000 });
    await waitKernelIdle(base, token, 120_000);
    const loaded = secs();
    say(`JupyterLab loaded and kernel idle at ${loaded}s`);
    // Dismiss any pop-up (news / update notification) that could cover the menu.
    for (const b of await page
      .locator('.jp-Notification-Toast-Close, .jp-toast-button:has-text("No")')
      .all())
      await b.click().catch(() => {});

    const dialog = page.locator('.jp-Dialog');
    if ((await dialog.count()) > 0)
      throw new Error(
        `unexpected dialog before running: ${(await dialog.first().textContent())?.slice(0, 300)}`,
      );
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
    const tRun = Date.now();
    say('Run > Run All Cells');
    // Busy first (the run started), then idle with no cell still queued.
    const busy = page.locator('.jp-StatusBar-Widget .jp-StatusBar-TextItem', {
      hasText: /\| Busy$/,
    });
    await busy.waitFor({ timeout: 30_000 }).catch(() => {});
    const deadline = Date.now() + TIMEOUT_S * 1000;
    let states;
    for (;;) {
      states = await cellStates(page);
      const queued = states.some((s) => s.prompt.includes('*'));
      if ((await dialog.count()) > 0)
        throw new Error(
          `unexpected dialog while running: ${(await dialog.first().textContent())?.slice(0, 300)}`,
        );
      if (!queued && (await idle.count()) > 0) break;
      if (Date.now() > deadline)
        throw new Error(
          `cells still running after ${TIMEOUT_S} s: ${states
            .filter((s) => s.prompt.includes('*'))
            .map((s) => s.index)
            .join(', ')}`,
        );
      await sleep(500);
    }
    const runSeconds = (Date.now() - tRun) / 1000;
    say(`all cells finished in ${runSeconds.toFixed(1)} s`);

    // Bring each code cell into view once (rendering of off-screen outputs is deferred),
    // then re-read.
    const cells = page.locator(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell.jp-CodeCell',
    );
    say('scrolling through the cells');
    for (let i = 0, n = await cells.count(); i < n; i++)
      await cells
        .nth(i)
        .scrollIntoViewIfNeeded({ timeout: 5000 })
        .catch(() => {});
    // The plotly extension first shows the PNG of a bundle that has one, and builds the live
    // graph when the mouse enters it: hover each figure, as a reader would.
    say('checking outputs');
    const figures = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly');
    const nFigures = await figures.count();
    for (let i = 0; i < nFigures; i++) {
      await figures.nth(i).scrollIntoViewIfNeeded({ timeout: 10_000 });
      say(`figure ${i + 1}: in view`);
      await figures.nth(i).hover({ timeout: 10_000 });
      say(`figure ${i + 1}: hovered`);
      const live = await figures
        .nth(i)
        .locator('svg.main-svg')
        .first()
        .waitFor({ state: 'attached', timeout: 30_000 })
        .then(
          () => true,
          () => false,
        );
      say(`figure ${i + 1}: ${live ? 'live plotly graph rendered' : 'no live graph after 30 s'}`);
    }
    states = await cellStates(page);
    if (nFigures > 0) {
      await figures.first().scrollIntoViewIfNeeded({ timeout: 10_000 });
      await page.mouse.move(5, 500); // leave the plot so no hover label covers it
      await sleep(500);
    }
    fs.mkdirSync(OUT, { recursive: true });
    const shot = path.join(OUT, `browser-test-${path.basename(NOTEBOOK, '.ipynb')}.png`);
    await page.screenshot({ path: shot });
    say(`screenshot: ${path.relative(ROOT, shot)}`);

    const failures = [];
    for (const s of states) {
      const where = `cell ${s.index + 1} (${JSON.stringify(s.source.slice(0, 50))})`;
      if (!/\[\d+\]/.test(s.prompt))
        failures.push(`${where} did not run (prompt ${JSON.stringify(s.prompt)})`);
      if (s.outputs === 0) failures.push(`${where} produced no output`);
      for (const e of s.errors)
        failures.push(
          `${where} produced error output:\n    ${e.split('\n').slice(0, 12).join('\n    ')}`,
        );
    }
    const plots = states.reduce((a, s) => a + s.plotly, 0);
    if (plots === 0)
      failures.push('no plotly figure rendered (no .js-plotly-plot svg.main-svg in the page)');
    if (nFigures === 0)
      failures.push(
        'no plotly output (.jp-RenderedPlotly) in the page: is the plotly package in .venv?',
      );
    return { states, plots, failures, runSeconds, loaded, pageErrors: consoleErrors };
  } finally {
    await browser.close();
  }
}

/** Run All of one notebook in notebooks/ (the original test); returns its failures. */
async function runAllCellsTest(pre) {
  const hashBefore = sha256(pre.nb);
  const dirs = isolatedJupyterDirs();
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  let server = null;
  let result = null;
  let error = null;
  const onSignal = async (sig) => {
    say(`${sig}: stopping JupyterLab`);
    await stopJupyter(server, token, dirs);
    process.exit(1);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say(
      `starting JupyterLab on 127.0.0.1:${port} (root ${path.relative(ROOT, NOTEBOOK_DIR)}/, ` +
        `profile ${PROFILE})`,
    );
    server = await startJupyter(pre, dirs, port, token);
    say('JupyterLab is up');
    result = await runTest(pre, server.base, token);
  } catch (e) {
    error = e;
  } finally {
    await stopJupyter(server, token, dirs);
    fs.rmSync(dirs.tmp, { recursive: true, force: true });
  }
  const failures = result ? [...result.failures] : [];
  if (error) failures.push(`test aborted: ${error.stack ?? error}`);
  if (sha256(pre.nb) !== hashBefore)
    failures.push(`${NOTEBOOK} was modified on disk during the test`);
  if (result) {
    for (const s of result.states) {
      console.log(
        `  cell ${String(s.index + 1).padStart(2)} ${s.prompt.padEnd(6)} outputs ${s.outputs} ` +
          `[${s.mimeTypes.join(', ')}]${s.plotly ? ` plotly svg ${s.plotly}` : ''}`,
      );
    }
    // Page errors are reported, not failed on: JupyterLab's debugger panel throws "No active
    // debugger session" for kernels without a debugger (tslab).
    for (const e of new Set(result.pageErrors))
      console.log(`  page error (not a failure): ${e.slice(0, 200)}`);
    console.log(
      `  plotly figures rendered: ${result.plots}; ` +
        `run-all took ${result.runSeconds.toFixed(1)} s; total ${secs()} s`,
    );
  }
  return failures;
}

/** What one opened notebook shows: figures, images, "No renderer" messages, widths. */
async function openedState(page) {
  return page.evaluate(() => {
    const panel = globalThis.document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')];
    const out = {
      cells: cells.length,
      counted: 0,
      figures: 0,
      figuresRendered: 0,
      images: 0,
      imagesRendered: 0,
      noRenderer: [],
      overflow: [],
      areaWidth: 0,
      widest: 0,
      mimes: [],
    };
    cells.forEach((cell, i) => {
      const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim();
      if (/\[\d+\]/.test(prompt)) out.counted += 1;
      for (const o of cell.querySelectorAll('.jp-OutputArea-output')) {
        const area = o.getBoundingClientRect();
        out.areaWidth = Math.max(out.areaWidth, Math.round(area.width));
        if (/No renderer could be found/.test(o.textContent ?? '')) out.noRenderer.push(i + 1);
        out.mimes.push(`${i + 1}:${o.getAttribute('data-mime-type') ?? o.className}`);
        // The plotly extension's widget is the output element itself.
        for (const f of [o, ...o.querySelectorAll('.jp-RenderedPlotly')].filter((e) =>
          e.matches('.jp-RenderedPlotly'),
        )) {
          out.figures += 1;
          const img = f.querySelector('img');
          const svg = f.querySelector('svg.main-svg');
          if ((img && img.naturalWidth > 0) || (svg && svg.getBoundingClientRect().width > 0))
            out.figuresRendered += 1;
        }
        for (const img of o.querySelectorAll('.jp-RenderedImage img')) {
          out.images += 1;
          if (img.naturalWidth > 0) out.imagesRendered += 1;
        }
        // Intrinsic width (a PNG's declared width, a plot's layout width, a table's width)
        // against the output area: wider than the area means cut off, scrolled or shrunk.
        const things = [...o.querySelectorAll('img, .js-plotly-plot .main-svg, table')];
        for (const t of things) {
          const declared =
            t.tagName === 'IMG'
              ? Number(t.getAttribute('width')) || t.naturalWidth
              : t.getBoundingClientRect().width;
          out.widest = Math.max(out.widest, Math.round(declared));
          if (declared > area.width + 1)
            out.overflow.push(
              `cell ${i + 1}: ${t.tagName.toLowerCase()} ${Math.round(declared)} px in a ` +
                `${Math.round(area.width)} px output area`,
            );
        }
        if (o.scrollWidth > o.clientWidth + 1)
          out.overflow.push(
            `cell ${i + 1}: output scrolls sideways (${o.scrollWidth} > ${o.clientWidth} px)`,
          );
      }
    });
    return out;
  });
}

/**
 * Opens a copy of every notebook of `srcDir` in JupyterLab (kernel started, nothing run), checks
 * what the reader sees, saves it from JupyterLab and compares the saved file with the original.
 */
async function openAllTest(pre, srcDir) {
  const failures = [];
  // --only 00,01: notebooks whose names start with one of these prefixes (default: all).
  const only = opt('only', '').split(',');
  const names = fs
    .readdirSync(srcDir)
    .filter(
      (f) =>
        /^\d\d-.*\.ipynb$/.test(f) && !f.includes('.failed.') && only.some((p) => f.startsWith(p)),
    )
    .sort();
  if (names.length === 0) return [`no notebooks in ${srcDir}`];
  const dirs = isolatedJupyterDirs({ autosave: true });
  const root = path.join(dirs.tmp, 'notebooks');
  fs.mkdirSync(root);
  for (const n of names) fs.copyFileSync(path.join(srcDir, n), path.join(root, n));
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  let server = null;
  let browser = null;
  say(
    `opening ${names.length} notebooks of ${path.relative(ROOT, srcDir) || '.'}/ (copies), ` +
      `viewport ${VIEWPORT.width}×${VIEWPORT.height}`,
  );
  try {
    // window.jupyterapp: notebooks are opened one after another without reloading JupyterLab.
    server = await startJupyter(pre, dirs, port, token, root, [
      '--LabApp.expose_app_in_browser=True',
    ]);
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({
      executablePath: pre.chromiumPath,
      headless: true,
      chromiumSandbox: false,
      args: [...pre.chromiumArgs],
    });
    const page = await browser.newPage({ viewport: VIEWPORT });
    let errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${server.base}/lab?reset&token=${token}`, {
      waitUntil: 'domcontentloaded',
      timeout: 120_000,
    });
    await page.waitForFunction(
      () => globalThis.jupyterapp?.commands?.hasCommand('docmanager:open'),
      null,
      { timeout: 120_000 },
    );
    await page.waitForSelector('.jp-StatusBar-Widget', { timeout: 120_000 });
    for (const name of names) {
      const t = Date.now();
      errors = [];
      const file = path.join(root, name);
      const before = fs.readFileSync(file);
      await page.evaluate(async (p) => {
        const app = globalThis.jupyterapp;
        await app.commands.execute('application:close-all');
        await app.commands.execute('docmanager:open', { path: p });
      }, name);
      await page.waitForSelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell', {
        timeout: 120_000,
      });
      const tCells = (Date.now() - t) / 1000;
      await page
        .locator('.jp-StatusBar-Widget .jp-StatusBar-TextItem', { hasText: /\| Idle$/ })
        .waitFor({ timeout: 120_000 });
      await waitKernelIdle(server.base, token, 120_000, name);
      if (process.env.DGR_BROWSER_DEBUG)
        console.log(
          `  ${name}: cells shown at ${tCells.toFixed(1)} s, ` +
            `kernel idle at ${((Date.now() - t) / 1000).toFixed(1)} s`,
        );
      const tOpen = (Date.now() - t) / 1000;
      const cells = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
      for (let i = 0, n = await cells.count(); i < n; i++)
        await cells
          .nth(i)
          .scrollIntoViewIfNeeded({ timeout: 5000 })
          .catch(() => {});
      await sleep(500);
      const st = await openedState(page);
      const tChecked = (Date.now() - t) / 1000;
      if (process.env.DGR_BROWSER_DEBUG) console.log(`  ${name} outputs: ${st.mimes.join(' ')}`);
      const where = (m) => `${name}: ${m}`;
      if (st.counted < st.cells)
        failures.push(
          where(`${st.cells - st.counted} of ${st.cells} code cells show no execution count`),
        );
      if (st.figuresRendered < st.figures)
        failures.push(
          where(`${st.figures - st.figuresRendered} of ${st.figures} figures not rendered`),
        );
      if (st.imagesRendered < st.images)
        failures.push(
          where(`${st.images - st.imagesRendered} of ${st.images} images not rendered`),
        );
      for (const c of st.noRenderer)
        failures.push(where(`cell ${c} says "No renderer could be found"`));
      for (const o of st.overflow) failures.push(where(o));
      for (const e of new Set(errors)) failures.push(where(`console error: ${e.slice(0, 200)}`));
      // A screenshot at the first figure (or the top when there is none).
      // (the first plotly figure, else the first image)
      const plot = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly').first();
      const fig =
        (await plot.count()) > 0
          ? plot
          : page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedImage').first();
      if ((await fig.count()) > 0)
        await fig.scrollIntoViewIfNeeded({ timeout: 5000 }).catch(() => {});
      else
        await cells
          .first()
          .scrollIntoViewIfNeeded({ timeout: 5000 })
          .catch(() => {});
      await page.mouse.move(5, 500);
      await sleep(300);
      const shot = path.join(OUT, `browser-open-${path.basename(name, '.ipynb')}.png`);
      await page.screenshot({ path: shot });
      // Save as autosave would, then the file must be what was committed.
      const mtime = fs.statSync(file).mtimeMs;
      await page
        .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook')
        .first()
        .focus()
        .catch(() => {});
      await page.keyboard.press('Control+s');
      const end = Date.now() + 15_000;
      while (fs.statSync(file).mtimeMs === mtime && Date.now() < end) await sleep(100);
      // The server writes in place: wait until the file stops changing before reading it.
      let last = '';
      for (let i = 0; i < 50; i++) {
        const st2 = fs.statSync(file);
        const now = `${st2.mtimeMs}:${st2.size}`;
        if (now === last) break;
        last = now;
        await sleep(300);
      }
      if (fs.statSync(file).mtimeMs === mtime)
        failures.push(where('JupyterLab did not save the notebook within 15 s of Ctrl+S'));
      else if (!fs.readFileSync(file).equals(before))
        failures.push(
          where(
            'saving it from JupyterLab changed the file: ' +
              `${firstDiff(before, fs.readFileSync(file))}`,
          ),
        );
      const dialog = page.locator('.jp-Dialog');
      if ((await dialog.count()) > 0)
        failures.push(where(`dialog: ${(await dialog.first().textContent())?.slice(0, 200)}`));
      console.log(
        `  ${name}: ${st.cells} code cells (${st.counted} with a count), ` +
          `figures ${st.figuresRendered}/${st.figures}, ` +
          `images ${st.imagesRendered}/${st.images}, output area ${st.areaWidth} px, ` +
          `widest output ${st.widest} px, ${((Date.now() - t) / 1000).toFixed(1)} s ` +
          `(open + kernel ${tOpen.toFixed(1)}, checked ${tChecked.toFixed(1)}), ` +
          `${path.relative(ROOT, shot)}`,
      );
      // Free the kernel before the next notebook.
      const r = await fetch(`${server.base}/api/sessions`, {
        headers: { Authorization: `token ${token}` },
      }).catch(() => null);
      for (const sess of r?.ok ? await r.json() : []) {
        await fetch(`${server.base}/api/sessions/${sess.id}`, {
          method: 'DELETE',
          headers: { Authorization: `token ${token}` },
        }).catch(() => {});
      }
    }
  } catch (e) {
    failures.push(`opening notebooks aborted: ${e.stack ?? e}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopJupyter(server, token, dirs);
    fs.rmSync(dirs.tmp, { recursive: true, force: true });
  }
  return failures;
}

/** Where two versions of a notebook first differ, with a little context. */
function firstDiff(a, b) {
  const x = a.toString('utf8');
  const y = b.toString('utf8');
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  const line = x.slice(0, i).split('\n').length;
  return (
    `line ${line}: ${JSON.stringify(x.slice(Math.max(0, i - 40), i + 60))} became ` +
    `${JSON.stringify(y.slice(Math.max(0, i - 40), i + 60))}`
  );
}

async function main() {
  let pre;
  try {
    pre = preconditions();
  } catch (e) {
    if (e instanceof CannotRun) {
      console.error(`[browser-test] cannot run: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  fs.mkdirSync(OUT, { recursive: true });
  const failures = [];
  if (!OPEN_ONLY) failures.push(...(await runAllCellsTest(pre)));
  if (ALL || OPEN_ONLY) failures.push(...(await openAllTest(pre, OPEN_ROOT)));
  if (failures.length > 0) {
    console.log(`browser test: FAILED (${failures.length})`);
    for (const f of failures) console.log(`  - ${f}`);
    process.exit(1);
  }
  console.log(`browser test: passed (${secs()} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
