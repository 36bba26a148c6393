import { JmpArgumentError, planBudget, planTokens, resolveSchedule, type BlockTokens, type ModelShape, type Schedule, type ScheduleStep } from '@jmpjs/core';
import { defaultBlocks, type ResolvedOptions } from './options.js';

/** Where and how much a model reduces, for its depth and token count. */
export interface SchedulePlan {
  blocks: number[];
  /** Keep rate (JMP, EViT) or r (ToMe) per block. */
  steps: ScheduleStep[];
  /** Token counts into and out of every block. */
  planned: BlockTokens[];
  /** The GMACs budget the schedule was planned for (a share of the plain model's), or null for an explicit keep / r. */
  budget: number | null;
}

/**
 * The schedule of the options for a model: the blocks (given, or the method's default), and the
 * keep rates or r given, or planned from the budget by `@jmpjs/core`'s `planBudget`.
 */
export function planSchedule(o: Pick<ResolvedOptions, 'method' | 'keep' | 'r' | 'blocks' | 'select' | 'budget' | 'defaultBudget' | 'warn' | 'tau'>, shape: ModelShape): SchedulePlan {
  const depth = shape.depth;
  const blocks = [...(o.blocks ?? defaultBlocks(o.method, depth, o.select))];
  if (Array.isArray(o.tau) && o.tau.length !== blocks.length) {
    throw new JmpArgumentError({ argument: 'options.tau', expected: `one τ, or one per reduction block (${blocks.length}: blocks ${blocks.join(', ')})`, found: o.tau });
  }
  const select = o.method === 'jmp' ? o.select : undefined;
  let schedule: Schedule;
  if (o.budget !== undefined) {
    resolveSchedule({ blocks, [o.method === 'tome' ? 'r' : 'keep']: o.method === 'tome' ? 0 : 1 }, o.method, depth); // the blocks' own errors first
    const plan = (tolerance?: number) => planBudget({ budget: o.budget!, shape, method: o.method, blocks, ...(select ? { select } : {}), ...(tolerance !== undefined ? { tolerance } : {}) });
    try {
      schedule = plan().schedule;
    } catch (e) {
      if (!JmpArgumentError.isInstance(e) || e.argument !== 'budget') throw e;
      if (!o.defaultBudget) throw new JmpArgumentError({ argument: 'options.budget', expected: e.expected, found: o.budget, ...(e.hint ? { hint: e.hint } : {}) });
      // the default budget, out of reach at these blocks (a shallow model, few tokens): the closest plan
      const closest = plan(Number.POSITIVE_INFINITY);
      o.warn(`[jmp] The default budget (${o.budget} of the plain GMACs) is out of reach at blocks ${blocks.join(', ')}: JMP runs the closest plan, ${closest.share.toFixed(3)}. Pass budget, keep or blocks to choose.`);
      schedule = closest.schedule;
    }
  } else schedule = o.method === 'tome' ? { blocks, r: o.r! } : { blocks, keep: o.keep! };
  const steps = resolveSchedule(schedule, o.method, depth);
  const planned = planTokens({ schedule, method: o.method, depth, tokens: shape.patches + shape.protectedTokens, protectedTokens: shape.protectedTokens, ...(select ? { select } : {}) });
  return { blocks, steps, planned, budget: o.budget ?? null };
}
