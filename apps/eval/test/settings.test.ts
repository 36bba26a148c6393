import { DEIT_SMALL, baselineMacs } from '@jmpjs/core';
import { describe, expect, it } from 'vitest';
import { linearKeeps, scheduleFor } from '../src/ablate.js';
import { TARGETS, buildSettings, matchGmacs, parseMethods, type SweepContext } from '../src/settings.js';

const ctx: SweepContext = { shape: DEIT_SMALL, tau: 0.9, tauSpec: 0.8 };
const base = baselineMacs(DEIT_SMALL).gmacs;

describe('sweeps at matched GMACs', () => {
  it.each(['jmp', 'evit', 'tome'] as const)('%s has a point within 3 %% of each target', (method) => {
    for (const target of TARGETS) {
      const p = matchGmacs(ctx, method, target);
      expect(Math.abs(p.gmacs / base - (1 - target))).toBeLessThan(0.03);
    }
  });

  it('the −35 % JMP point is the default schedule, keep 0.7', () => {
    expect(matchGmacs(ctx, 'jmp', 0.35).keep).toBe(0.7);
  });

  it('one baseline plus three points per method; default schedule only with sweep off', () => {
    const all = buildSettings(parseMethods('baseline,jmp,jmp-spec,prune,merge,tome,evit'), ctx, true);
    expect(all).toHaveLength(1 + 6 * 3);
    expect(all.filter((s) => s.method === 'jmp').map((s) => s.options?.tau)).toEqual([0.9, 0.9, 0.9]);
    expect(all.find((s) => s.method === 'jmp')!.options).toMatchObject({ select: 'redundancy', strategy: 'adaptive-token' });
    expect(all.find((s) => s.method === 'jmp-spec')!.options).toMatchObject({ select: 'attention', strategy: 'adaptive', tau: 0.8 });
    const short = buildSettings(parseMethods('baseline,jmp,tome'), ctx, false);
    expect(short.map((s) => s.method)).toEqual(['baseline', 'jmp', 'tome']);
    // the default JMP: keep 0.85 at every second block (−34.5 % GMACs on DeiT-S)
    expect(short[1]!.options).toMatchObject({ select: 'redundancy', strategy: 'adaptive-token', keep: 0.85, blocks: [2, 4, 6, 8, 10, 12] });
    expect(short[1]!.plannedGmacs / all[0]!.plannedGmacs).toBeCloseTo(1 - 0.345, 2);
    const spec = buildSettings(parseMethods('jmp-spec,evit'), ctx, false);
    for (const s of spec) expect(s.options).toMatchObject({ keep: 0.7, blocks: [4, 7, 10] });
  });

  it('rejects unknown methods', () => {
    expect(() => parseMethods('jmp,fast')).toThrow(/unknown method 'fast'/);
  });
});

describe('ablate schedules', () => {
  it('match the GMACs targets per schedule family; the linear one removes r tokens per block', () => {
    const base = baselineMacs(DEIT_SMALL).gmacs;
    const half = scheduleFor(DEIT_SMALL, 'half', 0.35, base);
    expect(half).toMatchObject({ blocks: [2, 4, 6, 8, 10, 12], keep: 0.85 });
    expect(half.gmacs / base).toBeCloseTo(0.655, 2);
    expect(scheduleFor(DEIT_SMALL, 'three', 0.35, base)).toMatchObject({ blocks: [4, 7, 10], keep: 0.7 });
    const keeps = linearKeeps(DEIT_SMALL, 10)!;
    expect(keeps).toHaveLength(12);
    expect(keeps[0]! * 196).toBeCloseTo(186, 9);
    expect(keeps[1]! * 186).toBeCloseTo(176, 9);
  });
});
