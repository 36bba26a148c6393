import { modelPath } from '@jmpjs/fixtures';

/** The embedded default: the trained Fashion-MNIST DeiT and its committed test set. */
export const DEFAULT_MODEL = 'fmnist-deit';
export const DEFAULT_DATA = 'fmnist-test';
export const DEFAULT_CALIBRATION_DATA = 'fmnist-calibration';
/** Images of the default run: half the test set fits the 10-minute budget on a 2-core machine with the full sweep (`--full` runs all). */
export const DEFAULT_LIMIT = 5000;

export function resolveModel(model: string | undefined): { path: string; name: string } {
  if (!model || model === DEFAULT_MODEL) return { path: modelPath(DEFAULT_MODEL), name: DEFAULT_MODEL };
  return { path: model, name: model };
}

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
