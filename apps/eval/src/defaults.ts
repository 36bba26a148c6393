import { fixtureNames, modelPath } from '@jmpjs/fixtures';

/**
 * The embedded default: photo-deit, the DeiT trained on the natural-image test bed (Fashion-MNIST
 * items on real photographs; 196 patches as DeiT-S), and its test set `photo-test`.
 */
export const DEFAULT_MODEL = 'photo-deit';

/**
 * The committed test and calibration sets of a committed model: the natural-image test bed
 * (`photo-test`, `photo-calibration`) for the models trained on it (`photo-*`), plain Fashion-MNIST
 * for the others.
 */
export function dataFor(model: string | undefined): { test: string; calibration: string } {
  return (model ?? DEFAULT_MODEL).startsWith('photo-')
    ? { test: 'photo-test', calibration: 'photo-calibration' }
    : { test: 'fmnist-test', calibration: 'fmnist-calibration' };
}
export const DEFAULT_DATA = dataFor(DEFAULT_MODEL).test;
export const DEFAULT_CALIBRATION_DATA = dataFor(DEFAULT_MODEL).calibration;
/** The committed test sets: nothing is ever chosen on them. */
export const TEST_SETS: readonly string[] = ['photo-test', 'fmnist-test'];
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
