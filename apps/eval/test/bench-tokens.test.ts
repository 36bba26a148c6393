import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/args.js';
import { TOKEN_SHAPES, formatTokenTable, parseTokenShapes, tokenBenchOptions, type TokenResult } from '../src/bench-tokens.js';

describe('bench --tokens: the list', () => {
  it('takes all, token counts or model names, in the order given', () => {
    expect(parseTokenShapes('all').map((s) => s.tokens)).toEqual([196, 576, 1369]);
    expect(parseTokenShapes('1369,196').map((s) => s.model)).toEqual(['depth-anything-small', 'deit-small']);
    expect(parseTokenShapes('vit-small-384').map((s) => [s.tokens, s.size, s.task])).toEqual([[576, 384, 'image-classification']]);
  });

  it('each shape is its patch grid', () => {
    for (const s of TOKEN_SHAPES) expect((s.size / (s.task === 'depth-estimation' ? 14 : 16)) ** 2).toBe(s.tokens);
  });

  it('refuses unknown and repeated entries', () => {
    expect(() => parseTokenShapes('197')).toThrow(UsageError);
    expect(() => parseTokenShapes('196,deit-small')).toThrow(/each once/);
    expect(() => parseTokenShapes('')).toThrow(UsageError);
  });
});

describe('bench --tokens: the options', () => {
  it('batches 1 and 8, 5 rounds, the default JMP, Node unless --browser', () => {
    const o = tokenBenchOptions({ tokens: 'all' }, 'fp32');
    expect([o.batches, o.runs, o.jmp, o.browser, o.dtype]).toEqual([[1, 8], 5, {}, undefined, 'fp32']);
    const p = tokenBenchOptions({ tokens: '1369', batches: '1', runs: '3', runner: 'compiled', browser: 'wasm' }, 'q8');
    expect([p.batches, p.runs, p.jmp, p.browser]).toEqual([[1], 3, { runner: 'compiled' }, 'wasm']);
    expect(tokenBenchOptions({ tokens: '1369', budget: '0.55' }, 'fp32').jmp).toEqual({ budget: 0.55 });
    expect([o.profile, tokenBenchOptions({ tokens: '1369', profile: true }, 'fp32').profile]).toEqual([false, true]);
  });

  it('refuses what --tokens fixes itself', () => {
    expect(() => tokenBenchOptions({ tokens: 'all', methods: 'tome' }, 'fp32')).toThrow(/not with --methods/);
    expect(() => tokenBenchOptions({ tokens: 'all', model: 'x', shapes: 'eager14' }, 'fp32')).toThrow(/not with --model, --shapes/);
    expect(() => tokenBenchOptions({ tokens: 'all', browser: 'gl' }, 'fp32')).toThrow(UsageError);
    expect(() => tokenBenchOptions({ tokens: 'all', runner: 'fast' }, 'fp32')).toThrow(UsageError);
    expect(() => tokenBenchOptions({ tokens: 'all', batches: '1,0' }, 'fp32')).toThrow(UsageError);
    expect(() => tokenBenchOptions({ tokens: 'all', budget: '1.5' }, 'fp32')).toThrow(/--budget/);
    expect(() => tokenBenchOptions({ tokens: 'all', profile: true, browser: 'wasm' }, 'fp32')).toThrow(/not with --browser/);
  });
});

describe('bench --tokens: the table', () => {
  const base: TokenResult = {
    tokens: 196,
    model: 'deit-small',
    label: 'DeiT-S/16 at 224',
    batch: 1,
    plainMs: 30,
    jmpMs: 20,
    plainGmacs: 4.62,
    jmpGmacs: 3,
    rssPlainMiB: 338.4,
    rssJmpMiB: 441.6,
  };

  it('speedup from the times, ceiling from the GMACs', () => {
    const lines = formatTokenTable([base]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\| patches \| model \| batch/);
    expect(lines[2]).toBe('| 196 | DeiT-S/16 at 224 | 1 | 30.0 | 20.0 | 1.500× | 4.62 → 3.00 | 1.54× | 338 / 442 |');
  });

  it('a dash where JMP did not run or nothing was measured', () => {
    const row = formatTokenTable([{ ...base, jmpMs: null, plainGmacs: null, jmpGmacs: null, rssJmpMiB: null }])[2]!;
    expect(row).toBe('| 196 | DeiT-S/16 at 224 | 1 | 30.0 | — | — | — → — | — | 338 / — |');
  });
});
