import type { GraphOps } from '../../ops.js';
import type { ReductionInput, ReductionOutput } from '../types.js';

/** ToMe's bipartite soft matching (split by absolute position): the `r` best A→B pairs merge. */
export function emitTome(g: GraphOps, x: ReductionInput, r: number): ReductionOutput {
  const { b, op, f, bipartite, topKMask, rankIn, merge, destinations } = g;
  const rr = b.int64([r]);
  const { match, scoreA } = bipartite(g.unitKeys(x.block), x.shapeX);
  const mergedMask = topKMask(scoreA, rr);
  const keepMask = op('Sub', [f(1), mergedMask]);
  const rank = rankIn(keepMask);
  const tgt = op('Add', [op('Mul', [keepMask, rank]), op('Mul', [mergedMask, g.atMatch(rank, match)])]);
  const [reduced, S] = merge(x.Xp, tgt, x.sp, op('Sub', [x.M0, rr]));
  return { reduced, S, dest: () => destinations(tgt, keepMask, mergedMask), restore: () => tgt };
}
