import { DEIT_SMALL, baselineMacs, countMacs, planTokens } from '@jmpjs/core';
import { describe, expect, it } from 'vitest';
import { linearKeeps, scheduleFor } from '../src/ablate.js';
import { TARGETS, buildSettings, clampedR, jmpBlocks, matchGmacs, parseMethods, rText, type SweepContext } from '../src/settings.js';

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

  it("ToMe's r is clamped as ToMe clamps it, so that a small model reaches −50 % too", () => {
    // fmnist-vit's shape: 49 patches, one protected token, 12 blocks
    const small: SweepContext = { shape: { ...DEIT_SMALL, hidden: 48, intermediate: 192, patches: 49, patchSize: 4, classes: 10 }, tau: 0.9, tauSpec: 0.8 };
    // by hand: 49 → 44 → 39 → 34 → 29 → 24 → 19 → 14 → 9 → 5 (r 4 = ⌊9/2⌋) → 3 (⌊5/2⌋) → 2 (⌊3/2⌋ = 1) → 1 (⌊2/2⌋ = 1)
    expect(clampedR(small.shape, 5)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 4, 2, 1, 1]);
    expect(clampedR(small.shape, 2)).toEqual(Array(12).fill(2));
    const smallBase = baselineMacs(small.shape).gmacs;
    // one r per block leaves few steps on 49 tokens (r 2: −26 %, r 3: −39 %), but −50 % is reached
    const half = matchGmacs(small, 'tome', 0.5);
    expect(Math.abs(half.gmacs / smallBase - 0.5)).toBeLessThan(0.03);
    expect(Array.isArray(half.r)).toBe(true);
    expect(rText([5, 5, 4, 2])).toBe('5…2');
    expect(rText(3)).toBe('3');
  });

  it("ToMe's point (core's planBudget) is the r of closest GMACs, scanning every r as ToMe clamps it", () => {
    const shapes = [DEIT_SMALL, { ...DEIT_SMALL, patches: 49 }, { ...DEIT_SMALL, patches: 64, depth: 10, protectedTokens: 2 }];
    for (const shape of shapes) {
      const plain = baselineMacs(shape).gmacs;
      const blocks = Array.from({ length: shape.depth }, (_, i) => i + 1);
      const cost = (rs: number[]) =>
        countMacs(
          shape,
          planTokens({
            schedule: { blocks, r: rs },
            method: 'tome',
            depth: shape.depth,
            tokens: shape.patches + shape.protectedTokens,
            protectedTokens: shape.protectedTokens,
          }),
        ).gmacs;
      for (const target of [0.1, ...TARGETS, 0.6]) {
        let best = { rs: [] as number[], gmacs: Infinity };
        for (let r = 0; r <= shape.patches / 2; r++) {
          const g = cost(clampedR(shape, r));
          if (Math.abs(g - (1 - target) * plain) < Math.abs(best.gmacs - (1 - target) * plain)) best = { rs: clampedR(shape, r), gmacs: g };
        }
        const p = matchGmacs({ shape, tau: 0.9, tauSpec: 0.8 }, 'tome', target);
        expect(p.gmacs).toBe(best.gmacs);
        expect(p.r).toEqual(best.rs.every((r) => r === best.rs[0]) ? best.rs[0] : best.rs);
      }
    }
  });

  it("the default JMP's blocks are the library's defaultBlocks; spacing forces a family", () => {
    const small = { ...DEIT_SMALL, patches: 49 };
    expect(jmpBlocks(DEIT_SMALL)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(jmpBlocks(DEIT_SMALL, true)).toEqual([2, 4, 6, 8, 10]);
    expect(jmpBlocks(small)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(jmpBlocks(small, true, 'every-second')).toEqual([2, 4, 6, 8, 10]);
    expect(jmpBlocks(DEIT_SMALL, true, 'from-second')).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(jmpBlocks({ depth: 1, patches: 196 }, true)).toEqual([1]);
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
    const keeps = linearKeeps(DEIT_SMALL, 10);
    expect(keeps).toHaveLength(12);
    expect(keeps[0]! * 196).toBeCloseTo(186, 9);
    expect(keeps[1]! * 186).toBeCloseTo(176, 9);
    // clamped as ToMe clamps r: on 49 patches r 5 leaves 9 after 8 blocks, then 4 (⌊9/2⌋) leave
    const small = { ...DEIT_SMALL, patches: 49 };
    expect(linearKeeps(small, 5)[8]! * 9).toBeCloseTo(5, 9);
  });
});
