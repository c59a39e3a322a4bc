/**
 * Static rendering of Plotly figures (PNG, SVG) in headless Chromium driven by
 * playwright-core. Chromium comes from the system (Debian's `chromium`), never
 * downloaded by this library.
 *
 * A renderer is an explicit object: whoever launches it closes it. Launching
 * costs seconds (mostly parsing plotly.js), a render after that tens of ms.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { PlotlyFigure } from './types';

/** System paths tried, in order, after an explicit path, $DGR_CHROMIUM and the PATH. */
export const CHROMIUM_CANDIDATES: readonly string[] = Object.freeze([
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/usr/bin/microsoft-edge',
  '/usr/bin/microsoft-edge-stable',
  '/opt/microsoft/msedge/msedge',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
]);

/** Program names looked up on the PATH. */
export const CHROMIUM_COMMANDS: readonly string[] = Object.freeze([
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'microsoft-edge',
]);

/**
 * The one command that installs Chromium for this project (Debian; see
 * scripts/install-chromium.sh).
 */
export const CHROMIUM_INSTALL_COMMAND = 'npm run install-chromium';

/** How to get Chromium, for error messages and notebook notes. */
export const CHROMIUM_INSTALL_HINT =
  `Install Chromium: in the project folder run \`${CHROMIUM_INSTALL_COMMAND}\` (Debian: ` +
  'apt-get install chromium), on macOS `brew install --cask chromium`; ' +
  'or set DGR_CHROMIUM to the path of a Chrome, Chromium or Edge binary. No kernel restart is ' +
  'needed: the next figure looks again.';

/** Thrown when no Chromium binary can be found; the message says how to install one. */
export class ChromiumMissingError extends Error {
  constructor(readonly looked: readonly string[]) {
    super(
      `Static figure rendering (PNG/SVG export) needs headless Chromium, which was not found ` +
        `(looked at: ${looked.join(', ')}).\n${CHROMIUM_INSTALL_HINT}`,
    );
    this.name = 'ChromiumMissingError';
  }
}

/** What {@link findChromium} reads from the machine; tests pass fakes. */
export interface ChromiumProbe {
  /** Whether `p` is an executable file. */
  readonly exists?: (p: string) => boolean;
  /** Entries of a folder, [] when it does not exist. */
  readonly listDir?: (dir: string) => readonly string[];
  /** The user's home folder (playwright's cache is under it). */
  readonly home?: string;
  readonly platform?: NodeJS.Platform;
}

/**
 * Browsers that playwright downloaded (`npx playwright install chromium`): under
 * $PLAYWRIGHT_BROWSERS_PATH, else ~/.cache/ms-playwright (Linux; $XDG_CACHE_HOME if set) or
 * ~/Library/Caches/ms-playwright (macOS). Newest revision first; full Chromium before the
 * headless shell.
 */
export function playwrightCacheCandidates(
  env: Readonly<Record<string, string | undefined>>,
  listDir: (dir: string) => readonly string[],
  home: string,
  platform: NodeJS.Platform,
): string[] {
  const roots: string[] = [];
  const custom = env.PLAYWRIGHT_BROWSERS_PATH;
  if (custom !== undefined && custom !== '' && custom !== '0') roots.push(custom);
  if (platform === 'darwin') roots.push(path.join(home, 'Library', 'Caches', 'ms-playwright'));
  else roots.push(path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'ms-playwright'));
  const inside: Record<string, readonly string[]> =
    platform === 'darwin'
      ? {
          chromium: [
            'chrome-mac-arm64/Google Chrome for Testing.app/' +
              'Contents/MacOS/Google Chrome for Testing',
            'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
          ],
          chromium_headless_shell: [
            'chrome-headless-shell-mac-arm64/chrome-headless-shell',
            'chrome-mac/headless_shell',
          ],
        }
      : {
          chromium: ['chrome-linux64/chrome', 'chrome-linux/chrome'],
          chromium_headless_shell: [
            'chrome-headless-shell-linux64/chrome-headless-shell',
            'chrome-linux/headless_shell',
          ],
        };
  const revision = (d: string): number => Number(d.slice(d.lastIndexOf('-') + 1)) || 0;
  const out: string[] = [];
  for (const root of roots) {
    const dirs = listDir(root);
    for (const kind of ['chromium', 'chromium_headless_shell']) {
      const mine = dirs
        .filter((d) => d.startsWith(`${kind}-`))
        .sort((a, b) => revision(b) - revision(a));
      for (const d of mine) for (const rel of inside[kind] ?? []) out.push(path.join(root, d, rel));
    }
  }
  return out;
}

/** Every path {@link findChromium} would try after $DGR_CHROMIUM, in order. */
export function chromiumCandidates(
  env: Readonly<Record<string, string | undefined>> = process.env,
  probe: ChromiumProbe = {},
): string[] {
  const listDir = probe.listDir ?? listDirSafe;
  const platform = probe.platform ?? process.platform;
  const onPath = (env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => d !== '')
    .flatMap((d) => CHROMIUM_COMMANDS.map((c) => path.join(d, c)));
  const all = [
    ...onPath,
    ...CHROMIUM_CANDIDATES,
    ...playwrightCacheCandidates(env, listDir, probe.home ?? os.homedir(), platform),
  ];
  return [...new Set(all)];
}

/**
 * The Chromium binary to use: `explicit`, else $DGR_CHROMIUM, else the first existing of
 * {@link chromiumCandidates}: Chrome/Chromium/Edge on the PATH, the usual system paths, then
 * playwright's browser cache.
 * @throws ChromiumMissingError when none exists (an explicit or $DGR_CHROMIUM path that does not
 * exist is an error too)
 */
export function findChromium(
  explicit?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  exists: (p: string) => boolean = isExecutableFile,
  probe: Omit<ChromiumProbe, 'exists'> = {},
): string {
  const chosen = explicit ?? env.DGR_CHROMIUM;
  if (chosen !== undefined && chosen !== '') {
    if (exists(chosen)) return chosen;
    throw new ChromiumMissingError([
      `${chosen} (${explicit !== undefined ? 'chromiumPath option' : '$DGR_CHROMIUM'})`,
    ]);
  }
  const candidates = chromiumCandidates(env, probe);
  for (const c of candidates) if (exists(c)) return c;
  throw new ChromiumMissingError([
    ...CHROMIUM_CANDIDATES,
    'the PATH',
    "playwright's browser cache",
  ]);
}

function listDirSafe(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isExecutableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Chromium flags: a quiet headless browser that never phones home. */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]);

export interface StaticImageOptions {
  /** CSS pixels; default layout.width, else 700. */
  readonly width?: number;
  /** CSS pixels; default layout.height, else 450. */
  readonly height?: number;
  /** Device pixel ratio of PNGs (2 = sharp on high-DPI screens); default 1. */
  readonly scale?: number;
}

/** A running headless Chromium with plotly.js loaded. */
export interface StaticRenderer {
  /** Chromium binary in use. */
  readonly executablePath: string;
  /** Milliseconds the launch took (browser start + plotly.js load). */
  readonly launchMs: number;
  renderPng(figure: PlotlyFigure, opts?: StaticImageOptions): Promise<Uint8Array>;
  renderSvg(figure: PlotlyFigure, opts?: StaticImageOptions): Promise<string>;
  /** Closes the browser and removes its temporary files. Idempotent. */
  close(): Promise<void>;
}

export interface RendererOptions {
  /** Chromium binary; default {@link findChromium}. */
  readonly chromiumPath?: string;
  /** plotly.js bundle; default the installed `plotly.js-dist`. */
  readonly plotlyJsPath?: string;
}

/** Path of the plotly.js bundle shipped by the `plotly.js-dist` package. */
export function plotlyJsPath(): string {
  return require.resolve('plotly.js-dist');
}

/** CSS size of a figure's static image. */
export function staticSize(
  figure: PlotlyFigure,
  opts: StaticImageOptions = {},
): { width: number; height: number } {
  const width = opts.width ?? figure.layout?.width ?? 700;
  const height = opts.height ?? figure.layout?.height ?? 450;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isFinite(v) || v < 10 || v > 10000) {
      throw new RangeError(`${name}: expected a number of CSS pixels in [10, 10000], got ${v}`);
    }
  }
  return { width: Math.round(width), height: Math.round(height) };
}

/**
 * Starts headless Chromium and loads plotly.js into a page (from a local
 * `file://` page, which lets Chromium read the bundle from disk).
 * @throws ChromiumMissingError when Chromium is not installed
 */
export async function launchRenderer(opts: RendererOptions = {}): Promise<StaticRenderer> {
  const executablePath = findChromium(opts.chromiumPath);
  const plotly = opts.plotlyJsPath ?? plotlyJsPath();
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dgr-figures-'));
  const pageFile = path.join(tmp, 'render.html');
  fs.writeFileSync(
    pageFile,
    '<!doctype html><html><head><meta charset="utf-8">' +
      `<script src="${pathToFileURL(plotly).href}"></script></head><body></body></html>`,
  );
  /* eslint-disable-next-line @typescript-eslint/no-require-imports --
   * playwright-core is loaded only when a figure is rendered */
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      chromiumSandbox: false,
      args: [...CHROMIUM_ARGS],
      timeout: 60_000,
    });
    const page: Page = await browser.newPage();
    await page.goto(pathToFileURL(pageFile).href, { waitUntil: 'load', timeout: 60_000 });
    const ok = await page.evaluate(
      () =>
        typeof (globalThis as { Plotly?: { toImage?: unknown } }).Plotly?.toImage === 'function',
    );
    if (!ok) throw new Error(`plotly.js did not load in Chromium from ${plotly}`);
    return makeRenderer(browser, page, executablePath, Date.now() - t0, tmp);
  } catch (err) {
    if (browser !== null) await browser.close().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function makeRenderer(
  browser: Browser,
  page: Page,
  executablePath: string,
  launchMs: number,
  tmp: string,
): StaticRenderer {
  let closed = false;
  const toImage = async (
    figure: PlotlyFigure,
    format: 'png' | 'svg',
    opts: StaticImageOptions,
  ): Promise<string> => {
    if (closed)
      throw new Error(
        'This figure renderer is closed; create a new one (createFigures) to render again.',
      );
    const { width, height } = staticSize(figure, opts);
    const scale = opts.scale ?? 1;
    if (!(scale > 0 && scale <= 8))
      throw new RangeError(`scale: expected a number in (0, 8], got ${scale}`);
    return page.evaluate(
      async ({ fig, format, width, height, scale }) => {
        const P = (
          globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }
        ).Plotly;
        return P.toImage(
          { data: fig.data, layout: fig.layout ?? {}, config: fig.config ?? {} },
          { format, width, height, scale },
        );
      },
      { fig: figure, format, width, height, scale },
    );
  };
  return {
    executablePath,
    launchMs,
    async renderPng(figure, opts = {}) {
      const url = await toImage(figure, 'png', opts);
      const comma = url.indexOf(',');
      if (!url.startsWith('data:image/png;base64,'))
        throw new Error(`Plotly.toImage returned no PNG (got ${url.slice(0, 40)}...)`);
      return new Uint8Array(Buffer.from(url.slice(comma + 1), 'base64'));
    },
    async renderSvg(figure, opts = {}) {
      const url = await toImage(figure, 'svg', opts);
      const comma = url.indexOf(',');
      if (!url.startsWith('data:image/svg+xml'))
        throw new Error(`Plotly.toImage returned no SVG (got ${url.slice(0, 40)}...)`);
      const body = url.slice(comma + 1);
      return url.slice(0, comma).endsWith(';base64')
        ? Buffer.from(body, 'base64').toString('utf8')
        : decodeURIComponent(body);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await browser.close();
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}

/** What `npm install` knows about the machine when no browser was found. */
export interface InstallContext {
  readonly platform: NodeJS.Platform;
  /** Text of /etc/os-release ('' when absent). */
  readonly osRelease: string;
  /** Effective user id (undefined where there is none, e.g. Windows). */
  readonly uid: number | undefined;
  readonly hasAptGet: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Opt-out of the automatic install: DGR_INSTALL_CHROMIUM=0 (or no/false/off). */
export const CHROMIUM_OPT_OUT_VAR = 'DGR_INSTALL_CHROMIUM';

/**
 * Whether `npm install` may install Debian's chromium itself: only on Debian or Ubuntu (by
 * /etc/os-release), as root (no password prompt in the middle of `npm install`), with apt-get,
 * and unless {@link CHROMIUM_OPT_OUT_VAR} says no. `reason` says why not, for the log.
 */
export function chromiumInstallPlan(ctx: InstallContext): {
  readonly install: boolean;
  readonly reason: string;
} {
  const optOut = ctx.env[CHROMIUM_OPT_OUT_VAR];
  if (optOut !== undefined && /^(0|no|false|off)$/i.test(optOut.trim())) {
    return { install: false, reason: `${CHROMIUM_OPT_OUT_VAR}=${optOut} asks not to install it` };
  }
  if (ctx.platform !== 'linux')
    return {
      install: false,
      reason: `automatic install is for Debian/Ubuntu, not ${ctx.platform}`,
    };
  const field = (k: string): string =>
    (new RegExp(`^${k}=["']?([^"'\\n]*)`, 'm').exec(ctx.osRelease)?.[1] ?? '').toLowerCase();
  const family = `${field('ID')} ${field('ID_LIKE')}`;
  if (!/\b(debian|ubuntu)\b/.test(family))
    return { install: false, reason: 'automatic install is for Debian/Ubuntu only' };
  if (ctx.uid !== 0)
    return { install: false, reason: 'not running as root (apt-get would need sudo)' };
  if (!ctx.hasAptGet) return { install: false, reason: 'apt-get is not available' };
  return { install: true, reason: `Debian/Ubuntu as root; set ${CHROMIUM_OPT_OUT_VAR}=0 to skip` };
}
