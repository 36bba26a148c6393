import { describe, expect, it } from 'vitest';
import { addDepth, depthScores, emptySums, wholeModelBudget } from '../src/depth-metrics.js';

describe('depth fidelity measures', () => {
  it('AbsRel is the mean relative error; δ < 1.25 the share of pixels within a ratio of 1.25', () => {
    const ref = Float32Array.from([1, 2, 4, 8]);
    const pred = Float32Array.from([1, 2.2, 6, 8]); // errors 0, 0.1, 0.5, 0; ratios 1, 1.1, 1.5, 1
    const s = depthScores(addDepth(emptySums(), pred, ref));
    expect(s.absRel).toBeCloseTo(0.15, 6);
    expect(s.delta1).toBe(0.75);
  });

  it('skips pixels without a positive reference; a prediction of 0 is outside δ < 1.25 with its full error', () => {
    const sums = addDepth(emptySums(), Float32Array.from([0, 5, Number.NaN]), Float32Array.from([2, 0, 1]));
    expect(sums).toEqual({ absRel: 1, within: 0, pixels: 1, skipped: 2 });
    expect(depthScores(emptySums()).absRel).toBeNaN();
  });

  it('sums over maps: the scores of two maps are those of their concatenation', () => {
    const a = [Float32Array.from([1, 3]), Float32Array.from([2, 2])];
    const b = [Float32Array.from([1.5, 3]), Float32Array.from([2, 5])];
    const apart = depthScores(addDepth(addDepth(emptySums(), b[0]!, a[0]!), b[1]!, a[1]!));
    const whole = depthScores(addDepth(emptySums(), Float32Array.from([1.5, 3, 2, 5]), Float32Array.from([1, 3, 2, 2])));
    expect(apart).toEqual(whole);
    expect(() => addDepth(emptySums(), a[0]!, Float32Array.from([1]))).toThrow(/different sizes/);
  });

  it('the whole-model budget that cuts the blocks’ GMACs by a target', () => {
    // plain 10 GMACs, 4 of them constant: −50 % of the other 6 is 3 GMACs, 70 % of the whole model
    expect(wholeModelBudget(0.5, 10, 4)).toBeCloseTo(0.7, 12);
    expect(wholeModelBudget(0.35, 10, 0)).toBeCloseTo(0.65, 12);
    expect(() => wholeModelBudget(1, 10, 4)).toThrow(/target/);
    expect(() => wholeModelBudget(0.2, 10, 10)).toThrow(/constant/);
  });
});
