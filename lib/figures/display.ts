/**
 * Jupyter display plumbing: MIME bundles and the sink that sends them.
 *
 * tslab's public `display` API sends one MIME type per message. A figure needs
 * several in ONE `display_data` message (Plotly JSON for JupyterLab, a PNG for
 * every viewer without the Plotly renderer, text as last resort), so the sink
 * calls the kernel's display-data writer directly: tslab keeps the writer of
 * the cell being executed in `lastWriteDisplayData` of its `dist/jupyter.js`
 * module (the same writer its own `display.raw` uses).
 */
import { randomBytes } from 'node:crypto';
import { PLOTLY_MIME, type DisplaySink, type MimeBundle, type PlotlyFigure } from './types';

type DisplayWriter = (
  content: { data: unknown; metadata: unknown; transient: unknown },
  update: boolean,
) => void;

const TSLAB_JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * The display-data writer of the tslab cell running now, or null outside a
 * tslab kernel. Looked up on every call: tslab replaces it for each executed
 * cell, and a writer kept from an earlier cell would attach output to that cell.
 */
function currentTslabWriter(): DisplayWriter | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!TSLAB_JUPYTER_MODULE.test(file) || mod === undefined) continue;
    const writer = (mod.exports as { lastWriteDisplayData?: unknown }).lastWriteDisplayData;
    if (typeof writer === 'function') return writer as DisplayWriter;
  }
  return null;
}

/** True when running inside a tslab kernel that is executing a cell. */
export function inTslabKernel(): boolean {
  return currentTslabWriter() !== null;
}

/** A text display that is replaced in place on every update (a progress line). */
export interface LiveText {
  update(text: string): void;
}

/**
 * A display that updates in place in the tslab cell running now (one `display_data` with a
 * display_id, then `update_display_data` with the same id; JupyterLab redraws it, and the saved
 * notebook keeps its last text), or null outside a tslab kernel.
 */
export function newLiveText(): LiveText | null {
  if (currentTslabWriter() === null) return null;
  const displayId = `dgr-${randomBytes(8).toString('hex')}`;
  let shown = false;
  return {
    update(text: string): void {
      const writer = currentTslabWriter();
      if (writer === null) return;
      try {
        writer(
          { data: { 'text/plain': text }, metadata: {}, transient: { display_id: displayId } },
          shown,
        );
        shown = true;
      } catch {
        // A progress line the kernel cannot send now (e.g. its output socket is busy) is skipped:
        // the next update replaces it anyway, and a display must never stop a training run.
      }
    },
  };
}

/**
 * The default sink: one `display_data` message to the tslab kernel; outside a
 * kernel (a script, a test) the bundle's `text/plain` goes to stdout.
 */
export const kernelDisplay: DisplaySink = (bundle: MimeBundle): void => {
  const writer = currentTslabWriter();
  if (writer !== null) {
    writer({ data: bundle.data, metadata: bundle.metadata, transient: {} }, false);
    return;
  }
  const text = bundle.data['text/plain'];
  process.stdout.write(
    (typeof text === 'string'
      ? text
      : '[rich output: ' + Object.keys(bundle.data).join(', ') + ']') + '\n',
  );
};

/** Base64 of binary data, as Jupyter expects for image/png. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * The figure as plain JSON: typed arrays become arrays, NaN/Infinity become
 * null (Plotly draws a gap), Dates become ISO strings. What is displayed,
 * rendered and exported is exactly this object.
 */
export function toPlainFigure(figure: PlotlyFigure): PlotlyFigure {
  if (figure === null || typeof figure !== 'object' || !Array.isArray(figure.data)) {
    throw new TypeError(
      `figure: expected a Plotly figure { data: Trace[], layout?: {...} }, got ${describe(figure)}`,
    );
  }
  const json = JSON.stringify(figure, (_key, value: unknown) =>
    ArrayBuffer.isView(value) && !(value instanceof DataView)
      ? Array.from(value as unknown as ArrayLike<number>)
      : value,
  );
  return JSON.parse(json) as PlotlyFigure;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object with keys [${Object.keys(v).join(', ')}]`;
  return typeof v;
}

/** Title text of a figure, or '' when it has none. */
export function figureTitle(figure: PlotlyFigure): string {
  const t = figure.layout?.title;
  if (typeof t === 'string') return t;
  if (t !== undefined && typeof t.text === 'string') return t.text;
  return '';
}

/** One-line text description of a figure: the `text/plain` fallback. */
export function figureSummary(figure: PlotlyFigure): string {
  const title = figureTitle(figure);
  const types = figure.data.map((t) => (typeof t.type === 'string' ? t.type : 'scatter'));
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  const parts = [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
  return (
    `<Plotly figure${title ? ` "${title}"` : ''}: ${figure.data.length} ` +
    `trace${figure.data.length === 1 ? '' : 's'}${parts ? ` (${parts})` : ''}>`
  );
}

/**
 * The bundle that shows a figure everywhere: Plotly JSON (interactive in
 * JupyterLab with the plotly extension), the static PNG (repository viewers,
 * HTML export) and a text line. Without a PNG, `note` explains why and is
 * appended to the text.
 *
 * @param figure plain figure (see {@link toPlainFigure})
 * @param png static rendering of the same figure, or null when unavailable
 * @param pngSize CSS size of the PNG (it may be rendered at a higher pixel scale)
 */
export function figureBundle(
  figure: PlotlyFigure,
  png: Uint8Array | null,
  opts: {
    readonly note?: string;
    readonly pngSize?: { readonly width: number; readonly height: number };
  } = {},
): MimeBundle {
  const plain = toPlainFigure(figure);
  const text = figureSummary(plain) + (opts.note ? `\n${opts.note}` : '');
  const data: Record<string, unknown> = {
    [PLOTLY_MIME]: {
      data: plain.data,
      layout: plain.layout ?? {},
      ...(plain.config ? { config: plain.config } : {}),
      ...(plain.frames ? { frames: plain.frames } : {}),
    },
  };
  const metadata: Record<string, unknown> = {};
  if (png !== null) {
    data['image/png'] = toBase64(png);
    if (opts.pngSize)
      metadata['image/png'] = { width: opts.pngSize.width, height: opts.pngSize.height };
  }
  data['text/plain'] = text;
  return { data, metadata };
}

/** A PNG image with a text fallback. */
export function pngBundle(png: Uint8Array, text: string): MimeBundle {
  return { data: { 'image/png': toBase64(png), 'text/plain': text }, metadata: {} };
}

/** HTML with a text fallback (rendered sanitised in untrusted notebooks: no scripts). */
export function htmlBundle(html: string, text: string): MimeBundle {
  return { data: { 'text/html': html, 'text/plain': text }, metadata: {} };
}

/** Plain text only. */
export function textBundle(text: string): MimeBundle {
  return { data: { 'text/plain': text }, metadata: {} };
}
