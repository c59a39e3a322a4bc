/**
 * Figures, image grids and result tables for the notebooks: the barrel of lib/figures/ (re-exports
 * only). Plotly figures show interactively in JupyterLab with a static PNG in the same
 * output; exports go to `figures/` as PNG, SVG and standalone HTML.
 */
export * from './types';
export * from './display';
export * from './chromium';
export * from './grid';
export * from './table';
export * from './session';
export * from './panels';
