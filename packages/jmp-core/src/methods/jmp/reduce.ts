import { normalizeRows } from '../../metric.js';
import type { JmpMatch, JmpSelect, ReductionResult, Strategy } from '../types.js';
import type { TokenState } from '../../state.js';
import type { Tensor } from '../../tensor.js';
import { Merger, SourceUpdater, bestMatch, bipartiteSplit, emptyStats, finish, matchAtoB, rankDescending, selectCritical } from '../shared.js';

export interface JmpStep {
  /** `[B, N]`; needed by select 'attention'. */
  importance: Float32Array | undefined;
  /** `[B, N, D]`; needed when tokens merge, and by select 'redundancy'. */
  metric: Tensor | undefined;
  K: number;
  strategy: Strategy;
  tau: number;
  select: JmpSelect;
  /** Select 'redundancy': ToMe's split, or each token's nearest neighbour over all tokens. */
  match: JmpMatch;
  importanceWeight: number;
  sizeWeight: number;
}

/**
 * JMP (spec steps 2–5): the critical set (by importance, or by redundancy with ToMe's split), each
 * non-critical token's best critical match, and the choice between merging and pruning, per sample
 * (`adaptive`, by σ) or per token (`adaptive-token`, by m_j).
 */
export function reduceJmp(state: TokenState, [B, N, C]: [number, number, number], step: JmpStep): ReductionResult {
  const { importance, metric, K, strategy, tau, select, match: pairing, importanceWeight, sizeWeight } = step;
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
  const byRedundancy = select === 'redundancy';
  const nearest = byRedundancy && pairing === 'nearest';
  const near = nearest && unit ? new NearestScratch(N - P) : undefined;
  const criticalUnit = new Float32Array(byRedundancy ? 0 : K * D);
  const split = bipartiteSplit(N, P);
  const scoreA = new Float64Array(byRedundancy ? split.nA : 0);
  const matchA = new Int32Array(scoreA.length);
  const orderA = new Int32Array(scoreA.length);
  const leave = new Float64Array(scoreA.length);
  const setB = new Float32Array(byRedundancy ? split.nB * D : 0);
  const merger = new Merger(B, N, C, Nout);
  const sources = state.sources ? new SourceUpdater(state.sources, N, Nout, B) : undefined;
  const overhead = !unit ? 0 : nearest ? B * (N - P) * (N - P) * D : byRedundancy ? B * split.nA * split.nB * D : B * M * K * D;
  const stats = emptyStats('jmp', N, Nout, overhead, strategy);

  for (let b = 0; b < B; b++) {
    if (byRedundancy) {
      // The M tokens of set A with the most similar best match in set B leave; that match (a B
      // token, always critical) is the token they merge into.
      critical.fill(1);
      if (near && unit && M > 0) leaveByNearest(unit, b, N, D, P, M, near, critical, best, match);
      else if (unit && M > 0) {
        matchAtoB(unit, b, N, D, split, setB, scoreA, matchA);
        // what decides who leaves: the similarity, less the importance and size terms
        if (importanceWeight > 0 || sizeWeight > 0) {
          let mean = 0;
          if (importanceWeight > 0) {
            for (let j = P; j < N; j++) mean += importance![b * N + j]!;
            mean /= N - P;
          }
          for (let a = 0; a < split.nA; a++) {
            const j = split.firstA + 2 * a;
            leave[a] = scoreA[a]!;
            if (importanceWeight > 0 && mean > 0) leave[a]! -= (importanceWeight * importance![b * N + j]!) / mean;
            if (sizeWeight > 0) leave[a]! -= sizeWeight * Math.log((state.sizes[b * N + j]! + state.sizes[b * N + matchA[a]!]!) / 2);
          }
          rankDescending(leave, orderA);
        } else rankDescending(scoreA, orderA);
        for (let i = 0; i < M; i++) {
          const a = orderA[i]!;
          const j = split.firstA + 2 * a;
          critical[j] = 0;
          best[j] = scoreA[a]!;
          match[j] = matchA[a]!;
        }
      }
    } else selectCritical(importance!, b * N, N, P, K, order, critical);
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
    if (byRedundancy && unit && M > 0) {
      let sum = 0;
      for (let j = P; j < N; j++) if (!critical[j]) sum += best[j]!;
      sigma = sum / M;
    } else if (unit && M > 0) {
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

/** Work arrays of {@link leaveByNearest}, for `n` unprotected tokens. */
class NearestScratch {
  readonly sim: Float64Array;
  readonly score: Float64Array;
  readonly nearest: Int32Array;
  readonly order: Int32Array;
  readonly rank: Int32Array;
  readonly claimedBy: Int32Array;
  readonly key: Float64Array;
  constructor(readonly n: number) {
    this.sim = new Float64Array(n * n);
    this.score = new Float64Array(n);
    this.nearest = new Int32Array(n);
    this.order = new Int32Array(n);
    this.rank = new Int32Array(n);
    this.claimedBy = new Int32Array(n);
    this.key = new Float64Array(n);
  }
}

/**
 * Match 'nearest' (see `JmpMethod.match`): marks the `M` leaving tokens of sample `b` in `critical`
 * (0) and gives each its best similarity to a token that stays (`best`) and that token (`match`).
 */
function leaveByNearest(
  unit: Float32Array,
  b: number,
  N: number,
  D: number,
  P: number,
  M: number,
  w: NearestScratch,
  critical: Uint8Array,
  best: Float64Array,
  match: Int32Array,
): void {
  const { n, sim, score, nearest, order, rank, claimedBy, key } = w;
  for (let i = 0; i < n; i++) {
    const oi = (b * N + P + i) * D;
    for (let t = i; t < n; t++) {
      const ot = (b * N + P + t) * D;
      let x = 0;
      for (let d = 0; d < D; d++) x += unit[oi + d]! * unit[ot + d]!;
      sim[i * n + t] = x;
      sim[t * n + i] = x;
    }
  }
  // each token's most similar other token (ties: the lower index)
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    let at = -1;
    for (let t = 0; t < n; t++) {
      if (t !== i && sim[i * n + t]! > m) {
        m = sim[i * n + t]!;
        at = t;
      }
    }
    score[i] = m;
    nearest[i] = at;
  }
  rankDescending(score, order);
  for (let r = 0; r < n; r++) rank[order[r]!] = r;
  // claimed: a token ranked above has it as its nearest
  claimedBy.fill(n);
  for (let i = 0; i < n; i++) if (rank[i]! < claimedBy[nearest[i]!]!) claimedBy[nearest[i]!] = rank[i]!;
  // unclaimed tokens first (scores are cosines in [−1, 1]), each group by its score
  for (let i = 0; i < n; i++) key[i] = rank[i]! < claimedBy[i]! ? score[i]! : score[i]! - 4;
  rankDescending(key, order);
  for (let r = 0; r < M; r++) critical[P + order[r]!] = 0;
  // each leaving token's most similar token among those that stay (ties: the lower index)
  for (let i = 0; i < n; i++) {
    if (critical[P + i]) continue;
    let m = -Infinity;
    let at = -1;
    for (let t = 0; t < n; t++) {
      if (critical[P + t] && sim[i * n + t]! > m) {
        m = sim[i * n + t]!;
        at = t;
      }
    }
    best[P + i] = m;
    match[P + i] = P + at;
  }
}
