import { baselineMacs, countMacs, type ModelShape } from './cost.js';
import { JmpArgumentError } from './errors.js';
import { coreMethod } from './methods/registry.js';
import type { JmpSelect, ReductionMethod } from './methods/types.js';
import { planTokens, type BlockTokens, type Schedule } from './schedule.js';

/** What {@link planBudget} plans for. */
export interface BudgetOptions {
  /** Share of the plain model's GMACs to spend, in (0, 1]: 0.65 is −35 %. */
  budget: number;
  shape: ModelShape;
  method: ReductionMethod['method'];
  /** 1-based reduction blocks, strictly increasing. */
  blocks: readonly number[];
  /** JMP's selection ('redundancy' removes at most set A per block). */
  select?: JmpSelect;
  /** How far from the budget the plan may land, as a share of the plain GMACs. Default 0.01. */
  tolerance?: number;
  /** The last block's MLP runs on the protected tokens only (see `planTokens`). Default false. */
  headOnly?: boolean;
}

/** A schedule at a budget, and what it costs. */
export interface BudgetPlan {
  /** `keep` per block (JMP, EViT) or `r` per block (ToMe). */
  schedule: Schedule;
  planned: BlockTokens[];
  /** GMACs per image of the plan and of the plain model. */
  gmacs: number;
  plainGmacs: number;
  /** gmacs / plainGmacs. */
  share: number;
}

/**
 * Plans the amount of reduction at the given blocks so that the model costs `budget` of its plain
 * GMACs, within `tolerance`, from the cost model ({@link countMacs}):
 *
 * 1. one keep rate (ToMe: one r, at most half of the tokens left at each block, as ToMe clamps it)
 *    for all blocks, by bisection: the closest of the two plans around the budget;
 * 2. if that is farther than `tolerance` (few tokens make the steps coarse), each block's amount in
 *    turn, from the last block (the finest steps) to the first, moved to bring the cost closer.
 *
 * Throws a {@link JmpArgumentError} when the budget is outside what the blocks can reach (or stays
 * farther than `tolerance` from every plan).
 */
export function planBudget(options: BudgetOptions): BudgetPlan {
  const { budget, shape, method, blocks, select, headOnly } = options;
  const tolerance = options.tolerance ?? 0.01;
  if (typeof budget !== 'number' || !(budget > 0 && budget <= 1)) {
    throw new JmpArgumentError({ argument: 'budget', expected: "a share of the plain model's GMACs in (0, 1], e.g. 0.65 for −35 %", found: budget });
  }
  if (!(tolerance >= 0)) throw new JmpArgumentError({ argument: 'tolerance', expected: 'a number ≥ 0', found: tolerance });
  if (!Array.isArray(blocks) || blocks.length === 0) {
    throw new JmpArgumentError({ argument: 'blocks', expected: 'a non-empty array of 1-based block indices', found: blocks });
  }
  const plainGmacs = baselineMacs(shape).gmacs;
  const P = shape.protectedTokens;
  const tokens = shape.patches + P;
  // methods whose schedule gives r (tokens removed: integers, ToMe) rather than a keep rate
  const tome = coreMethod(method)?.amount === 'r';
  /** The plan of per-block amounts, or null where the schedule cannot run (too much removed). */
  const evaluate = (amounts: readonly number[]): BudgetPlan | null => {
    const schedule: Schedule = tome ? { blocks, r: clampR(amounts) } : { blocks, keep: [...amounts] };
    let planned: BlockTokens[];
    try {
      planned = planTokens({
        schedule,
        method,
        depth: shape.depth,
        tokens,
        protectedTokens: P,
        ...(select ? { select } : {}),
        ...(headOnly ? { headOnly } : {}),
      });
    } catch (e) {
      if (JmpArgumentError.isInstance(e) && /^schedule\.(keep|r) \(block/.test(e.argument)) return null;
      throw e;
    }
    const gmacs = countMacs(shape, planned).gmacs;
    return { schedule, planned, gmacs, plainGmacs, share: gmacs / plainGmacs };
  };
  /** ToMe: r at each block at most half of the tokens left there (as ToMe's code clamps it). */
  const clampR = (rs: readonly number[]): number[] => {
    let left = tokens - P;
    return rs.map((r) => {
      const c = Math.min(r, Math.floor(left / 2));
      left -= c;
      return c;
    });
  };
  const off = (p: BudgetPlan | null) => (p ? Math.abs(p.share - budget) : Infinity);
  const n = blocks.length;
  // "more": the amount that removes more tokens (keep down, r up); plans are monotone in it.
  // Uniform amounts: keep rates by bisection on (0, 1]; r by bisection on integers.
  const uniform = (a: number) => evaluate(Array.from({ length: n }, () => a));
  /** The closer to the budget of two plans (`current` when neither is closer). */
  const closer = (current: BudgetPlan | null, ...plans: (BudgetPlan | null)[]) => plans.reduce((b, p) => (off(p) < off(b) ? p : b), current);
  /** Keep rates: bisection on (0, 1] for the plans just below and just above the budget; the closer one. */
  const bisectKeep = (plan: (keep: number) => BudgetPlan | null, current: BudgetPlan | null) => {
    let lo = 0; // keep too low: infeasible or below the budget
    let hi = 1; // share(hi) ≥ budget
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      const p = plan(mid);
      if (p && p.share >= budget) hi = mid;
      else lo = mid;
    }
    return closer(current, plan(lo), plan(hi));
  };
  let best: BudgetPlan | null = null;
  if (tome) {
    const maxR = Math.floor(shape.patches / 2);
    let lo = 0; // share(lo) ≥ budget (r 0: the plain cost)
    let hi = maxR + 1; // first r that is too much or below the budget
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const p = uniform(mid);
      if (p && p.share >= budget) lo = mid;
      else hi = mid;
    }
    best = closer(best, uniform(lo), uniform(lo + 1));
  } else best = bisectKeep(uniform, best);
  // Per block, from the last: the amount there that brings the cost closest to the budget.
  const amounts = (p: BudgetPlan) => [...((tome ? p.schedule.r : p.schedule.keep) as number[])];
  for (let j = n - 1; j >= 0 && best && off(best) > tolerance; j--) {
    const base = amounts(best);
    const at = (a: number) => evaluate(base.map((v, i) => (i === j ? a : v)));
    if (tome) for (let r = 0; r <= Math.floor(shape.patches / 2); r++) best = closer(best, at(r));
    else best = bisectKeep(at, best);
  }
  if (!best || off(best) > tolerance) {
    const least = tome ? null : uniform(1e-9);
    throw new JmpArgumentError({
      argument: 'budget',
      expected: `a budget these blocks can reach within ±${tolerance} of the plain GMACs${best ? ` (the closest plan costs ${best.share.toFixed(3)})` : ''}`,
      found: budget,
      hint: least ? `The fewest GMACs at these blocks: ${least.share.toFixed(3)} of the plain model.` : 'Reduce at more blocks, or ask for a larger budget.',
    });
  }
  return best;
}
