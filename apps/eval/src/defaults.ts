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

// τ per model lives in a module without Node imports, so that the browser demo can import it too.
export { CALIBRATED_TAU } from './calibrated-tau.js';
