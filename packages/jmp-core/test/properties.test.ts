import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { criticalCount, reduceTokens, sourceLists, tokenFates } from '../src/index.js';
import { batchArb, criticalSet, keepArb, sampleSum, stateOf, strategyArb, tauArb } from './arbitraries.js';

const RUNS = { numRuns: 300 };
/** Relative tolerance for sums of float32 values accumulated in float64. */
const REL = 1e-5;

describe('JMP invariants (fast-check)', () => {
  it('every sample ends with P + K tokens, protected tokens bit-identical, inputs untouched', () => {
    fc.assert(
      fc.property(batchArb, keepArb, strategyArb, tauArb, (batch, keep, strategy, tau) => {
        const state = stateOf(batch);
        const before = { tokens: state.tokens.slice(), sizes: state.sizes.slice(), metric: batch.metric.data.slice(), importance: batch.importance.slice() };
        const { state: out } = reduceTokens(state, { importance: batch.importance, metric: batch.metric }, { method: 'jmp', keep, strategy, tau });
        const K = criticalCount(keep, batch.N, batch.P);
        expect(K).toBe(Math.min(batch.N - batch.P, Math.ceil(keep * (batch.N - batch.P) - 1e-9)));
        expect(out.dims).toEqual([batch.B, batch.P + K, batch.C]);
        for (let b = 0; b < batch.B; b++) {
          for (let p = 0; p < batch.P; p++) {
            for (let c = 0; c < batch.C; c++) {
              expect(Object.is(out.tokens[(b * (batch.P + K) + p) * batch.C + c], state.tokens[(b * batch.N + p) * batch.C + c])).toBe(true);
            }
            expect(out.sizes[b * (batch.P + K) + p]).toBe(state.sizes[b * batch.N + p]);
          }
        }
        expect(state.tokens).toEqual(before.tokens);
        expect(state.sizes).toEqual(before.sizes);
        expect(batch.metric.data).toEqual(before.metric);
        expect(batch.importance).toEqual(before.importance);
      }),
      RUNS,
    );
  });

  it('merging keeps the sum of sizes; pruning removes exactly the non-critical sizes', () => {
    fc.assert(
      fc.property(batchArb, keepArb, (batch, keep) => {
        const state = stateOf(batch);
        const signals = { importance: batch.importance, metric: batch.metric };
        const merged = reduceTokens(state, signals, { method: 'jmp', keep, strategy: 'merge' }).state;
        const pruned = reduceTokens(state, signals, { method: 'jmp', keep, strategy: 'prune' }).state;
        const K = criticalCount(keep, batch.N, batch.P);
        for (let b = 0; b < batch.B; b++) {
          const total = sampleSum(state.sizes, b, batch.N);
          expect(sampleSum(merged.sizes, b, batch.P + K)).toBe(total);
          const crit = criticalSet(batch, b, K);
          let removed = 0;
          for (let j = batch.P; j < batch.N; j++) if (!crit.has(j)) removed += state.sizes[b * batch.N + j]!;
          expect(sampleSum(pruned.sizes, b, batch.P + K)).toBe(total - removed);
        }
      }),
      RUNS,
    );
  });

  it('merge-only keeps the size-weighted mean of all tokens', () => {
    fc.assert(
      fc.property(batchArb, keepArb, (batch, keep) => {
        const state = stateOf(batch);
        const { state: out } = reduceTokens(state, { importance: batch.importance, metric: batch.metric }, { method: 'jmp', keep, strategy: 'merge' });
        const [, n] = out.dims;
        for (let b = 0; b < batch.B; b++) {
          for (let c = 0; c < batch.C; c++) {
            let before = 0;
            let after = 0;
            let scale = 0;
            for (let j = 0; j < batch.N; j++) {
              const v = state.sizes[b * batch.N + j]! * state.tokens[(b * batch.N + j) * batch.C + c]!;
              before += v;
              scale += Math.abs(v);
            }
            for (let t = 0; t < n; t++) after += out.sizes[b * n + t]! * out.tokens[(b * n + t) * batch.C + c]!;
            expect(Math.abs(after - before)).toBeLessThanOrEqual(REL * Math.max(1, scale));
          }
        }
      }),
      RUNS,
    );
  });

  it('adaptive: a sample merges exactly when sigma >= tau, else it prunes', () => {
    fc.assert(
      fc.property(batchArb, keepArb, tauArb, (batch, keep, tau) => {
        const { stats } = reduceTokens(
          stateOf(batch),
          { importance: batch.importance, metric: batch.metric },
          { method: 'jmp', keep, strategy: 'adaptive', tau },
        );
        const M = batch.N - batch.P - criticalCount(keep, batch.N, batch.P);
        for (let b = 0; b < batch.B; b++) {
          if (M === 0) expect(stats.decisions[b]).toBe('none');
          else expect(stats.decisions[b]).toBe(stats.sigma[b]! >= tau ? 'merge' : 'prune');
          expect(stats.merged[b]! + stats.pruned[b]!).toBe(M);
        }
      }),
      RUNS,
    );
  });

  it('ToMe with r leaves N − r tokens and keeps the sum of sizes', () => {
    fc.assert(
      fc.property(
        batchArb.chain((batch) => fc.tuple(fc.constant(batch), fc.integer({ min: 0, max: Math.floor((batch.N - batch.P) / 2) }))),
        ([batch, r]) => {
          const { state: out } = reduceTokens(stateOf(batch), { metric: batch.metric }, { method: 'tome', r });
          expect(out.dims).toEqual([batch.B, batch.N - r, batch.C]);
          for (let b = 0; b < batch.B; b++) expect(sampleSum(out.sizes, b, batch.N - r)).toBe(sampleSum(batch.sizes, b, batch.N));
        },
      ),
      RUNS,
    );
  });

  it('EViT leaves P + K (+1 fused) tokens and keeps the sum of sizes', () => {
    fc.assert(
      fc.property(batchArb, keepArb, (batch, keep) => {
        const { state: out } = reduceTokens(stateOf(batch), { importance: batch.importance }, { method: 'evit', keep });
        const K = criticalCount(keep, batch.N, batch.P);
        const n = batch.P + K + (K < batch.N - batch.P ? 1 : 0);
        expect(out.dims).toEqual([batch.B, n, batch.C]);
        for (let b = 0; b < batch.B; b++) expect(sampleSum(out.sizes, b, n)).toBe(sampleSum(batch.sizes, b, batch.N));
      }),
      RUNS,
    );
  });

  it('sources cover each original token at most once and agree with sizes, across chained reductions', () => {
    const methodArb = fc.oneof(
      fc.record({ method: fc.constant('jmp' as const), keep: keepArb, strategy: strategyArb, tau: tauArb }),
      fc.record({ method: fc.constant('evit' as const), keep: keepArb }),
      fc.record({ method: fc.constant('tome' as const), r: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(batchArb, fc.array(methodArb, { minLength: 1, maxLength: 3 }), (batch, methods) => {
        // Unit sizes: then a token's size is the number of originals it stands for.
        let state = stateOf({ ...batch, sizes: new Float32Array(batch.B * batch.N).fill(1) }, true);
        for (const m of methods) {
          const [B, N] = state.dims;
          const method = m.method === 'tome' ? { ...m, r: Math.min(m.r, Math.floor((N - batch.P) / 2)) } : m;
          // Signals for the current token count: reuse the first N rows of the random ones.
          const importance = batch.importance.slice(0, B * N).map((v, i) => v + i * 1e-3);
          const metric = { data: new Float32Array(B * N * batch.D).map((_, i) => batch.metric.data[i % batch.metric.data.length]!), dims: [B, N, batch.D] };
          state = reduceTokens(state, { importance, metric }, method).state;
        }
        const [B, N] = state.dims;
        for (let b = 0; b < B; b++) {
          const lists = sourceLists(state.sources!, b, N);
          const seen = new Set<number>();
          lists.forEach((list, t) => {
            for (const o of list) {
              expect(seen.has(o)).toBe(false);
              seen.add(o);
            }
            expect(list.length).toBe(state.sizes[b * N + t]);
          });
          for (let p = 0; p < batch.P; p++) expect(lists[p]).toEqual([p]);
          const fates = tokenFates(state.sources!, b, N);
          expect(fates.filter((f) => f.fate !== 'pruned').length).toBe(seen.size);
        }
      }),
      RUNS,
    );
  });
});
