import { normalizeRows } from '../../metric.js';
import type { ReductionResult } from '../types.js';
import type { TokenState } from '../../state.js';
import type { Tensor } from '../../tensor.js';
import { Merger, SourceUpdater, bipartiteSplit, emptyStats, finish, matchAtoB, rankDescending } from '../shared.js';

/** ToMe's bipartite soft matching: the `r` best A→B pairs merge. */
export function reduceTome(state: TokenState, [B, N, C]: [number, number, number], metric: Tensor | undefined, r: number): ReductionResult {
  const P = state.protectedTokens;
  const Nout = N - r;
  const split = bipartiteSplit(N, P);
  const { firstA, nA, nB } = split;
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
      matchAtoB(unit, b, N, D, split, setB, score, match);
      rankDescending(score, order);
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
