/**
 * Figures, image grids and result tables for the notebooks (see lib/figures/).
 * Plotly figures show interactively in JupyterLab with a static PNG in the same
 * output; exports go to `figures/` as PNG, SVG and standalone HTML.
 */
export * from './figures/types';
export * from './figures/display';
export * from './figures/chromium';
export * from './figures/grid';
export * from './figures/table';
export * from './figures/session';
export * from './figures/panels';
