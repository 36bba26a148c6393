import { describe, expect, it } from 'vitest';
import { DEIT_SMALL, JmpArgumentError, baselineMacs, countMacs, planBudget, planTokens, type ModelShape } from '../src/index.js';

const EVEN = [2, 4, 6, 8, 10, 12];
/** The shape of the held-out Fashion-MNIST ViT: 49 patches, width 48 (coarse steps). */
const SMALL: ModelShape = { hidden: 48, depth: 12, intermediate: 192, patches: 49, channels: 1, patchSize: 4, classes: 10, heads: 1, protectedTokens: 1 };

describe('planBudget', () => {
  it.each([
    ['DeiT-S, JMP redundancy, even blocks', DEIT_SMALL, 'jmp', EVEN, 'redundancy'],
    ['DeiT-S, JMP attention, 4/7/10', DEIT_SMALL, 'jmp', [4, 7, 10], 'attention'],
    ['DeiT-S, EViT, 4/7/10', DEIT_SMALL, 'evit', [4, 7, 10], undefined],
    ['49 patches, JMP redundancy, even blocks', SMALL, 'jmp', EVEN, 'redundancy'],
    ['49 patches, ToMe, every block', SMALL, 'tome', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], undefined],
    ['DeiT-S, ToMe, every block', DEIT_SMALL, 'tome', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], undefined],
  ] as const)('%s: within 1 % of 0.8, 0.65 and 0.5', (_name, shape, method, blocks, select) => {
    for (const budget of [0.8, 0.65, 0.5]) {
      const plan = planBudget({ budget, shape, method, blocks, ...(select ? { select } : {}) });
      expect(Math.abs(plan.share - budget), `budget ${budget}`).toBeLessThanOrEqual(0.01);
      // the plan is what planTokens and countMacs give for its schedule
      const planned = planTokens({
        schedule: plan.schedule,
        method,
        depth: shape.depth,
        tokens: shape.patches + shape.protectedTokens,
        protectedTokens: shape.protectedTokens,
        ...(select ? { select } : {}),
      });
      expect(planned).toEqual(plan.planned);
      expect(countMacs(shape, planned).gmacs / baselineMacs(shape).gmacs).toBeCloseTo(plan.share, 12);
    }
  });

  it('headOnly: the last block ends with the protected tokens, which saves its MLP on the others', () => {
    const tokens = DEIT_SMALL.patches + 1;
    const plain = planTokens({ schedule: { blocks: [2], keep: 1 }, method: 'jmp', depth: 12, tokens, protectedTokens: 1 });
    const head = planTokens({ schedule: { blocks: [2], keep: 1 }, method: 'jmp', depth: 12, tokens, protectedTokens: 1, headOnly: true });
    expect(head.slice(0, 11)).toEqual(plain.slice(0, 11));
    expect(head[11]).toEqual({ block: 12, tokensIn: 197, tokensOut: 1 });
    // only that MLP's cost goes: 2·(N − P)·C·I MACs
    const saved = (countMacs(DEIT_SMALL, plain).gmacs - countMacs(DEIT_SMALL, head).gmacs) * 1e9;
    expect(saved).toBeCloseTo(2 * 196 * 384 * 1536, 0);
    // with a reduction at the last block as well, still P tokens out of it
    const both = planTokens({ schedule: { blocks: [12], keep: 0.5 }, method: 'jmp', depth: 12, tokens, protectedTokens: 1, headOnly: true });
    expect(both[11]!.tokensOut).toBe(1);
    // the budget planner counts it: the same budget at higher keep rates
    const [a, b] = [false, true].map((headOnly) =>
      planBudget({ budget: 0.65, shape: DEIT_SMALL, method: 'jmp', blocks: [2, 4, 6, 8, 10], select: 'redundancy', headOnly }),
    );
    expect(Math.abs(b!.share - 0.65)).toBeLessThanOrEqual(0.01);
    expect(b!.planned[11]!.tokensOut).toBe(1);
    expect((b!.schedule.keep as number[])[0]).toBeGreaterThan((a!.schedule.keep as number[])[0]!);
  });

  it('a budget of 1 reduces nothing', () => {
    const plan = planBudget({ budget: 1, shape: DEIT_SMALL, method: 'jmp', blocks: EVEN, select: 'redundancy' });
    expect(plan.share).toBe(1);
    expect(plan.planned.every((b) => b.tokensOut === b.tokensIn)).toBe(true);
  });

  it('refuses budgets outside (0, 1] and budgets the blocks cannot reach, naming the reach', () => {
    for (const budget of [0, -0.2, 1.5, Number.NaN]) {
      expect(() => planBudget({ budget, shape: DEIT_SMALL, method: 'jmp', blocks: EVEN })).toThrow(JmpArgumentError);
    }
    // one reduction at the last block cannot take a third of the cost away
    expect(() => planBudget({ budget: 0.65, shape: DEIT_SMALL, method: 'jmp', blocks: [12], select: 'attention' })).toThrow(
      /fewest GMACs at these blocks: 0\.9/,
    );
    // ToMe removes at most half of the tokens per block
    expect(() => planBudget({ budget: 0.05, shape: SMALL, method: 'tome', blocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] })).toThrow(JmpArgumentError);
    // select 'redundancy' removes at most set A (about half) per block
    expect(() => planBudget({ budget: 0.2, shape: DEIT_SMALL, method: 'jmp', blocks: [2, 4], select: 'redundancy' })).toThrow(/Reduce at more blocks/);
  });
});
