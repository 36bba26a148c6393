import { describe, expect, it } from 'vitest';
import {
  JmpArgumentError,
  JmpError,
  createTokenState,
  importanceFromAttention,
  importanceFromRows,
  logSizeBias,
  planTokens,
  reduceTokens,
  type ReductionMethod,
} from '../src/index.js';

function state(B = 1, N = 5, C = 2, P = 1) {
  return createTokenState({ data: new Float32Array(B * N * C), dims: [B, N, C] }, { protectedTokens: P });
}
const importance = new Float32Array([0, 0.4, 0.1, 0.3, 0.2]);
const metric = { data: new Float32Array(10).fill(1), dims: [1, 5, 2] };

function thrown(fn: () => unknown): JmpArgumentError {
  try {
    fn();
  } catch (e) {
    expect(JmpError.isInstance(e)).toBe(true);
    expect(JmpArgumentError.isInstance(e)).toBe(true);
    return e as JmpArgumentError;
  }
  throw new Error('expected a JmpArgumentError, nothing was thrown');
}

describe('typed errors name the argument, what was expected and what was found', () => {
  it.each([0, -0.1, 1.5, Number.NaN, '0.7'])('keep = %s', (keep) => {
    const e = thrown(() => reduceTokens(state(), { importance, metric }, { method: 'jmp', keep, strategy: 'prune' } as unknown as ReductionMethod));
    expect(e.argument).toBe('method.keep');
    expect(e.message).toContain('(0, 1]');
    expect(e.found).toBe(typeof keep === 'string' ? '"0.7"' : String(keep));
  });

  it('mismatched dims', () => {
    const e = thrown(() =>
      reduceTokens(state(), { importance, metric: { data: new Float32Array(12), dims: [1, 6, 2] } }, { method: 'jmp', keep: 0.5, strategy: 'merge' }),
    );
    expect(e.argument).toBe('signals.metric.dims[1] (N)');
    expect(e.expected).toBe('5');
    expect(e.found).toBe('6');
    const e2 = thrown(() => createTokenState({ data: new Float32Array(9), dims: [1, 5, 2] }, { protectedTokens: 1 }));
    expect(e2.argument).toBe('tokens.data.length');
    const e3 = thrown(() => reduceTokens(state(), { importance: new Float32Array(4) }, { method: 'evit', keep: 0.5 }));
    expect(e3.argument).toBe('signals.importance.data.length');
  });

  it('non-finite attention', () => {
    const attention = new Float32Array(1 * 1 * 3 * 3).fill(0.3);
    attention[1] = Number.NaN;
    const e = thrown(() => importanceFromAttention({ data: attention, dims: [1, 1, 3, 3] }, 1));
    expect(e.argument).toMatch(/^attention/);
    expect(e.found).toBe('NaN');
    const rows = new Float32Array([0.5, Infinity, 0.5]);
    expect(thrown(() => importanceFromRows({ data: rows, dims: [1, 1, 3] })).found).toBe('Infinity');
    const imp = importance.slice();
    imp[2] = Number.NaN;
    expect(thrown(() => reduceTokens(state(), { importance: imp }, { method: 'evit', keep: 0.5 })).argument).toBe('signals.importance.data[2]');
  });

  it('unsorted or duplicate blocks', () => {
    const plan = (blocks: number[]) => () => planTokens({ schedule: { blocks, keep: 0.7 }, method: 'jmp', depth: 12, tokens: 197, protectedTokens: 1 });
    expect(thrown(plan([7, 4])).argument).toBe('schedule.blocks');
    expect(thrown(plan([4, 4])).expected).toContain('without duplicates');
    const e = thrown(plan([4, 13]));
    expect(e.argument).toBe('schedule.blocks[1]');
    expect(e.expected).toContain('[1, 12]');
  });

  it('a schedule that asks for more tokens than exist', () => {
    const e = thrown(() => planTokens({ schedule: { blocks: [1, 2, 3], r: 60 }, method: 'tome', depth: 12, tokens: 197, protectedTokens: 1 }));
    expect(e.argument).toBe('schedule.r (block 3)');
    expect(e.message).toContain('more tokens than exist');
    expect(thrown(() => reduceTokens(state(), { metric }, { method: 'tome', r: 3 })).argument).toBe('method.r');
  });

  it('missing tau, unknown strategy, missing signals, bad sizes', () => {
    expect(thrown(() => reduceTokens(state(), { importance, metric }, { method: 'jmp', keep: 0.5 })).argument).toBe('method.tau');
    expect(thrown(() => reduceTokens(state(), { importance, metric }, { method: 'jmp', keep: 0.5, strategy: 'both' as never })).argument).toBe(
      'method.strategy',
    );
    expect(thrown(() => reduceTokens(state(), { metric }, { method: 'jmp', keep: 0.5, strategy: 'merge' })).argument).toBe('signals.importance');
    expect(thrown(() => reduceTokens(state(), { importance }, { method: 'jmp', keep: 0.5, strategy: 'merge' })).argument).toBe('signals.metric');
    expect(thrown(() => logSizeBias(new Float32Array([1, 0]))).argument).toBe('sizes[1]');
    expect(thrown(() => reduceTokens(state(), {}, { method: 'fast' } as never)).argument).toBe('method.method');
  });

  it("match: an unknown value, 'nearest' without select 'redundancy', and the bipartite-only weights with 'nearest'", () => {
    const red = { method: 'jmp', keep: 0.75, strategy: 'merge', select: 'redundancy' } as const;
    const unknown = thrown(() => reduceTokens(state(), { importance, metric }, { ...red, match: 'greedy' as never }));
    expect(unknown.argument).toBe('method.match');
    expect(unknown.message).toContain('bipartite, nearest');
    expect(thrown(() => reduceTokens(state(), { importance, metric }, { ...red, select: 'attention', match: 'nearest' })).argument).toBe('method.match');
    expect(thrown(() => reduceTokens(state(), { importance, metric }, { ...red, match: 'nearest', sizeWeight: 0.1 })).argument).toBe('method.sizeWeight');
    expect(thrown(() => reduceTokens(state(), { importance, metric }, { ...red, match: 'nearest', importanceWeight: 0.1 })).argument).toBe(
      'method.importanceWeight',
    );
    // and it runs where it applies
    expect(reduceTokens(state(), { metric }, { ...red, match: 'nearest' }).state.dims).toEqual([1, 4, 2]);
  });

  it('isInstance recognises errors from another copy of the package through the Symbol.for marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('jmpjs.error')]: true });
    expect(JmpError.isInstance(foreign)).toBe(true);
    expect(JmpError.isInstance(new Error('x'))).toBe(false);
    expect(JmpArgumentError.isInstance(foreign)).toBe(false);
  });
});
