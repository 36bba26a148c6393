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
    it(`${model}: tau and tauPerHead are their curves' choices`, () => {
      const curve = read(entry.file);
      expect(curve.model).toBe(model);
      expect(curve.metric ?? 'keys').toBe('keys');
      expect(curve.chosenBy).toBe('kl');
      expect(chooseTau(curve.points, 'kl').tau).toBe(entry.tau);
      expect(curve.best).toBe(entry.tau);

      const perHead = read(entry.file.replace(/\.json$/, '-keys-per-head.json'));
      expect(perHead.model).toBe(model);
      expect(perHead.metric).toBe('keys-per-head');
      expect(perHead.match ?? 'bipartite').toBe('bipartite');
      expect(chooseTau(perHead.points, perHead.chosenBy ?? 'top1').tau).toBe(entry.tauPerHead);
    });

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
