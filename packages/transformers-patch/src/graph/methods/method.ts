// The interface of a method in the graph's registry (registry.ts), and what its entry is given.
import type { JmpSelect, ReductionMethod } from '@jmpjs/core';
import type { CompileOptions } from '../compile-options.js';
import type { GraphOps } from '../ops.js';
import type { ReductionInput, ReductionOutput } from './types.js';

/** One reduction of the schedule: its amount (keep rate, or ToMe's r) and τ (JMP's adaptive strategies). */
export interface MethodStep {
  amount: number;
  tau: number | undefined;
}

/** What a method's defaults depend on: the model and the choices made before them. */
export interface ModelFacts {
  /** Blocks of the model. */
  depth: number;
  /** Patch tokens entering block 1. */
  patches: number;
  /** The last block's MLP runs on the protected tokens only (then the default blocks leave it out). */
  headOnly: boolean;
  /** JMP's selection (the other methods ignore it). */
  select: JmpSelect;
}

/** The options a method reads to build the core's reduction (the segments runner). */
export type CoreMethodOptions = Pick<CompileOptions, 'strategy' | 'select' | 'match' | 'metric'> & {
  importanceWeight: number;
  sizeWeight: number;
};

/**
 * A method in the registry (graph/methods/registry.ts): how the compiled graph, the compiled runner
 * and the option defaults treat it. Each method's folder holds its entry, its emitters and its defaults.
 */
export interface GraphMethod {
  /** What a schedule gives it per block (as `@jmpjs/core`'s registry): a keep rate, or the tokens removed (`r`). */
  amount: 'keep' | 'r';
  /** Whether a step of this amount removes anything (keep < 1, r > 0): steps that do not get no nodes. */
  reduces(amount: number): boolean;
  /** Emits one reduction: step `k` of the compile options. */
  emit(g: GraphOps, x: ReductionInput, step: MethodStep, o: CompileOptions): ReductionOutput;
  /** Patch tokens that stay at a step of `amount` from `n` tokens, `P` of them protected (EViT's fused token not counted). */
  kept(amount: number, n: number, P: number): number;
  /**
   * What every image did at a step that removed tokens, where the graph has no statistics outputs
   * (ToMe merges, EViT fuses); undefined: read from the graph's σ / merged outputs (JMP).
   */
  decision: 'merge' | 'fuse' | undefined;
  /** The budget a schedule is planned for where neither keep, r nor a budget is given (JMP); undefined: none. */
  defaultBudget: number | undefined;
  /** The keep rate where neither keep nor a budget is given (EViT); undefined: none (JMP plans from its budget, ToMe needs r). */
  defaultKeep: number | undefined;
  /** The default reduction blocks (1-based). */
  defaultBlocks(facts: ModelFacts): number[];
  /** Whether proportional attention is on where the options leave it open (off for EViT, as EViT runs). */
  proportionalAttention: boolean;
  /**
   * Dimensions of the rows the compiled graph compares (the compiled runner's overhead statistics):
   * the head-mean keys' `hidden / heads`, `hidden` for the token states and per-head keys, 0 where it compares none.
   */
  similarityDims(o: Pick<CompileOptions, 'select' | 'strategy' | 'metric'>, hidden: number, heads: number): number;
  /** `@jmpjs/core`'s reduction for one step (the segments runner). */
  coreMethod(o: CoreMethodOptions, step: MethodStep): ReductionMethod;
}
