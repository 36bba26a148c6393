import { describe, expect, it } from 'vitest';
import { chooseTau, fidelity } from '../src/calibrate.js';

describe('fidelity', () => {
  it('is zero KL and full agreement for the same logits, shifted by a constant per image', () => {
    const plain = new Float32Array([1, 2, 3, 0, -1, 5]);
    const shifted = new Float32Array([11, 12, 13, 7, 6, 12]);
    const f = fidelity(plain, shifted, 3);
    expect(f.kl).toBeCloseTo(0, 12);
    expect(f.agreement).toBe(1);
  });

  it('matches KL worked by hand for two classes', () => {
    // image 1: p = softmax(0, 0) = (1/2, 1/2), q = softmax(0, ln 3) = (1/4, 3/4)
    //   KL = 1/2 ln(2) + 1/2 ln(2/3) = 1/2 ln(4/3); top-1 0 against 1 (argmax of a tie is the first)
    // image 2: p = q: KL 0, agreement
    const plain = new Float32Array([0, 0, 2, 1]);
    const other = new Float32Array([0, Math.log(3), 2, 1]);
    const f = fidelity(plain, other, 2);
    expect(f.kl).toBeCloseTo((0.5 * Math.log(4 / 3)) / 2, 6);
    expect(f.agreement).toBe(0.5);
  });

  it('refuses arrays of different sizes', () => {
    expect(() => fidelity(new Float32Array(6), new Float32Array(4), 2)).toThrow(/same size/);
    expect(() => fidelity(new Float32Array(5), new Float32Array(5), 2)).toThrow(/\[images, 2\]/);
  });
});

describe('chooseTau', () => {
  const curve = [
    { tau: 0.8, top1: 0.82, kl: 0.0624 },
    { tau: 0.85, top1: 0.82, kl: 0.0624 },
    { tau: 0.9, top1: 0.825, kl: 0.0762 },
    { tau: 0.95, top1: 0.8, kl: 0.09 },
  ];

  it('by KL: the lowest mean KL, the larger τ on a tie', () => {
    expect(chooseTau(curve).tau).toBe(0.85);
    expect(chooseTau(curve, 'kl').tau).toBe(0.85);
  });

  it('by top-1: the best top-1, the larger τ on a tie (curves without agreement)', () => {
    expect(chooseTau(curve, 'top1').tau).toBe(0.9);
    expect(
      chooseTau(
        [
          { tau: 0.7, top1: 0.5 },
          { tau: 0.6, top1: 0.5 },
        ],
        'top1',
      ).tau,
    ).toBe(0.7);
  });

  it("ties as calibrateJMP breaks them (the library's rule): agreement, then KL, then the larger τ", () => {
    const tied = [
      { tau: 0.7, top1: 0.8, kl: 0.05, agreement: 0.97 },
      { tau: 0.8, top1: 0.8, kl: 0.05, agreement: 0.96 },
      { tau: 0.9, top1: 0.8, kl: 0.04, agreement: 0.96 },
    ];
    // by KL: 0.9 has the lowest; among the first two (same KL), the higher agreement
    expect(chooseTau(tied, 'kl').tau).toBe(0.9);
    expect(chooseTau(tied.slice(0, 2), 'kl').tau).toBe(0.7);
    // by top-1 (all tied): the higher agreement, then the lower KL
    expect(chooseTau(tied, 'top1').tau).toBe(0.7);
    expect(chooseTau(tied.slice(1), 'top1').tau).toBe(0.9);
  });

  it('says why it cannot choose', () => {
    expect(() => chooseTau([])).toThrow(/no points/);
    expect(() => chooseTau([{ tau: 0.7, top1: 0.5 }])).toThrow(/no KL; choose by top1/);
  });
});
