import { JmpArgumentError } from './errors.js';
import { normalizeRows } from './metric.js';
import { checkTokenState, type SourceMap, type TokenState } from './state.js';
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
}

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
      const importance = checkImportance(signals.importance, B, N);
      const K = criticalCount(keep, N, P);
      const needsMetric = strategy !== 'prune' && N - P - K > 0;
      const metric = needsMetric
        ? metricKind === 'hidden'
          ? { data: state.tokens, dims: state.dims }
          : checkMetric(signals.metric, B, N)
        : undefined;
      return reduceJmp(state, [B, N, C], importance, metric, K, strategy, needsTau ? method.tau! : 0);
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

/**
 * Fills `order` with the unprotected token indices sorted by importance (descending, ties: lower
 * index first) and marks the first `K` in `critical`.
 */
function selectCritical(
  importance: Float32Array,
  offset: number,
  N: number,
  P: number,
  K: number,
  order: Int32Array,
  critical: Uint8Array,
): void {
  for (let j = P; j < N; j++) order[j - P] = j;
  order.sort((a, b) => {
    const d = importance[offset + b]! - importance[offset + a]!;
    return d !== 0 ? d : a - b;
  });
  critical.fill(0);
  for (let i = 0; i < P; i++) critical[i] = 1;
  for (let i = 0; i < K; i++) critical[order[i]!] = 1;
}

/**
 * Writes sample `b`'s output: token `j` goes to output position `target[j]` (−1: dropped); tokens
 * sharing a position are averaged weighted by size, sizes add up. A position filled by one token
 * copies it bit for bit.
 */
class Merger {
  readonly outTokens: Float32Array;
  readonly outSizes: Float32Array;
  private readonly acc: Float64Array;
  private readonly accSize: Float64Array;
  private readonly count: Int32Array;
  private readonly owner: Int32Array;

  constructor(
    readonly B: number,
    readonly N: number,
    readonly C: number,
    readonly Nout: number,
  ) {
    this.outTokens = new Float32Array(B * Nout * C);
    this.outSizes = new Float32Array(B * Nout);
    this.acc = new Float64Array(Nout * C);
    this.accSize = new Float64Array(Nout);
    this.count = new Int32Array(Nout);
    this.owner = new Int32Array(Nout);
  }

  write(b: number, tokens: Float32Array, sizes: Float32Array, target: Int32Array, positions: number): void {
    const { N, C, Nout, acc, accSize, count, owner } = this;
    count.fill(0, 0, positions);
    accSize.fill(0, 0, positions);
    for (let j = 0; j < N; j++) {
      const t = target[j]!;
      if (t < 0) continue;
      count[t]!++;
      owner[t] = j;
      accSize[t]! += sizes[b * N + j]!;
    }
    const xb = b * N * C;
    const ob = b * Nout * C;
    // Positions with one token copy it; the others accumulate size-weighted sums in float64.
    for (let t = 0; t < positions; t++) {
      if (count[t] === 1) {
        const j = owner[t]!;
        this.outTokens.set(tokens.subarray(xb + j * C, xb + j * C + C), ob + t * C);
        this.outSizes[b * Nout + t] = sizes[b * N + j]!;
      } else if (count[t]! > 1) acc.fill(0, t * C, t * C + C);
    }
    for (let j = 0; j < N; j++) {
      const t = target[j]!;
      if (t < 0 || count[t] === 1) continue;
      const s = sizes[b * N + j]!;
      const src = xb + j * C;
      const dst = t * C;
      for (let c = 0; c < C; c++) acc[dst + c]! += s * tokens[src + c]!;
    }
    for (let t = 0; t < positions; t++) {
      if (count[t]! <= 1) continue;
      const inv = 1 / accSize[t]!;
      const dst = ob + t * C;
      for (let c = 0; c < C; c++) this.outTokens[dst + c] = acc[t * C + c]! * inv;
      this.outSizes[b * Nout + t] = accSize[t]!;
    }
  }
}

/** Updates source tracking: original tokens follow their token to `target` (−1 drops them). */
class SourceUpdater {
  readonly assignment: Int32Array;
  readonly anchors: Int32Array;

  constructor(
    private readonly sources: SourceMap,
    private readonly N: number,
    private readonly Nout: number,
    B: number,
  ) {
    this.assignment = sources.assignment.slice();
    this.anchors = new Int32Array(B * Nout).fill(-1);
  }

  /** `keptAt[t]` = input token that survives as output `t` (−1 for fused tokens). */
  update(b: number, target: Int32Array, keptAt: Int32Array, positions: number): void {
    const N0 = this.sources.originalTokens;
    for (let o = 0; o < N0; o++) {
      const t = this.assignment[b * N0 + o]!;
      if (t >= 0) this.assignment[b * N0 + o] = target[t]!;
    }
    for (let t = 0; t < positions; t++) {
      const j = keptAt[t]!;
      this.anchors[b * this.Nout + t] = j >= 0 ? this.sources.anchors[b * this.N + j]! : -1;
    }
  }

  result(): SourceMap {
    return { originalTokens: this.sources.originalTokens, assignment: this.assignment, anchors: this.anchors };
  }
}

function emptyStats(method: ReductionMethod['method'], tokensIn: number, tokensOut: number, overheadMacs: number, strategy?: Strategy): ReductionStats {
  return { method, ...(strategy ? { strategy } : {}), tokensIn, tokensOut, decisions: [], sigma: [], merged: [], pruned: [], overheadMacs };
}

function finish(
  state: TokenState,
  dims: [number, number, number],
  merger: Merger,
  sources: SourceUpdater | undefined,
  stats: ReductionStats,
): ReductionResult {
  const next: TokenState = {
    tokens: merger.outTokens,
    dims,
    sizes: merger.outSizes,
    protectedTokens: state.protectedTokens,
    ...(sources ? { sources: sources.result() } : {}),
  };
  return { state: next, stats };
}

function reduceJmp(
  state: TokenState,
  [B, N, C]: [number, number, number],
  importance: Float32Array,
  metric: Tensor | undefined,
  K: number,
  strategy: Strategy,
  tau: number,
): ReductionResult {
  const P = state.protectedTokens;
  const M = N - P - K;
  const Nout = P + K;
  const D = metric ? metric.dims[2]! : 0;
  const unit = metric ? normalizeRows(metric.data, B * N, D) : undefined;
  const order = new Int32Array(N - P);
  const critical = new Uint8Array(N);
  const target = new Int32Array(N);
  const keptAt = new Int32Array(Nout);
  const criticalList = new Int32Array(K);
  const best = new Float64Array(N);
  const match = new Int32Array(N);
  const criticalUnit = new Float32Array(K * D);
  const merger = new Merger(B, N, C, Nout);
  const sources = state.sources ? new SourceUpdater(state.sources, N, Nout, B) : undefined;
  const stats = emptyStats('jmp', N, Nout, unit ? B * M * K * D : 0, strategy);

  for (let b = 0; b < B; b++) {
    selectCritical(importance, b * N, N, P, K, order, critical);
    let pos = 0;
    for (let j = 0; j < N; j++) {
      if (critical[j]) {
        target[j] = pos;
        keptAt[pos] = j;
        if (j >= P) criticalList[pos - P] = j;
        pos++;
      }
    }
    // Similarity of each non-critical token to its best critical match (ties: lower index).
    let sigma = Number.NaN;
    if (unit && M > 0) {
      for (let i = 0; i < K; i++) {
        const src = (b * N + criticalList[i]!) * D;
        criticalUnit.set(unit.subarray(src, src + D), i * D);
      }
      let sum = 0;
      for (let j = P; j < N; j++) {
        if (critical[j]) continue;
        const found = bestMatch(unit, (b * N + j) * D, criticalUnit, K, D);
        best[j] = found.score;
        match[j] = criticalList[found.index]!;
        sum += found.score;
      }
      sigma = sum / M;
    }
    let merged = 0;
    const sampleMerges = strategy === 'merge' || (strategy === 'adaptive' && sigma >= tau);
    for (let j = P; j < N; j++) {
      if (critical[j]) continue;
      const w = strategy === 'adaptive-token' ? best[j]! >= tau : sampleMerges;
      if (w) {
        target[j] = target[match[j]!]!;
        merged++;
      } else target[j] = -1;
    }
    merger.write(b, state.tokens, state.sizes, target, Nout);
    sources?.update(b, target, keptAt, Nout);
    stats.sigma.push(sigma);
    stats.merged.push(merged);
    stats.pruned.push(M - merged);
    stats.decisions.push(M === 0 ? 'none' : merged === M ? 'merge' : merged === 0 ? 'prune' : 'mixed');
  }
  return finish(state, [B, Nout, C], merger, sources, stats);
}

const found = { score: 0, index: 0 };

/**
 * Best row of `rows` `[R, D]` for the vector at `unit[offset…]` by dot product; ties go to the
 * lower row. Returns a shared object (no allocation per token).
 */
function bestMatch(unit: Float32Array, offset: number, rows: Float32Array, R: number, D: number): { score: number; index: number } {
  let m = -Infinity;
  let arg = -1;
  const D4 = D - (D % 4);
  for (let i = 0; i < R; i++) {
    const o = i * D;
    let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    let d = 0;
    for (; d < D4; d += 4) {
      d0 += unit[offset + d]! * rows[o + d]!;
      d1 += unit[offset + d + 1]! * rows[o + d + 1]!;
      d2 += unit[offset + d + 2]! * rows[o + d + 2]!;
      d3 += unit[offset + d + 3]! * rows[o + d + 3]!;
    }
    for (; d < D; d++) d0 += unit[offset + d]! * rows[o + d]!;
    const dot = d0 + d1 + d2 + d3;
    if (dot > m) {
      m = dot;
      arg = i;
    }
  }
  found.score = m;
  found.index = arg;
  return found;
}

function reduceEvit(
  state: TokenState,
  [B, N, C]: [number, number, number],
  importance: Float32Array,
  K: number,
): ReductionResult {
  const P = state.protectedTokens;
  const M = N - P - K;
  const fused = M > 0 ? 1 : 0;
  const Nout = P + K + fused;
  const order = new Int32Array(N - P);
  const critical = new Uint8Array(N);
  const target = new Int32Array(N);
  const keptAt = new Int32Array(Nout);
  const merger = new Merger(B, N, C, Nout);
  const sources = state.sources ? new SourceUpdater(state.sources, N, Nout, B) : undefined;
  const stats = emptyStats('evit', N, Nout, 0);
  const fusedRow = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    selectCritical(importance, b * N, N, P, K, order, critical);
    let pos = 0;
    for (let j = 0; j < N; j++) {
      if (critical[j]) {
        target[j] = pos;
        keptAt[pos++] = j;
      } else target[j] = -1;
    }
    merger.write(b, state.tokens, state.sizes, target, P + K);
    if (fused) {
      // EViT's rule: the extra token is Σ a_j x_j over the non-critical tokens; its size is Σ s_j.
      fusedRow.fill(0);
      let size = 0;
      for (let j = P; j < N; j++) {
        if (critical[j]) continue;
        const a = importance[b * N + j]!;
        const src = (b * N + j) * C;
        for (let c = 0; c < C; c++) fusedRow[c]! += a * state.tokens[src + c]!;
        size += state.sizes[b * N + j]!;
        target[j] = P + K;
      }
      const dst = (b * Nout + P + K) * C;
      for (let c = 0; c < C; c++) merger.outTokens[dst + c] = fusedRow[c]!;
      merger.outSizes[b * Nout + P + K] = size;
      keptAt[P + K] = -1;
    }
    sources?.update(b, target, keptAt, Nout);
    stats.sigma.push(Number.NaN);
    stats.merged.push(M);
    stats.pruned.push(0);
    stats.decisions.push(M === 0 ? 'none' : 'fuse');
  }
  return finish(state, [B, Nout, C], merger, sources, stats);
}

function reduceTome(
  state: TokenState,
  [B, N, C]: [number, number, number],
  metric: Tensor | undefined,
  r: number,
): ReductionResult {
  const P = state.protectedTokens;
  const Nout = N - r;
  // ToMe's split, by absolute position as in its bipartite_soft_matching: set A = even positions, set
  // B = odd ones. Protected tokens take part in neither: the class token (position 0, in A) is never
  // merged, and nothing merges into a distillation token (position 1, in B).
  const firstA = P + (P % 2); // first even position ≥ P
  const firstB = P + 1 - (P % 2); // first odd position ≥ P
  const nA = Math.max(0, Math.ceil((N - firstA) / 2));
  const nB = Math.max(0, Math.ceil((N - firstB) / 2));
  const D = metric ? metric.dims[2]! : 0;
  const unit = metric ? normalizeRows(metric.data, B * N, D) : undefined;
  const score = new Float64Array(nA);
  const match = new Int32Array(nA);
  const order = new Int32Array(nA);
  const target = new Int32Array(N);
  const keptAt = new Int32Array(Nout);
  const merger = new Merger(B, N, C, Nout);
  const sources = state.sources ? new SourceUpdater(state.sources, N, Nout, B) : undefined;
  const stats = emptyStats('tome', N, Nout, r > 0 ? B * nA * nB * D : 0);
  const into = new Int32Array(N);
  const setB = new Float32Array(nB * D);
  for (let b = 0; b < B; b++) {
    into.fill(-1);
    if (unit && r > 0) {
      for (let k = 0; k < nB; k++) {
        const src = (b * N + firstB + 2 * k) * D;
        setB.set(unit.subarray(src, src + D), k * D);
      }
      for (let a = 0; a < nA; a++) {
        const { score: m, index } = bestMatch(unit, (b * N + firstA + 2 * a) * D, setB, nB, D);
        score[a] = m;
        match[a] = firstB + 2 * index;
        order[a] = a;
      }
      order.sort((x, y) => {
        const d = score[y]! - score[x]!;
        return d !== 0 ? d : x - y;
      });
      for (let i = 0; i < r; i++) {
        const a = order[i]!;
        into[firstA + 2 * a] = match[a]!;
      }
    }
    let pos = 0;
    for (let j = 0; j < N; j++) {
      if (into[j]! < 0) {
        target[j] = pos;
        keptAt[pos++] = j;
      }
    }
    for (let j = P; j < N; j++) if (into[j]! >= 0) target[j] = target[into[j]!]!;
    merger.write(b, state.tokens, state.sizes, target, Nout);
    sources?.update(b, target, keptAt, Nout);
    stats.sigma.push(Number.NaN);
    stats.merged.push(r);
    stats.pruned.push(0);
    stats.decisions.push(r === 0 ? 'none' : 'merge');
  }
  return finish(state, [B, Nout, C], merger, sources, stats);
}
