// No imports: shared by the eval CLI (through defaults.ts) and the browser demo (demo/).

/**
 * τ per model, from `pnpm eval calibrate` on a held-out split (never test data). The curves are
 * committed in apps/eval/calibration/<model>.json.
 */
export const CALIBRATED_TAU: Record<string, { tau: number; tauToken: number; file: string }> = {
  // `pnpm eval calibrate --grid 0.40:0.99:0.01` and `… --strategy adaptive-token` on the 1 000
  // held-out training images: both pick the lowest τ of the grid (this model prefers merging; see
  // apps/eval/README.md).
  'fmnist-deit': { tau: 0.4, tauToken: 0.4, file: 'fmnist-deit/calibration-adaptive.json' },
};
