/** Ablation sweeps (paper §4.4: Fig. 6a–d, Tables 4–5): registry, grids, runner with resume, convergence metric, results, figures. */
export * from './registry';
export * from './ablations';
export * from './convergence';
export * from './parts';
export * from './results';
export * from './runner';
export * from './figures';
export * from './committed';
export * from './findings';
