import { JmpArgumentError } from './errors.js';
import { checkKeep } from './methods/checks.js';
import { METHODS, coreMethod } from './methods/registry.js';
import type { JmpSelect, ReductionMethod } from './methods/types.js';

/**
 * Where and how much to reduce. Blocks are 1-based and strictly increasing; the reduction of a
 * block runs after its attention residual, so that block's MLP already sees fewer tokens.
 */
export interface Schedule {
  /** 1-based block indices, strictly increasing. */
  blocks: readonly number[];
  /** Keep rate per block (one value for all, or one per block) for JMP and EViT. */
  keep?: number | readonly number[];
  /** Tokens removed per block (one value for all, or one per block) for ToMe. */
  r?: number | readonly number[];
}

/** The spec's default: keep 0.7 at blocks 4, 7 and 10 of a 12-block model (DeiT-S: 197 → 139 → 98 → 69). */
export const DEFAULT_SCHEDULE: Schedule = Object.freeze({ blocks: Object.freeze([4, 7, 10]), keep: 0.7 });

/** ToMe's usual schedule: the same `r` in every block. */
export function tomeSchedule(depth: number, r: number): Schedule {
  checkDepth(depth);
  return { blocks: Array.from({ length: depth }, (_, i) => i + 1), r };
}

/** Token counts of one block: `tokensIn` into the block, `tokensOut` after its reduction (= in if none). */
export interface BlockTokens {
  block: number;
  tokensIn: number;
  tokensOut: number;
}

export interface PlanOptions {
  schedule: Schedule;
  /** Which reduction the schedule drives. */
  method: ReductionMethod['method'];
  /** Number of blocks of the model. */
  depth: number;
  /** Tokens entering block 1 (patches + protected tokens; 197 for ViT/DeiT-S, 198 for distilled DeiT). */
  tokens: number;
  /** `P`. */
  protectedTokens: number;
  /**
   * JMP's selection: with `'redundancy'` a reduction can remove at most the tokens of ToMe's set A
   * (about half); a schedule that asks for more is refused here, before any work.
   */
  select?: JmpSelect;
  /**
   * The last block's MLP runs only on the `P` protected tokens, the only ones a class-token head
   * reads (its other outputs are never used): that block's `tokensOut` is `P`. Default false.
   */
  headOnly?: boolean;
}

/**
 * Validates a schedule against a model and plans the token counts of every block. The same
 * counts a run produces (reductions are deterministic in size).
 */
export function planTokens(options: PlanOptions): BlockTokens[] {
  const { schedule, method, depth, tokens, protectedTokens: P } = options;
  checkDepth(depth);
  if (!Number.isInteger(tokens) || tokens < 1) {
    throw new JmpArgumentError({ argument: 'tokens', expected: 'a positive integer', found: tokens });
  }
  if (!Number.isInteger(P) || P < 0 || P >= tokens) {
    throw new JmpArgumentError({ argument: 'protectedTokens', expected: `an integer in [0, ${tokens - 1}]`, found: P });
  }
  const steps = resolveSchedule(schedule, method, depth);
  const entry = methodEntry(method);
  const out: BlockTokens[] = [];
  let n = tokens;
  let s = 0;
  for (let block = 1; block <= depth; block++) {
    const step = steps[s];
    let next = n;
    if (step && step.block === block) {
      s++;
      next = entry.tokensAfter(step.amount, n, P, block, { select: options.select });
    }
    if (options.headOnly && block === depth) next = P;
    out.push({ block, tokensIn: n, tokensOut: next });
    n = next;
  }
  return out;
}

/** One step per scheduled block: `amount` is the keep rate (JMP, EViT) or r (ToMe). */
export interface ScheduleStep {
  block: number;
  amount: number;
}

/** Validates a schedule and expands per-block values. */
export function resolveSchedule(schedule: Schedule, method: ReductionMethod['method'], depth: number): ScheduleStep[] {
  if (!schedule || typeof schedule !== 'object' || !Array.isArray(schedule.blocks)) {
    throw new JmpArgumentError({ argument: 'schedule', expected: 'an object { blocks: number[], keep | r }', found: schedule });
  }
  const { blocks } = schedule;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (!Number.isInteger(b) || b! < 1 || b! > depth) {
      throw new JmpArgumentError({
        argument: `schedule.blocks[${i}]`,
        expected: `a 1-based block index in [1, ${depth}]`,
        found: b,
        hint: depth < 12 ? `The model has only ${depth} blocks.` : undefined,
      });
    }
    if (i > 0 && b! <= blocks[i - 1]!) {
      throw new JmpArgumentError({
        argument: 'schedule.blocks',
        expected: 'strictly increasing block indices without duplicates',
        found: blocks,
      });
    }
  }
  const key = methodEntry(method).amount;
  const value = schedule[key];
  if (value === undefined) {
    throw new JmpArgumentError({ argument: `schedule.${key}`, expected: `a ${key} for method '${method}'`, found: value });
  }
  if (Array.isArray(value) && value.length !== blocks.length) {
    throw new JmpArgumentError({
      argument: `schedule.${key}`,
      expected: `one value or ${blocks.length} values (one per block)`,
      found: value,
    });
  }
  return blocks.map((block, i) => {
    const amount = Array.isArray(value) ? (value[i] as number) : (value as number);
    if (key === 'keep') checkKeep(`schedule.keep (block ${block})`, amount);
    else if (!Number.isInteger(amount) || amount < 0) {
      throw new JmpArgumentError({ argument: `schedule.r (block ${block})`, expected: 'a non-negative integer', found: amount });
    }
    return { block, amount };
  });
}

/**
 * The registry's entry for `method` (methods/registry.ts). A name it does not hold plans as JMP
 * does, as it always has here (`reduceTokens` refuses it).
 */
function methodEntry(method: ReductionMethod['method']) {
  return coreMethod(method) ?? METHODS.jmp;
}

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1) {
    throw new JmpArgumentError({ argument: 'depth', expected: 'a positive integer number of blocks', found: depth });
  }
}
