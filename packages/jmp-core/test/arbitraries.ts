import fc from 'fast-check';
import { createTokenState, type Strategy, type Tensor, type TokenState } from '../src/index.js';

/** A random batch with everything a reduction may need. Sizes are small integers. */
export interface Batch {
  B: number;
  N: number;
  C: number;
  D: number;
  P: number;
  tokens: Tensor;
  sizes: Float32Array;
  importance: Float32Array;
  metric: Tensor;
}

const float = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true });

export const batchArb: fc.Arbitrary<Batch> = fc
  .record({
    B: fc.integer({ min: 1, max: 3 }),
    P: fc.integer({ min: 0, max: 2 }),
    extra: fc.integer({ min: 1, max: 14 }),
    C: fc.integer({ min: 1, max: 5 }),
    D: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ B, P, extra, C, D }) => {
    const N = P + extra;
    return fc
      .record({
        tokens: fc.array(float, { minLength: B * N * C, maxLength: B * N * C }),
        sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: B * N, maxLength: B * N }),
        // Importances drawn from few levels so that ties happen.
        importance: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: B * N, maxLength: B * N }),
        metric: fc.array(float, { minLength: B * N * D, maxLength: B * N * D }),
      })
      .map((r) => ({
        B,
        N,
        C,
        D,
        P,
        tokens: { data: Float32Array.from(r.tokens), dims: [B, N, C] },
        sizes: Float32Array.from(r.sizes),
        importance: Float32Array.from(r.importance, (v) => v / 6),
        metric: { data: Float32Array.from(r.metric), dims: [B, N, D] },
      }));
  });

export const keepArb = fc.double({ min: 0.05, max: 1, noNaN: true });
export const strategyArb = fc.constantFrom<Strategy>('adaptive', 'adaptive-token', 'merge', 'prune');
export const tauArb = fc.double({ min: -1, max: 1, noNaN: true });

export function stateOf(batch: Batch, trackSources = false): TokenState {
  return createTokenState(batch.tokens, { protectedTokens: batch.P, sizes: batch.sizes, trackSources });
}

/** Independent critical selection: top-K by importance, ties to the lower index, as a set. */
export function criticalSet(batch: Batch, b: number, K: number): Set<number> {
  const idx = [];
  for (let j = batch.P; j < batch.N; j++) idx.push(j);
  idx.sort((x, y) => batch.importance[b * batch.N + y]! - batch.importance[b * batch.N + x]! || x - y);
  return new Set(idx.slice(0, K));
}

export function sampleSum(values: Float32Array, b: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += values[b * n + i]!;
  return s;
}
