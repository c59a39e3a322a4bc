/**
 * Minimal typed view of a Plotly figure and of a Jupyter MIME bundle.
 *
 * Only the fields the project uses are named; every trace and layout accepts
 * any further Plotly attribute, so the full Plotly schema stays usable without
 * a dependency on Plotly's own type package.
 */

/**
 * Values Plotly accepts on a data axis. Typed arrays are converted to plain arrays before display.
 */
export type PlotlyDatum = number | string | Date | null;
export type PlotlyData =
  | readonly PlotlyDatum[]
  | ArrayLike<number>
  /** A two-level category axis (plotly's multicategory): [outer labels, inner labels]. */
  | readonly (readonly PlotlyDatum[])[];

/** One Plotly trace (`scatter`, `bar`, `heatmap`, ...). */
export interface PlotlyTrace {
  readonly type?: string;
  readonly name?: string;
  readonly mode?: string;
  readonly x?: PlotlyData;
  readonly y?: PlotlyData;
  /** Heatmap / surface values: rows of numbers. */
  readonly z?: readonly PlotlyData[];
  readonly [attribute: string]: unknown;
}

/** Plotly layout: title, size, axes, ... */
export interface PlotlyLayout {
  readonly title?: string | { readonly text?: string; readonly [k: string]: unknown };
  /** Width in CSS pixels of the static image (default 700). */
  readonly width?: number;
  /** Height in CSS pixels of the static image (default 450). */
  readonly height?: number;
  readonly [attribute: string]: unknown;
}

/** A Plotly figure: what `Plotly.newPlot(div, data, layout, config)` takes. */
export interface PlotlyFigure {
  readonly data: readonly PlotlyTrace[];
  readonly layout?: PlotlyLayout;
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * Animation frames ({name, data}), played by the layout's slider/buttons in JupyterLab; static
   * images show `data`.
   */
  readonly frames?: readonly unknown[];
}

/** MIME type of Plotly's JSON output, rendered by the JupyterLab plotly extension. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/**
 * One Jupyter `display_data` content: several MIME representations of the same
 * object. The front end shows the richest one it can render. Binary types
 * (image/png) are base64 strings, as the Jupyter protocol requires.
 */
export interface MimeBundle {
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Where bundles go: the tslab kernel in a notebook, or a test's array. */
export type DisplaySink = (bundle: MimeBundle) => void;
