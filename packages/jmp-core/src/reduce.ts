import { JmpArgumentError } from './errors.js';
import { checkTokenState, type TokenState } from './state.js';
import { reduceEvit } from './methods/evit.js';
import { reduceJmp } from './methods/jmp.js';
import { reduceTome } from './methods/tome.js';
import { bipartiteSplit } from './methods/shared.js';
import { checkFinite, checkTensor, type Tensor } from './tensor.js';

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

/**
 * One token reduction (JMP, ToMe or EViT) on a batch of token states.
 *
 * Protected tokens pass through bit-identical; the others keep their spatial order. Every sample
 * ends with the same token count, so the batch stays rectangular:
 * `P + K` (JMP), `P + K + 1` (EViT, `K < N − P`), `N − r` (ToMe).
 */
export function reduceTokens(state: TokenState, signals: ReductionSignals, method: ReductionMethod): ReductionResult {
  const [B, N, C] = checkTokenState(state);
  const P = state.protectedTokens;
  if (!method || typeof method !== 'object') {
    throw new JmpArgumentError({ argument: 'method', expected: "an object with method 'jmp', 'tome' or 'evit'", found: method });
  }
  if (!signals || typeof signals !== 'object') {
    throw new JmpArgumentError({ argument: 'signals', expected: 'an object { importance?, metric? }', found: signals });
  }
  switch (method.method) {
    case 'jmp': {
      const keep = checkKeep('method.keep', method.keep);
      const strategy = method.strategy ?? 'adaptive';
      if (!STRATEGIES.includes(strategy)) {
        throw new JmpArgumentError({ argument: 'method.strategy', expected: `one of ${STRATEGIES.join(', ')}`, found: strategy });
      }
      const needsTau = strategy === 'adaptive' || strategy === 'adaptive-token';
      if (needsTau && (typeof method.tau !== 'number' || Number.isNaN(method.tau))) {
        throw new JmpArgumentError({
          argument: 'method.tau',
          expected: `a number (the similarity threshold of strategy '${strategy}')`,
          found: method.tau,
          hint: 'τ is per model: calibrate it on held-out images, never on test data.',
        });
      }
      const metricKind = method.metric ?? 'keys';
      if (metricKind !== 'keys' && metricKind !== 'hidden') {
        throw new JmpArgumentError({ argument: 'method.metric', expected: "'keys' or 'hidden'", found: metricKind });
      }
      const select = method.select ?? 'attention';
      if (!JMP_SELECTS.includes(select)) {
        throw new JmpArgumentError({ argument: 'method.select', expected: `one of ${JMP_SELECTS.join(', ')}`, found: select });
      }
      const match = method.match ?? 'bipartite';
      if (!JMP_MATCHES.includes(match)) {
        throw new JmpArgumentError({ argument: 'method.match', expected: `one of ${JMP_MATCHES.join(', ')}`, found: match });
      }
      if (match !== 'bipartite' && select !== 'redundancy') {
        throw new JmpArgumentError({ argument: 'method.match', expected: "'bipartite' unless select is 'redundancy'", found: match });
      }
      const K = criticalCount(keep, N, P);
      if (select === 'redundancy') checkRedundancyKeep('method.keep', keep, N, P, K);
      const importanceWeight = method.importanceWeight ?? 0;
      const sizeWeight = method.sizeWeight ?? 0;
      for (const [name, v] of [
        ['importanceWeight', importanceWeight],
        ['sizeWeight', sizeWeight],
      ] as const) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
          throw new JmpArgumentError({ argument: `method.${name}`, expected: 'a finite number ≥ 0', found: v });
        if (v > 0 && select !== 'redundancy') throw new JmpArgumentError({ argument: `method.${name}`, expected: "0 unless select is 'redundancy'", found: v });
        if (v > 0 && match !== 'bipartite') throw new JmpArgumentError({ argument: `method.${name}`, expected: "0 unless match is 'bipartite'", found: v });
      }
      const importance = select === 'attention' || importanceWeight > 0 ? checkImportance(signals.importance, B, N) : undefined;
      const needsMetric = N - P - K > 0 && (strategy !== 'prune' || select === 'redundancy');
      const metric = needsMetric ? (metricKind === 'hidden' ? { data: state.tokens, dims: state.dims } : checkMetric(signals.metric, B, N)) : undefined;
      return reduceJmp(state, [B, N, C], { importance, metric, K, strategy, tau: needsTau ? method.tau! : 0, select, match, importanceWeight, sizeWeight });
    }
    case 'evit': {
      const keep = checkKeep('method.keep', method.keep);
      const importance = checkImportance(signals.importance, B, N);
      return reduceEvit(state, [B, N, C], importance, criticalCount(keep, N, P));
    }
    case 'tome': {
      const max = Math.floor((N - P) / 2);
      if (!Number.isInteger(method.r) || method.r < 0 || method.r > max) {
        throw new JmpArgumentError({
          argument: 'method.r',
          expected: `an integer in [0, ${max}] (at most half of the ${N - P} unprotected tokens)`,
          found: method.r,
          hint: 'Lower r or reduce at fewer blocks.',
        });
      }
      const metric = method.r > 0 ? checkMetric(signals.metric, B, N) : undefined;
      return reduceTome(state, [B, N, C], metric, method.r);
    }
    default:
      throw new JmpArgumentError({
        argument: 'method.method',
        expected: "'jmp', 'tome' or 'evit'",
        found: (method as { method: unknown }).method,
      });
  }
}

/** `K = ceil(keep · (N − P))`, the number of critical tokens. */
export function criticalCount(keep: number, tokens: number, protectedTokens: number): number {
  // Guard against keep·M landing a hair above an integer through float rounding (0.7·196 = 137.2 is fine,
  // but e.g. 0.5·(N−P) must not become one more than half).
  return Math.min(tokens - protectedTokens, Math.ceil(keep * (tokens - protectedTokens) - 1e-9));
}

/** With select 'redundancy', at most the tokens of ToMe's set A can leave: `N − P − K ≤ |A|`. */
export function checkRedundancyKeep(argument: string, keep: number, N: number, P: number, K: number): void {
  const { nA } = bipartiteSplit(N, P);
  if (N - P - K > nA) {
    throw new JmpArgumentError({
      argument,
      expected: `a keep rate that removes at most ${nA} of the ${N - P} unprotected tokens (ToMe's set A) with select 'redundancy'`,
      found: keep,
      hint: "Reduce at more blocks with a higher keep rate, or use select: 'attention'.",
    });
  }
}

export function checkKeep(argument: string, keep: unknown): number {
  if (typeof keep !== 'number' || !(keep > 0 && keep <= 1)) {
    throw new JmpArgumentError({ argument, expected: 'a keep rate in (0, 1]', found: keep });
  }
  return keep;
}

function checkImportance(importance: Float32Array | undefined, B: number, N: number): Float32Array {
  if (importance === undefined) {
    throw new JmpArgumentError({
      argument: 'signals.importance',
      expected: 'a Float32Array [B, N] of token importances',
      found: importance,
      hint: 'Compute it with importanceFromAttention or importanceFromRows.',
    });
  }
  checkTensor('signals.importance', { data: importance, dims: [B, N] }, ['B', 'N']);
  checkFinite('signals.importance', importance);
  return importance;
}

function checkMetric(metric: Tensor | undefined, B: number, N: number): Tensor {
  if (metric === undefined) {
    throw new JmpArgumentError({
      argument: 'signals.metric',
      expected: 'a tensor [B, N, D] (head-mean keys)',
      found: metric,
      hint: "Compute it with headMeanKeys / headMeanKeysPacked, or use metric: 'hidden'.",
    });
  }
  checkTensor('signals.metric', metric, ['B', 'N', 'D'], [B, N]);
  checkFinite('signals.metric', metric.data);
  return metric;
}
