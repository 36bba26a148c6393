import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseTau, type ChooseBy } from '../src/calibrate.js';
import { CALIBRATED_TAU } from '../src/calibrated-tau.js';

interface Curve {
  model: string;
  metric?: string;
  match?: string;
  chosenBy?: ChooseBy;
  best: number;
  points: { tau: number; top1: number; kl?: number }[];
}

const read = (file: string): Curve => JSON.parse(readFileSync(new URL(`../calibration/${file}`, import.meta.url), 'utf8')) as Curve;
const exists = (file: string): boolean => existsSync(new URL(`../calibration/${file}`, import.meta.url));

// Every τ the eval runs with is the choice of a committed curve: re-choosing on the curve's own points
// (by the rule it records; curves from before the KL rule were chosen by top-1) gives the value.
describe('CALIBRATED_TAU: the committed curves', () => {
  for (const [model, entry] of Object.entries(CALIBRATED_TAU)) {
    if (entry.tau !== undefined) {
      it(`${model}: tau is its curve's choice (head-mean keys)`, () => {
        const curve = read(entry.file);
        expect(curve.model).toBe(model);
        expect(curve.metric ?? 'keys').toBe('keys');
        expect(curve.chosenBy).toBe('kl');
        expect(chooseTau(curve.points, 'kl').tau).toBe(entry.tau);
        expect(curve.best).toBe(entry.tau);
      });
    }

    if (entry.tauPerHead !== undefined) {
      it(`${model}: tauPerHead is its curve's choice (keys-per-head)`, () => {
        const perHead = read(entry.file.replace(/\.json$/, '-keys-per-head.json'));
        expect(perHead.model).toBe(model);
        expect(perHead.metric).toBe('keys-per-head');
        expect(perHead.match ?? 'bipartite').toBe('bipartite');
        expect(chooseTau(perHead.points, perHead.chosenBy ?? 'top1').tau).toBe(entry.tauPerHead);
      });
    }

    if (entry.tauHidden !== undefined) {
      it(`${model}: tauHidden is its curve's choice (the token states, the library's pairing for the model)`, () => {
        // ToMe's split (the library's pairing above 64 patches) where its curve exists; the 49-patch models have only nearest neighbours'
        const suffix = exists(entry.file.replace(/\.json$/, '-hidden.json')) ? '-hidden.json' : '-hidden-nearest.json';
        const hidden = read(entry.file.replace(/\.json$/, suffix));
        expect(hidden.model).toBe(model);
        expect(hidden.metric).toBe('hidden');
        expect(hidden.chosenBy).toBe('kl');
        expect(chooseTau(hidden.points, 'kl').tau).toBe(entry.tauHidden);
        expect(hidden.best).toBe(entry.tauHidden);
      });
    }

    if (entry.tauNearest !== undefined) {
      it(`${model}: tauNearest is its curve's choice (keys-per-head, match nearest)`, () => {
        const nearest = read(entry.file.replace(/\.json$/, '-keys-per-head-nearest.json'));
        expect(nearest.model).toBe(model);
        expect([nearest.metric, nearest.match, nearest.chosenBy]).toEqual(['keys-per-head', 'nearest', 'kl']);
        expect(chooseTau(nearest.points, 'kl').tau).toBe(entry.tauNearest);
        expect(nearest.best).toBe(entry.tauNearest);
      });
    }

    const specFile = `${model}/calibration-adaptive.json`;
    if (exists(specFile)) {
      it(`${model}: tauSpec is its curve's choice`, () => {
        const spec = read(specFile);
        expect(spec.model).toBe(model);
        expect(chooseTau(spec.points, spec.chosenBy ?? 'top1').tau).toBe(entry.tauSpec);
      });
    }
  }
});
