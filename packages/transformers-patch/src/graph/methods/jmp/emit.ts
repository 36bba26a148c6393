import type { JmpMatch, JmpSelect, Strategy } from '@jmpjs/core';
import { DataType } from '../../../onnx/proto.js';
import type { JmpMetric } from '../../../option-values.js';
import type { GraphOps } from '../../ops.js';
import type { ReductionInput, ReductionOutput } from '../types.js';

export interface JmpGraphStep {
  keep: number;
  strategy: Strategy;
  /** Required by the adaptive strategies. */
  tau: number | undefined;
  select: JmpSelect;
  /** Select 'redundancy': ToMe's split (`'bipartite'`) or nearest neighbours over all tokens (`'nearest'`). */
  match: JmpMatch;
  /**
   * What the similarities are of: the keys, averaged over heads (`'keys-per-head'`) or head-mean
   * (`'keys'`), or the token states at the reduction point (`'hidden'`).
   */
  metric: JmpMetric;
}

/**
 * JMP: the critical set (the K most attended tokens, or — select 'redundancy' — all but the M
 * tokens of set A whose best B match is most similar, or with match 'nearest' all but the M
 * unclaimed tokens whose nearest neighbour is most similar), each non-critical token's match among the
 * critical ones, and merging or pruning per sample (σ ≥ τ) or per token (m_j ≥ τ).
 */
export function emitJmp(g: GraphOps, x: ReductionInput, step: JmpGraphStep): ReductionOutput {
  const {
    b,
    op,
    f,
    cast,
    unsqueeze,
    reduce,
    criticalCountOf,
    criticalByAttention,
    bipartite,
    nearest,
    bestAmong,
    bestMatch,
    unitRows,
    topKMask,
    rankIn,
    merge,
    destinations,
  } = g;
  const { strategy } = step;
  let rows: string | undefined;
  const unit = () => (rows ??= unitRows(x, step.metric));
  let K: string;
  let mask: string; // 1 = critical
  let best: string | undefined; // each token's best similarity to the critical set (non-critical tokens)
  let pi: string | undefined; // and that match
  if (step.select === 'redundancy') {
    K = criticalCountOf(x.M0, step.keep);
    const leaveCount = op('Sub', [x.M0, K]);
    // TopK needs k ≥ 1: with nothing to remove, k = 1 and the mask is zeroed
    const some = cast(op('Greater', [leaveCount, b.int64([0])]), DataType.FLOAT);
    const leaving = (score: string) => op('Mul', [topKMask(score, g.atLeastOne(leaveCount)), some]);
    if (step.match === 'nearest') {
      // the unclaimed tokens with the most similar neighbour leave, each into its most similar staying token
      const near = nearest(unit());
      mask = op('Sub', [f(1), leaving(near.key)]);
      [best, pi] = bestAmong(near.sim, mask);
    } else {
      const bi = bipartite(unit(), x.shapeX);
      mask = op('Sub', [f(1), leaving(bi.scoreA)]);
      [best, pi] = [bi.best, bi.match];
    }
  } else {
    const c = criticalByAttention(x.block, x.M0, step.keep);
    [K, mask] = [c.K, c.mask];
    if (strategy !== 'prune') [best, pi] = bestMatch(unit(), mask);
  }
  const nc = op('Sub', [f(1), mask]);
  const rank = rankIn(mask);
  let tgt = op('Mul', [mask, rank]);
  let w: string | undefined; // which non-critical tokens merge (none when undefined)
  let sigma: string | undefined;
  if (best && pi) {
    tgt = op('Add', [tgt, op('Mul', [nc, g.atMatch(rank, pi)])]);
    const Mf = op('Max', [reduce('ReduceSum', nc, [1], 0), f(1)]);
    sigma = op('Div', [reduce('ReduceSum', op('Mul', [best, nc]), [1], 0), Mf]); // [B]
    const atLeastTau = (v: string) => g.geq(v, f(step.tau!));
    if (strategy === 'merge') w = nc;
    else if (strategy === 'adaptive') w = op('Mul', [nc, unsqueeze(atLeastTau(sigma), [1])]);
    else if (strategy === 'adaptive-token') w = op('Mul', [nc, atLeastTau(best)]);
  }
  const [reduced, S] = merge(x.Xp, tgt, op('Mul', [w ? op('Add', [mask, w]) : mask, x.sp]), K);
  const none = () => op('Mul', [nc, f(0)]);
  return {
    reduced,
    S,
    dest: () => destinations(tgt, mask, w ?? none()),
    // pruned tokens come back as their match; prune-only with select 'attention' has none yet: find it
    restore: () => (pi ? tgt : op('Add', [op('Mul', [mask, rank]), op('Mul', [nc, g.atMatch(rank, bestMatch(unit(), mask)[1])])])),
    stats: {
      sigma: sigma ?? op('Mul', [reduce('ReduceSum', nc, [1], 0), f(Number.NaN)]), // NaN [B] when undefined
      merged: w ? reduce('ReduceSum', w, [1], 0) : reduce('ReduceSum', none(), [1], 0),
    },
  };
}
