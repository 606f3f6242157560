/**
 * Stage 3, CoPRS unified training (DESIGN §1–2): config and presets, the SEG loss and its schedule,
 * the optimizer groups, rollouts, rewards, the one-pass objective, the log record, the completions
 * table, the trainer and its benchmark.
 */
export * from './config';
export * from './losses';
export * from './optimizer';
export * from './rollout';
export * from './rewards';
export * from './objective';
export * from './metrics';
export * from './completions';
export * from './trainer';
export * from './bench';
