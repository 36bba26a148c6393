import { describe, expect, it } from 'vitest';
import { DEFAULT_BUDGET, DEFAULT_KEEP_EVIT, FEW_PATCHES } from '../../src/defaults.js';
import { GRAPH_METHODS, coreMethodsFor, defaultBlocksOf, graphMethod } from '../../src/graph/methods/registry.js';
import { METHODS } from '../../src/option-values.js';

const facts = (depth: number, patches: number, headOnly = false, select: 'attention' | 'redundancy' = 'redundancy') => ({ depth, patches, headOnly, select });

describe('the method registry (src/graph/methods/registry.ts)', () => {
  it('holds every method the options accept, and nothing else', () => {
    expect(Object.keys(GRAPH_METHODS).sort()).toEqual([...METHODS].sort());
    expect(() => graphMethod('toString' as never)).toThrow(/no method/);
    expect(graphMethod(undefined)).toBe(GRAPH_METHODS.jmp);
  });

  it('default blocks per method', () => {
    const every = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);
    // JMP, select 'redundancy': every second block, or every block from the second on few patches; headOnly leaves out the last
    expect(defaultBlocksOf('jmp', facts(12, 196))).toEqual(every(2, 12, 2));
    expect(defaultBlocksOf('jmp', facts(12, 196, true))).toEqual(every(2, 10, 2));
    expect(defaultBlocksOf('jmp', facts(12, FEW_PATCHES))).toEqual(every(2, 12));
    expect(defaultBlocksOf('jmp', facts(12, 49, true))).toEqual(every(2, 11));
    expect(defaultBlocksOf('jmp', facts(1, 196))).toEqual([1]);
    // the paper's 4, 7, 10 (scaled): JMP with select 'attention' and EViT, headOnly or not
    expect(defaultBlocksOf('jmp', facts(12, 196, true, 'attention'))).toEqual([4, 7, 10]);
    expect(defaultBlocksOf('evit', facts(12, 196, true))).toEqual([4, 7, 10]);
    expect(defaultBlocksOf('evit', facts(4, 49))).toEqual([1, 2, 3]);
    expect(defaultBlocksOf('evit', facts(24, 196))).toEqual([8, 14, 20]);
    // ToMe: every block (but the last with headOnly)
    expect(defaultBlocksOf('tome', facts(12, 196))).toEqual(every(1, 12));
    expect(defaultBlocksOf('tome', facts(12, 196, true))).toEqual(every(1, 11));
    expect(defaultBlocksOf('tome', facts(1, 196, true))).toEqual([1]);
  });

  it('default amounts: JMP plans from its budget, EViT keeps its rate, ToMe needs r', () => {
    expect([GRAPH_METHODS.jmp.defaultBudget, GRAPH_METHODS.jmp.defaultKeep]).toEqual([DEFAULT_BUDGET, undefined]);
    expect([GRAPH_METHODS.evit.defaultBudget, GRAPH_METHODS.evit.defaultKeep]).toEqual([undefined, DEFAULT_KEEP_EVIT]);
    expect([GRAPH_METHODS.tome.defaultBudget, GRAPH_METHODS.tome.defaultKeep]).toEqual([undefined, undefined]);
  });

  it("the core's reduction per step, τ per block", () => {
    const o = { strategy: 'adaptive-token', select: 'redundancy', match: 'nearest', importanceWeight: 0, sizeWeight: 0 } as const;
    const steps = [
      { block: 2, amount: 0.8 },
      { block: 4, amount: 0.9 },
    ];
    expect(coreMethodsFor({ ...o, method: 'jmp', metric: 'keys-per-head', tau: [0.5, 0.6] }, steps)).toEqual(
      [0.8, 0.9].map((keep, k) => ({
        method: 'jmp',
        keep,
        strategy: 'adaptive-token',
        metric: 'keys',
        select: 'redundancy',
        match: 'nearest',
        importanceWeight: 0,
        sizeWeight: 0,
        tau: [0.5, 0.6][k],
      })),
    );
    expect(coreMethodsFor({ ...o, method: 'jmp', metric: 'hidden', tau: undefined }, steps.slice(0, 1))[0]).not.toHaveProperty('tau');
    expect(coreMethodsFor({ ...o, method: 'jmp', metric: 'hidden', tau: 0.4 }, steps.slice(0, 1))[0]).toMatchObject({ metric: 'hidden', tau: 0.4 });
    expect(coreMethodsFor({ ...o, method: 'tome', tau: undefined }, [{ block: 1, amount: 8 }])).toEqual([{ method: 'tome', r: 8 }]);
    expect(coreMethodsFor({ ...o, method: 'evit', tau: undefined }, [{ block: 4, amount: 0.7 }])).toEqual([{ method: 'evit', keep: 0.7 }]);
  });

  it('proportional attention by default (not for EViT), and the rows each graph compares', () => {
    expect(Object.values(GRAPH_METHODS).map((m) => m.proportionalAttention)).toEqual([true, true, false]);
    const dims = (method: 'jmp' | 'tome' | 'evit', o: Parameters<(typeof GRAPH_METHODS)['jmp']['similarityDims']>[0]) =>
      GRAPH_METHODS[method].similarityDims(o, 192, 3);
    expect(dims('jmp', { select: 'redundancy', strategy: 'prune', metric: 'keys' })).toBe(64);
    expect(dims('jmp', { select: 'redundancy', strategy: 'merge', metric: 'hidden' })).toBe(192);
    expect(dims('jmp', { select: 'attention', strategy: 'merge', metric: 'keys-per-head' })).toBe(192);
    expect(dims('jmp', { select: 'attention', strategy: 'prune', metric: 'hidden' })).toBe(0);
    expect(dims('tome', { metric: 'hidden' })).toBe(64);
    expect(dims('evit', {})).toBe(0);
  });

  it('amounts, kept tokens and fixed decisions', () => {
    expect(Object.values(GRAPH_METHODS).map((m) => [m.amount, m.decision])).toEqual([
      ['keep', undefined],
      ['r', 'merge'],
      ['keep', 'fuse'],
    ]);
    expect(GRAPH_METHODS.jmp.kept(0.7, 197, 1)).toBe(138);
    expect(GRAPH_METHODS.evit.kept(0.7, 197, 1)).toBe(138);
    expect(GRAPH_METHODS.tome.kept(8, 197, 1)).toBe(188);
    expect([GRAPH_METHODS.jmp.reduces(1), GRAPH_METHODS.jmp.reduces(0.99), GRAPH_METHODS.tome.reduces(0), GRAPH_METHODS.tome.reduces(1)]).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });
});
