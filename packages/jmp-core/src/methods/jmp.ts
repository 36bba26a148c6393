import { normalizeRows } from '../metric.js';
import type { ReductionResult, Strategy } from '../reduce.js';
import type { TokenState } from '../state.js';
import type { Tensor } from '../tensor.js';
import { Merger, SourceUpdater, bestMatch, emptyStats, finish, selectCritical } from './shared.js';

/** JMP (spec steps 2–5): critical set by importance, best critical match, merge or prune per sample or token. */
export function reduceJmp(
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

