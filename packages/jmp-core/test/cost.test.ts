import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE, DEIT_SMALL, baselineMacs, blockMacs, countMacs, planTokens, tomeSchedule } from '../src/index.js';

describe('cost model (GMACs)', () => {
  it('gives 4.60 GMACs for DeiT-S', () => {
    expect(baselineMacs(DEIT_SMALL).gmacs).toBeCloseTo(4.6, 2); // |Δ| < 0.005
  });

  it('plans 197 → 139 → 98 → 69 tokens and about 3.0 GMACs for keep 0.7 at blocks 4/7/10', () => {
    const plan = planTokens({ schedule: DEFAULT_SCHEDULE, method: 'jmp', depth: 12, tokens: 197, protectedTokens: 1 });
    expect(plan.map((b) => b.tokensIn)).toEqual([197, 197, 197, 197, 139, 139, 139, 98, 98, 98, 69, 69]);
    expect(plan[3]).toEqual({ block: 4, tokensIn: 197, tokensOut: 139 });
    const cost = countMacs(DEIT_SMALL, plan);
    expect(Math.abs(cost.gmacs - 3.0)).toBeLessThan(0.05);
    // −35 % against the baseline, as in the paper.
    expect(1 - cost.gmacs / baselineMacs(DEIT_SMALL).gmacs).toBeGreaterThan(0.34);
  });

  it('counts a constant head (headMacs) instead of C · classes · heads, in the plain and the reduced cost', () => {
    const dense = { ...DEIT_SMALL, headMacs: 2e9 };
    const plan = planTokens({ schedule: DEFAULT_SCHEDULE, method: 'jmp', depth: 12, tokens: 197, protectedTokens: 1 });
    expect(baselineMacs(dense).head).toBe(2e9);
    expect(baselineMacs(dense).gmacs - baselineMacs(DEIT_SMALL).gmacs).toBeCloseTo(2 - (384 * 1000) / 1e9, 9);
    expect(baselineMacs(dense).gmacs - countMacs(dense, plan).gmacs).toBeCloseTo(baselineMacs(DEIT_SMALL).gmacs - countMacs(DEIT_SMALL, plan).gmacs, 9);
  });

  it('counts each block as 4·N·C² + 2·N²·C + 8·N_mid·C² with MLP ratio 4', () => {
    const C = 384;
    expect(blockMacs(DEIT_SMALL, 197, 139)).toBe(4 * 197 * C * C + 2 * 197 * 197 * C + 8 * 139 * C * C);
  });

  it('EViT adds the fused token (which later reductions treat as a patch token); ToMe removes r per block', () => {
    const evit = planTokens({ schedule: DEFAULT_SCHEDULE, method: 'evit', depth: 12, tokens: 197, protectedTokens: 1 });
    expect(evit.map((b) => b.tokensOut).filter((n, i) => n !== evit[i]!.tokensIn)).toEqual([140, 100, 72]);
    const tome = planTokens({ schedule: tomeSchedule(12, 13), method: 'tome', depth: 12, tokens: 197, protectedTokens: 1 });
    expect(tome[11]!.tokensOut).toBe(197 - 12 * 13);
  });

  it('reports the reduction overhead apart from the total', () => {
    const plan = planTokens({ schedule: DEFAULT_SCHEDULE, method: 'jmp', depth: 12, tokens: 197, protectedTokens: 1 });
    const a = countMacs(DEIT_SMALL, plan);
    const b = countMacs(DEIT_SMALL, plan, 1e6);
    expect(b.gmacs).toBe(a.gmacs);
    expect(b.reductionOverhead).toBe(1e6);
  });
});
