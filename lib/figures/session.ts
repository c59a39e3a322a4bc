/**
 * The figure session a notebook creates, uses and closes:
 *
 * ```ts
 * const figs = await dgr.createFigures();
 * await figs.show(fig);                      // interactive Plotly + static PNG in one output
 * await figs.exportFigure(fig, 'accuracy');  // figures/accuracy.{png,svg,html}
 * await figs.close();                        // stops Chromium
 * ```
 *
 * Chromium starts on the first figure that needs a static image and stays up
 * until `close()` (a launch costs seconds; a render tens of milliseconds).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import {
  CHROMIUM_INSTALL_HINT,
  ChromiumMissingError,
  launchRenderer,
  plotlyJsPath,
  staticSize,
  type StaticImageOptions,
  type StaticRenderer,
} from './chromium';
import { figureBundle, figureTitle, kernelDisplay, toPlainFigure } from './display';
import { imageGridPng, type ImageGridOptions } from './grid';
import { writeFileAtomic } from '../fsutil';
import { escapeHtml, writeTableCsv, type TableInput } from './table';
import type { DisplaySink, PlotlyFigure } from './types';

/** How a standalone HTML export gets plotly.js. */
export type HtmlPlotlyJs =
  /** embedded in every file: opens anywhere, offline (~11 MB per file with plotly.js-dist 3) */
  | 'inline'
  /** one shared `plotly-<version>.js` next to the HTML files in the export folder */
  | 'directory'
  /** loaded from cdn.plot.ly (small files; needs internet to view) */
  | 'cdn';

export interface FiguresOptions {
  /** Folder for exports; default $DGR_FIGURES_DIR, else `figures/` at the repository root. */
  readonly exportDir?: string;
  /** Chromium binary; default $DGR_CHROMIUM, else the usual system paths. */
  readonly chromiumPath?: string;
  /** Where `show` sends outputs; default the tslab kernel. */
  readonly display?: DisplaySink;
  /** Pixel scale of the PNG inside notebook outputs (default 1: ~20 KB for 700x450). */
  readonly showScale?: number;
  /** Pixel scale of exported PNG files (default 2). */
  readonly exportScale?: number;
  /**
   * plotly.js in exported HTML (default 'inline': one self-contained file; 'directory' when
   * auto-exporting).
   */
  readonly htmlPlotlyJs?: HtmlPlotlyJs;
  /**
   * Also export every figure `show` displays, as `<prefix>-<NN>-<title>.{png,svg,html}`;
   * null = off. Default: on when $DGR_EXPORT_FIGURES is set (as `npm run reproduce` does), with the
   * prefix $DGR_NOTEBOOK (the notebook's name, set by the notebook runner) or 'figure'.
   */
  readonly autoExport?: string | null;
}

/** Files written by {@link Figures.exportFigure} (absolute paths). */
export interface ExportedFigure {
  readonly png: string;
  readonly svg: string;
  readonly html: string;
}

export interface Figures {
  /** Absolute export folder. */
  readonly exportDir: string;
  /**
   * Displays a figure as ONE output carrying Plotly JSON (interactive in
   * JupyterLab), a static PNG (everywhere else) and a text line. Without
   * Chromium the PNG is left out and the text (plus a one-time warning on
   * stderr) says how to install it.
   */
  show(figure: PlotlyFigure, opts?: StaticImageOptions): Promise<void>;
  /**
   * Writes `<exportDir>/<name>.png`, `.svg` and a standalone `.html`.
   * @throws ChromiumMissingError (before writing anything) when Chromium is not installed
   */
  exportFigure(
    figure: PlotlyFigure,
    name: string,
    opts?: StaticImageOptions,
  ): Promise<ExportedFigure>;
  /** Writes an image grid ({@link imageGridPng}) to `<exportDir>/<name>.png`. */
  exportImageGrid(images: Tensor4D, name: string, opts?: ImageGridOptions): Promise<string>;
  /** Writes a table to `<exportDir>/<name>.csv`. */
  exportTable(table: TableInput, name: string): string;
  /** Milliseconds the Chromium launch took, or null if it has not launched. */
  launchMs(): number | null;
  /** Stops Chromium. Idempotent; later static renders fail with a clear error. */
  close(): Promise<void>;
}

/** The project's figures folder: `$DGR_FIGURES_DIR`, else `figures/` at the repository root. */
export function defaultFiguresDir(): string {
  return process.env.DGR_FIGURES_DIR ?? path.resolve(__dirname, '..', '..', '..', 'figures');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks an export name: a plain file stem, no folders, no extension needed. */
export function checkExportName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw new RangeError(
      `name: expected a file stem of letters, digits, '.', '_' or '-' (no folders), e.g. ` +
        `'split-mnist-accuracy'; got ${JSON.stringify(name)}`,
    );
  }
  return name.replace(/\.(png|svg|html|csv)$/i, '');
}

/** Version of the installed plotly.js-dist. */
function plotlyVersion(): string {
  const pkg = JSON.parse(
    fs.readFileSync(path.join(path.dirname(plotlyJsPath()), 'package.json'), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

/**
 * A standalone HTML page showing the figure interactively.
 * @param script how plotly.js gets in: its source inline, or a URL
 */
export function standaloneHtml(
  figure: PlotlyFigure,
  script: { readonly inline: string } | { readonly src: string },
): string {
  const plain = toPlainFigure(figure);
  const json = (v: unknown): string => JSON.stringify(v ?? {}).replace(/</g, '\\u003c');
  const title = figureTitle(plain) || 'figure';
  const size =
    plain.layout?.width !== undefined || plain.layout?.height !== undefined
      ? ''
      : 'width:100%;height:95vh;';
  const plotlyTag =
    'inline' in script
      ? '<script type="text/javascript">' +
        `${script.inline.replace(/<\/script/gi, '<\\/script')}</script>`
      : `<script src="${escapeHtml(script.src)}" charset="utf-8"></script>`;
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    plotlyTag,
    '</head><body style="margin:0">',
    `<div id="figure" style="${size}"></div>`,
    '<script type="text/javascript">',
    `Plotly.newPlot("figure", ${json(plain.data)}, ${json(plain.layout)}, ` +
      `Object.assign({responsive: true}, ${json(plain.config)}));`,
    '</script>',
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * Creates a figure session. Cheap: Chromium is launched by the first
 * `show`/`exportFigure`, and stopped by `close()`.
 */
export async function createFigures(opts: FiguresOptions = {}): Promise<Figures> {
  const exportDir = path.resolve(opts.exportDir ?? defaultFiguresDir());
  const display = opts.display ?? kernelDisplay;
  const showScale = opts.showScale ?? 1;
  const exportScale = opts.exportScale ?? 2;
  const autoExport =
    opts.autoExport !== undefined
      ? opts.autoExport
      : process.env.DGR_EXPORT_FIGURES
        ? (process.env.DGR_NOTEBOOK ?? 'figure')
        : null;
  const htmlPlotlyJs = opts.htmlPlotlyJs ?? (autoExport !== null ? 'directory' : 'inline');
  let shown = 0;
  for (const [k, v] of [
    ['showScale', showScale],
    ['exportScale', exportScale],
  ] as const) {
    if (!(v > 0 && v <= 8)) throw new RangeError(`${k}: expected a number in (0, 8], got ${v}`);
  }
  if (!['inline', 'directory', 'cdn'].includes(htmlPlotlyJs)) {
    throw new RangeError(
      `htmlPlotlyJs: expected 'inline', 'directory' or 'cdn', got ${JSON.stringify(htmlPlotlyJs)}`,
    );
  }

  let renderer: Promise<StaticRenderer> | null = null;
  let launched: StaticRenderer | null = null;
  let closed = false;
  let warned = false;

  /** The running renderer, launching it if needed. A failed launch is retried next time. */
  const getRenderer = (): Promise<StaticRenderer> => {
    if (closed)
      return Promise.reject(
        new Error('This figure session is closed; call createFigures() again.'),
      );
    if (renderer === null) {
      const attempt = launchRenderer(
        opts.chromiumPath !== undefined ? { chromiumPath: opts.chromiumPath } : {},
      );
      renderer = attempt.then(
        (r) => {
          launched = r;
          return r;
        },
        (err: unknown) => {
          renderer = null;
          throw err;
        },
      );
    }
    return renderer;
  };

  const session: Figures = {
    exportDir,

    async show(figure, imgOpts = {}) {
      const plain = toPlainFigure(figure);
      const size = staticSize(plain, imgOpts);
      let r: StaticRenderer | null = null;
      let note: string | undefined;
      try {
        r = await getRenderer();
      } catch (err) {
        if (closed) throw err;
        const why =
          err instanceof ChromiumMissingError
            ? 'Chromium was not found.'
            : `Chromium failed to start: ${(err as Error).message.split('\n')[0]}`;
        note = `[static image missing: ${why} ${CHROMIUM_INSTALL_HINT}]`;
        if (!warned) {
          warned = true;
          process.stderr.write(
            'Warning: figures are shown without a static PNG (invisible outside JupyterLab). ' +
              `${why}\n${CHROMIUM_INSTALL_HINT}\n`,
          );
        }
      }
      const png =
        r === null
          ? null
          : await r.renderPng(plain, { ...size, scale: imgOpts.scale ?? showScale });
      display(figureBundle(plain, png, { ...(note ? { note } : {}), pngSize: size }));
      shown += 1;
      if (autoExport !== null)
        await session.exportFigure(
          figure,
          autoExportName(autoExport, shown, figureTitle(plain)),
          imgOpts,
        );
    },

    async exportFigure(figure, name, imgOpts = {}) {
      const stem = checkExportName(name);
      const plain = toPlainFigure(figure);
      const size = staticSize(plain, imgOpts);
      const r = await getRenderer();
      const png = await r.renderPng(plain, { ...size, scale: imgOpts.scale ?? exportScale });
      const svg = await r.renderSvg(plain, size);
      const html = standaloneHtml(plain, htmlScript(exportDir, htmlPlotlyJs));
      const files: ExportedFigure = {
        png: path.join(exportDir, `${stem}.png`),
        svg: path.join(exportDir, `${stem}.svg`),
        html: path.join(exportDir, `${stem}.html`),
      };
      writeFileAtomic(files.png, png);
      writeFileAtomic(files.svg, svg);
      writeFileAtomic(files.html, html);
      return files;
    },

    async exportImageGrid(images, name, gridOpts = {}) {
      const file = path.join(exportDir, `${checkExportName(name)}.png`);
      writeFileAtomic(file, await imageGridPng(images, gridOpts));
      return file;
    },

    exportTable(table, name) {
      return writeTableCsv(table, path.join(exportDir, `${checkExportName(name)}.csv`));
    },

    launchMs() {
      return launched === null ? null : launched.launchMs;
    },

    async close() {
      if (closed) return;
      closed = true;
      const pending = renderer;
      renderer = null;
      if (pending !== null) {
        const r = await pending.catch(() => null);
        if (r !== null) await r.close();
      }
    },
  };
  return session;
}

/** `<prefix>-<NN>-<slug of the title>`, a valid export name. */
export function autoExportName(prefix: string, index: number, title: string): string {
  const slug = (t: string): string =>
    t
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48);
  return [slug(prefix) || 'figure', String(index).padStart(2, '0'), slug(title)]
    .filter((p) => p !== '')
    .join('-');
}

/**
 * The plotly.js part of an exported HTML file; 'directory' copies plotly.js once into the export
 * folder.
 */
function htmlScript(exportDir: string, mode: HtmlPlotlyJs): { inline: string } | { src: string } {
  const version = plotlyVersion();
  if (mode === 'cdn') return { src: `https://cdn.plot.ly/plotly-${version}.min.js` };
  if (mode === 'inline') return { inline: fs.readFileSync(plotlyJsPath(), 'utf8') };
  const file = `plotly-${version}.js`;
  const dest = path.join(exportDir, file);
  if (!fs.existsSync(dest)) writeFileAtomic(dest, fs.readFileSync(plotlyJsPath()));
  return { src: `./${file}` };
}
