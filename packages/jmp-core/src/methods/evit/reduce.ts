import type { ReductionResult } from '../types.js';
import type { TokenState } from '../../state.js';
import { Merger, SourceUpdater, emptyStats, finish, selectCritical } from '../shared.js';

/** EViT: the K most attended tokens stay, the rest fuse into one extra token Σ a_j x_j. */
export function reduceEvit(state: TokenState, [B, N, C]: [number, number, number], importance: Float32Array, K: number): ReductionResult {
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
