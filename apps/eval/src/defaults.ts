import { fixtureNames, modelPath } from '@jmpjs/fixtures';

/** The embedded default: the trained Fashion-MNIST DeiT and its committed test set. */
export const DEFAULT_MODEL = 'fmnist-deit';
export const DEFAULT_DATA = 'fmnist-test';
export const DEFAULT_CALIBRATION_DATA = 'fmnist-calibration';
/** Images of the default run: half the test set fits the 10-minute budget on a 2-core machine with the full sweep (`--full` runs all). */
export const DEFAULT_LIMIT = 5000;

/** A committed fixture by name (`fmnist-deit`, the held-out `fmnist-vit`, …), else a hub id or a folder. */
export function resolveModel(model: string | undefined): { path: string; name: string } {
  const name = model || DEFAULT_MODEL;
  if (fixtureNames.includes(name)) return { path: modelPath(name), name };
  return { path: name, name };
}

// τ per model lives in a module without Node imports, so that the browser demo can import it too.
export { CALIBRATED_TAU } from './calibrated-tau.js';
