import { baselineMacs, countMacs, planBudget, planTokens, type ModelShape } from '@jmpjs/core';
import type { JMPOptions } from '@jmpjs/transformers-patch';
import { DEFAULT_KEEP_EVIT, defaultBlocks } from './library.js';

/** The methods the app compares. */
/**
 * `jmp` is the default JMP (select 'redundancy', strategy 'adaptive-token'); `jmp-spec` the paper's
 * rule as reconstructed (select 'attention', strategy 'adaptive'); `prune` / `merge` the default
 * with the strategy forced.
 */
export const METHODS = ['baseline', 'jmp', 'jmp-spec', 'prune', 'merge', 'tome', 'evit'] as const;
export type MethodName = (typeof METHODS)[number];

/** One method at one setting: what enableJMP gets (null: the plain model). */
export interface Setting {
  /** One of METHODS, or `plan`: a plan from calibrateJMP (`--plan`). */
  method: MethodName | 'plan';
  options: JMPOptions | null;
  /** Planned GMACs per image (the run reports the real figure). */
  plannedGmacs: number;
  /** The GMACs reduction this setting was picked for (−0.2, −0.35, −0.5), if any. */
  target?: number;
}

/**
 * The paper's rule and EViT reduce at blocks 4, 7 and 10 (of 12), those of them a shallower model has:
 * as published, not the library's `defaultBlocks`, which scales them to the depth (3, 6, 8 of 10).
 */
export const SPEC_BLOCKS = [4, 7, 10];
/**
 * The default JMP's blocks: the library's `defaultBlocks` for select 'redundancy' (every second
 * block, or every block from the second on models with at most `FEW_PATCHES` patch tokens; without
 * the last one with `headOnly`, the library's default where the head allows it). `spacing` forces
 * one of the two families (the ablation's schedule families).
 */
export function jmpBlocks(shape: { depth: number; patches: number }, headOnly = false, spacing: 'auto' | 'every-second' | 'from-second' = 'auto'): number[] {
  // defaultBlocks chooses the family by the patch count: none (from the second) or no limit (every second) forces it
  const patches = spacing === 'every-second' ? Infinity : spacing === 'from-second' ? 0 : shape.patches;
  return defaultBlocks('jmp', shape.depth, 'redundancy', headOnly, patches);
}

/** The methods that run as the library's JMP runs by default, head-only last block included; the others run as published. */
export function usesHeadOnly(method: MethodName): boolean {
  return method === 'jmp' || method === 'merge' || method === 'prune';
}
/**
 * Keep rate of the no-sweep setting, about −35 % GMACs on DeiT-S at each method's blocks: the
 * library's keep rate for EViT (at 4/7/10) for the paper's rule and EViT; 0.85 at the default JMP's
 * six blocks (−34.5 %; the library plans the default JMP's keep rate from its budget instead).
 */
const DEFAULT_KEEP = { jmp: 0.85, spec: DEFAULT_KEEP_EVIT } as const;
/** GMACs reductions each method gets a point near, for comparisons at matched cost. */
export const TARGETS = [0.2, 0.35, 0.5];

export interface SweepContext {
  shape: ModelShape;
  /** τ of the default JMP (`jmp`) and of the paper's rule (`jmp-spec`) for this model. */
  tau: number;
  tauSpec: number;
  /** Override of every keep-based method's blocks (default: each method's own). */
  blocks?: number[];
  /** The model's head reads only the protected tokens, and the library runs the last block's MLP on those (its `info.headOnly`). */
  headOnly?: boolean;
}

/** The reduction blocks of a keep-based method: the default JMP family at every second block, the paper's rule and EViT at 4/7/10. */
export function blocksFor(method: MethodName, ctx: SweepContext): number[] {
  if (ctx.blocks) return ctx.blocks;
  return method === 'jmp-spec' || method === 'evit'
    ? SPEC_BLOCKS.filter((b) => b <= ctx.shape.depth)
    : jmpBlocks(ctx.shape, !!ctx.headOnly && usesHeadOnly(method));
}

function plannedGmacs(
  ctx: SweepContext,
  method: 'jmp' | 'evit' | 'tome',
  schedule: { blocks: number[]; keep?: number; r?: number | number[] },
  headOnly = false,
): number {
  const { shape } = ctx;
  const plan = planTokens({
    schedule,
    method,
    depth: shape.depth,
    tokens: shape.patches + shape.protectedTokens,
    protectedTokens: shape.protectedTokens,
    headOnly,
  });
  return countMacs(shape, plan).gmacs;
}

/**
 * ToMe's r at each block as ToMe's code clamps it: at most half of the patch tokens left there
 * (`r = min(r, (t − protected) // 2)`), so that a large r keeps merging to the last block.
 */
export function clampedR(shape: ModelShape, r: number): number[] {
  const out: number[] = [];
  let patches = shape.patches;
  for (let b = 0; b < shape.depth; b++) {
    const rb = Math.min(r, Math.floor(patches / 2));
    out.push(rb);
    patches -= rb;
  }
  return out;
}

/** ToMe's r for a table: `5`, or `5…2` where it is clamped in the later blocks. */
export function rText(r: unknown): string {
  return Array.isArray(r) ? `${r[0]}…${r.at(-1)}` : String(r);
}

/**
 * The keep rate (JMP, EViT, at `blocks`) or r (ToMe) whose planned GMACs are closest to
 * `(1 − target) · baseline`.
 *
 * ToMe: core's `planBudget`, one r at every block (clamped where too few tokens are left, as ToMe
 * does: a list then), the closest however far (`tolerance: Infinity`: no per-block refinement).
 * Keep rates: the closest on a grid of 0.01 (ties: the larger keep), so that the table's keep rates
 * are the ones it prints and runs (`planBudget` plans the keep rate to many decimals: other keep
 * rates, and at some targets other token counts, so they do not come from it).
 */
export function matchGmacs(
  ctx: SweepContext,
  method: 'jmp' | 'evit' | 'tome',
  target: number,
  blocks: number[] = SPEC_BLOCKS,
  headOnly = false,
): { keep?: number; r?: number | number[]; gmacs: number } {
  if (method === 'tome') {
    const every = Array.from({ length: ctx.shape.depth }, (_, i) => i + 1);
    const plan = planBudget({ budget: 1 - target, shape: ctx.shape, method: 'tome', blocks: every, tolerance: Infinity });
    const rs = plan.schedule.r as number[];
    return { r: rs.every((x) => x === rs[0]) ? rs[0]! : rs, gmacs: plan.gmacs };
  }
  const goal = (1 - target) * baselineMacs(ctx.shape).gmacs;
  let best: { keep: number; gmacs: number } = { keep: 1, gmacs: Infinity };
  for (let k = 100; k >= 5; k--) {
    const keep = k / 100;
    const g = plannedGmacs(ctx, method, { blocks, keep }, headOnly);
    if (Math.abs(g - goal) < Math.abs(best.gmacs - goal)) best = { keep, gmacs: g };
  }
  return best;
}

/** Options of one method at a keep rate / r. */
export function optionsFor(method: MethodName, ctx: SweepContext, amount: { keep?: number; r?: number | number[] }): JMPOptions | null {
  const blocks = blocksFor(method, ctx);
  // the JMP family as the library runs it; the paper's rule, EViT and ToMe as published
  const headOnly = !!ctx.headOnly && usesHeadOnly(method);
  switch (method) {
    case 'baseline':
      return null;
    case 'jmp':
      return { method: 'jmp', select: 'redundancy', strategy: 'adaptive-token', tau: ctx.tau, keep: amount.keep!, blocks, headOnly };
    case 'jmp-spec':
      return { method: 'jmp', select: 'attention', strategy: 'adaptive', tau: ctx.tauSpec, keep: amount.keep!, blocks, headOnly };
    case 'prune':
      return { method: 'jmp', select: 'redundancy', strategy: 'prune', keep: amount.keep!, blocks, headOnly };
    case 'merge':
      return { method: 'jmp', select: 'redundancy', strategy: 'merge', keep: amount.keep!, blocks, headOnly };
    case 'evit':
      return { method: 'evit', keep: amount.keep!, blocks, headOnly };
    case 'tome':
      return { method: 'tome', r: amount.r!, headOnly };
  }
}

/**
 * Settings for a run: the baseline, and for each other method one point per GMACs target
 * (`sweep`), or only the default schedule (JMP keep 0.85 at every second block; the paper's rule
 * and EViT keep 0.7 at blocks 4/7/10; ToMe at −35 %).
 */
export function buildSettings(methods: readonly MethodName[], ctx: SweepContext, sweep: boolean): Setting[] {
  const out: Setting[] = [];
  for (const method of methods) {
    if (method === 'baseline') {
      out.push({ method, options: null, plannedGmacs: plannedGmacs(ctx, 'jmp', { blocks: [1], keep: 1 }) });
      continue;
    }
    const kind = method === 'tome' ? 'tome' : method === 'evit' ? 'evit' : 'jmp';
    const blocks = blocksFor(method, ctx);
    const headOnly = !!ctx.headOnly && usesHeadOnly(method);
    const keep = method === 'jmp-spec' || method === 'evit' ? DEFAULT_KEEP.spec : DEFAULT_KEEP.jmp;
    const points = sweep
      ? TARGETS.map((t) => ({ target: t, ...matchGmacs(ctx, kind, t, blocks, headOnly) }))
      : [kind === 'tome' ? { target: 0.35, ...matchGmacs(ctx, 'tome', 0.35) } : { keep, gmacs: plannedGmacs(ctx, kind, { blocks, keep }, headOnly) }];
    for (const p of points) {
      out.push({
        method,
        options: optionsFor(method, ctx, p),
        plannedGmacs: p.gmacs,
        ...('target' in p && p.target !== undefined ? { target: p.target } : {}),
      });
    }
  }
  return out;
}

export function parseMethods(list: string): MethodName[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(METHODS as readonly string[]).includes(n)) throw new Error(`--methods: unknown method '${n}' (known: ${METHODS.join(', ')})`);
  }
  return names as MethodName[];
}
