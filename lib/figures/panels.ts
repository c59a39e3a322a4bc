/**
 * Small multiples that fit a JupyterLab output area: n panels wrapped into rows of at most as
 * many as fit `maxWidth` CSS pixels, with room for one shared colour bar, and tick labels short
 * enough for a narrow panel.
 */

/** JupyterLab's output area is about 970–1000 px wide with the side bar open; stay inside it. */
export const MAX_FIGURE_WIDTH = 960;

export interface PanelGridOptions {
  /** Figure width limit in CSS pixels (default {@link MAX_FIGURE_WIDTH}). */
  readonly maxWidth?: number;
  /** Narrowest a panel may be, in px (default 170). */
  readonly minPanelWidth?: number;
  /** Widest a panel may be, in px (default 300). */
  readonly maxPanelWidth?: number;
  /** Height of one panel's plot area, in px (default = its width, capped at 260). */
  readonly panelHeight?: number;
  /** Margins in px: left (y tick labels and title), right (colour bar), top (figure title). */
  readonly margin?: {
    readonly l?: number;
    readonly r?: number;
    readonly t?: number;
    readonly b?: number;
  };
  /**
   * Horizontal and vertical gaps between panels, in px (defaults 24 and 70: ticks + panel title).
   */
  readonly gapX?: number;
  readonly gapY?: number;
}

/** Where each panel goes, as Plotly paper fractions, and the figure's size. */
export interface PanelGrid {
  readonly rows: number;
  readonly cols: number;
  readonly width: number;
  readonly height: number;
  readonly margin: {
    readonly l: number;
    readonly r: number;
    readonly t: number;
    readonly b: number;
  };
  /** [x0, x1] and [y0, y1] of panel k (row-major, top row first). */
  readonly domain: (k: number) => { readonly x: [number, number]; readonly y: [number, number] };
  /** Row and column of panel k. */
  readonly cell: (k: number) => { readonly row: number; readonly col: number };
}

/**
 * Lays out `n` panels: as many per row as fit `maxWidth` (balanced, so 5 panels that fit 4 per
 * row become rows of 3 and 2), each between `minPanelWidth` and `maxPanelWidth` px wide.
 */
export function panelGrid(n: number, opts: PanelGridOptions = {}): PanelGrid {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`panelGrid: n must be a positive integer, got ${String(n)}`);
  const maxWidth = opts.maxWidth ?? MAX_FIGURE_WIDTH;
  const minW = opts.minPanelWidth ?? 170;
  const maxW = opts.maxPanelWidth ?? 300;
  const m = {
    l: opts.margin?.l ?? 80,
    r: opts.margin?.r ?? 80,
    t: opts.margin?.t ?? 90,
    b: opts.margin?.b ?? 60,
  };
  const gapX = opts.gapX ?? 24;
  const gapY = opts.gapY ?? 70;
  const inner = maxWidth - m.l - m.r;
  if (!(inner >= minW))
    throw new RangeError(`panelGrid: maxWidth ${maxWidth} leaves no room for a ${minW}px panel`);
  const fit = Math.max(1, Math.floor((inner + gapX) / (minW + gapX)));
  const rows = Math.ceil(n / Math.min(n, fit));
  const cols = Math.ceil(n / rows);
  const panelW = Math.min(maxW, Math.floor((inner - gapX * (cols - 1)) / cols));
  const panelH = opts.panelHeight ?? Math.min(panelW, 260);
  const plotW = cols * panelW + (cols - 1) * gapX;
  const plotH = rows * panelH + (rows - 1) * gapY;
  const width = plotW + m.l + m.r;
  const height = plotH + m.t + m.b;
  const cell = (k: number): { row: number; col: number } => {
    if (!Number.isInteger(k) || k < 0 || k >= n)
      throw new RangeError(`panelGrid: panel ${String(k)} is outside 0..${n - 1}`);
    return { row: Math.floor(k / cols), col: k % cols };
  };
  const domain = (k: number): { x: [number, number]; y: [number, number] } => {
    const { row, col } = cell(k);
    const x0 = (col * (panelW + gapX)) / plotW;
    const top = 1 - (row * (panelH + gapY)) / plotH;
    const r = (v: number): number => Math.round(v * 1e6) / 1e6;
    return {
      x: [r(x0), r(x0 + panelW / plotW)],
      y: [r(Math.max(0, top - panelH / plotH)), r(top)],
    };
  };
  return { rows, cols, width, height, margin: m, domain, cell };
}

/**
 * Short tick labels for task names: a word that every name starts with is dropped
 * ("permutation 3" → "3", "digits 0/1" → "0/1"); names still longer than `maxLength`
 * become T1, T2, ... (the hover text keeps the full names).
 */
export function shortTaskLabels(names: readonly string[], maxLength = 6): string[] {
  const first = names[0]?.split(' ')[0];
  const common =
    first !== undefined && names.length > 0 && names.every((s) => s.startsWith(`${first} `))
      ? `${first} `
      : '';
  const stripped = names.map((s) => s.slice(common.length));
  if (new Set(stripped).size === names.length && stripped.every((s) => s.length <= maxLength))
    return stripped;
  return names.map((_, j) => `T${j + 1}`);
}
