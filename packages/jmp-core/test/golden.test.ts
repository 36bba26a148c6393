import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTokenState, reduceTokens, type ReductionMethod } from '../src/index.js';

interface GoldenCase {
  name: string;
  input: {
    dims: [number, number, number];
    protectedTokens: number;
    tokens: number[];
    sizes?: number[];
    importance?: number[];
    metric?: { dims: number[]; data: number[] };
  };
  method: ReductionMethod;
  expected: {
    dims: number[];
    tokens: number[];
    sizes: number[];
    decisions: string[];
    sigma?: number[];
    merged: number[];
    pruned: number[];
  };
}

const golden = JSON.parse(readFileSync(new URL('./golden/cases.json', import.meta.url), 'utf8')) as {
  tolerance: { absolute: number };
  cases: GoldenCase[];
};
const TOL = golden.tolerance.absolute;

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}] = ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(TOL);
  }
}

describe('hand-worked golden cases (absolute tolerance 1e-6)', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const state = createTokenState(
      { data: Float32Array.from(c.input.tokens), dims: c.input.dims },
      { protectedTokens: c.input.protectedTokens, ...(c.input.sizes ? { sizes: Float32Array.from(c.input.sizes) } : {}) },
    );
    const { state: out, stats } = reduceTokens(
      state,
      {
        ...(c.input.importance ? { importance: Float32Array.from(c.input.importance) } : {}),
        ...(c.input.metric ? { metric: { data: Float32Array.from(c.input.metric.data), dims: c.input.metric.dims } } : {}),
      },
      c.method,
    );
    expect([...out.dims]).toEqual(c.expected.dims);
    expectClose(out.tokens, c.expected.tokens, 'tokens');
    expectClose(out.sizes, c.expected.sizes, 'sizes');
    expect(stats.decisions).toEqual(c.expected.decisions);
    expect(stats.merged).toEqual(c.expected.merged);
    expect(stats.pruned).toEqual(c.expected.pruned);
    if (c.expected.sigma) expectClose(stats.sigma, c.expected.sigma, 'sigma');
  });
});
