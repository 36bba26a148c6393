// The reductions' shared types: what a method is asked for (ReductionMethod), what it measures in the
// model (ReductionSignals) and what it returns (ReductionResult). reduce.ts, the method folders and the
// registry import them from here (no import circle).
import type { TokenState } from '../state.js';
import type { Tensor } from '../tensor.js';

/**
 * How JMP treats the non-critical tokens of a sample (spec step 4):
 * - `adaptive` (JMP): the whole sample merges when `σ_b ≥ τ`, otherwise it prunes;
 * - `adaptive-token`: each non-critical token merges when its best similarity `m_j ≥ τ`, else it is dropped;
 * - `merge` / `prune`: always merge / always prune (ablations).
 */
export type Strategy = 'adaptive' | 'adaptive-token' | 'merge' | 'prune';

export const STRATEGIES: readonly Strategy[] = ['adaptive', 'adaptive-token', 'merge', 'prune'];

/** JMP at one reduction point. */
export interface JmpMethod {
  method: 'jmp';
  /** Share of the patch tokens kept as critical: `K = ceil(keep · (N − P))`, in (0, 1]. */
  keep: number;
  /** Default `'adaptive'`. */
  strategy?: Strategy;
  /** Threshold τ on cosine similarity; required by the adaptive strategies (calibrate it per model). */
  tau?: number;
  /** Similarity metric: head-mean keys (`'keys'`, default, given as `signals.metric`) or the token states. */
  metric?: 'keys' | 'hidden';
  /**
   * How the `M = N − P − K` non-critical tokens are chosen:
   * - `'attention'` (default; the spec's step 2): the least important by `signals.importance`;
   * - `'redundancy'`: the most redundant, with ToMe's split of the tokens by absolute position —
   *   the `M` tokens of set A (even positions) whose best match in set B (odd positions) is most
   *   similar leave, and that match is the critical token they merge into. Needs no importance;
   *   at most the tokens of set A (about half) can leave.
   */
  select?: JmpSelect;
  /**
   * Select 'redundancy': which tokens may leave and where they merge.
   * - `'bipartite'` (default): ToMe's split above — set A leaves into set B.
   * - `'nearest'`: no split. Each unprotected token's most similar other unprotected token gives its
   *   score `n_i`; ranked by `n_i` (ties: the lower index), a token is *claimed* when a token ranked
   *   above it has it as its most similar. The `M` unclaimed tokens ranked highest leave (claimed
   *   ones after every unclaimed one), and each merges into its most similar token among those that
   *   stay (or is pruned, by the strategy). A token's nearest neighbour is then kept for it unless a
   *   higher-ranked token's was. The keep rate has the same bound as with `'bipartite'`.
   */
  match?: JmpMatch;
  /**
   * Select 'redundancy': how much importance keeps a token from leaving. A token of set A leaves by
   * `m_a − importanceWeight · a_a / ā` (ā: the mean importance of the unprotected tokens), so
   * important tokens stay even when they are redundant. Default 0 (needs `signals.importance` when > 0).
   */
  importanceWeight?: number;
  /**
   * Select 'redundancy': how much merged sizes keep a pair apart (ATM's size-aware matching): the
   * score is lowered by `sizeWeight · ln((s_a + s_b) / 2)`, so tokens that already stand for many
   * patches grow more slowly. Default 0.
   */
  sizeWeight?: number;
}

export type JmpSelect = 'attention' | 'redundancy';
export const JMP_SELECTS: readonly JmpSelect[] = ['attention', 'redundancy'];

/** How select 'redundancy' pairs the tokens (see {@link JmpMethod.match}). */
export type JmpMatch = 'bipartite' | 'nearest';
export const JMP_MATCHES: readonly JmpMatch[] = ['bipartite', 'nearest'];

/** ToMe's bipartite soft matching: merges the `r` most similar pairs. */
export interface ToMeMethod {
  method: 'tome';
  /** Tokens removed at this point, at most half the unprotected tokens. */
  r: number;
}

/** EViT: keeps the `K` most attended tokens and fuses the rest into one extra token. */
export interface EvitMethod {
  method: 'evit';
  /** As JMP's `keep`. */
  keep: number;
}

export type ReductionMethod = JmpMethod | ToMeMethod | EvitMethod;

/** What the model gives the reduction, measured in the same block. */
export interface ReductionSignals {
  /** `[B, N]` importance (see `importanceFromAttention` / `importanceFromRows`); JMP and EViT. */
  importance?: Float32Array;
  /** `[B, N, D]` similarity metric, usually head-mean keys; JMP (metric `'keys'`) and ToMe. */
  metric?: Tensor;
}

/** Per-sample outcome of one reduction. */
export type Decision = 'merge' | 'prune' | 'mixed' | 'fuse' | 'none';

export interface ReductionStats {
  method: ReductionMethod['method'];
  strategy?: Strategy;
  tokensIn: number;
  tokensOut: number;
  /** Per sample: what it did with the tokens it removed. */
  decisions: Decision[];
  /** Per sample σ_b, the mean best similarity of its non-critical tokens (JMP; NaN where undefined). */
  sigma: number[];
  /** Per sample: tokens merged into a kept token (or fused, for EViT). */
  merged: number[];
  /** Per sample: tokens dropped. */
  pruned: number[];
  /** Multiply-accumulates spent on similarities by this reduction (the whole batch). */
  overheadMacs: number;
}

export interface ReductionResult {
  /** The new state; the input state is left untouched. */
  state: TokenState;
  stats: ReductionStats;
}

/** A method in the registry (methods/registry.ts): what `reduceTokens`, the schedules and the budget planner need of it. */
export interface CoreMethod<M extends ReductionMethod = ReductionMethod> {
  /** What a schedule gives this method per block: a keep rate (`'keep'`) or tokens removed (`'r'`). */
  amount: 'keep' | 'r';
  /** Validates the method's fields against the state and signals, then reduces. */
  reduce(state: TokenState, dims: [number, number, number], signals: ReductionSignals, method: M): ReductionResult;
  /**
   * Tokens after a reduction of `amount` at `block` from `n` tokens (`P` protected); throws a
   * `JmpArgumentError` naming `schedule.<amount> (block b)` where that amount cannot run.
   */
  tokensAfter(amount: number, n: number, P: number, block: number, options: { select?: JmpSelect }): number;
}
