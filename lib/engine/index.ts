/** The generative replay engine (lib/engine): one barrel for the notebooks. */
export * from './types';
export * from './tasks';
export * from './masks';
export * from './eval';
export * from './results';
export * from './checkpoint';
export * from './run-checkpoint';
export * from './progress';
export * from '../rng';
export * from './nn';
export * from './config';
export * from './solvers';
export * from './generators';
export * from './scholar';
export * from './replay';
export * from './train';
export * from './regularizers';
