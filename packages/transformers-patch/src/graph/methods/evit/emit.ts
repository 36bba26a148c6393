import { DataType } from '../../../onnx/proto.js';
import type { GraphOps } from '../../ops.js';
import type { ReductionInput, ReductionOutput } from '../types.js';

/** EViT: the K most attended tokens stay; the others fuse into one extra token Σ a_j x_j. */
export function emitEvit(g: GraphOps, x: ReductionInput, keep: number): ReductionOutput {
  const { op, f, cast, unsqueeze, reduce, slice2, toT, criticalByAttention, rankIn, merge, destinations } = g;
  const { K, a, mask } = criticalByAttention(x.block, x.M0, keep);
  const nc = op('Sub', [f(1), mask]);
  const tgt = op('Mul', [mask, rankIn(mask)]);
  const [reduced, S] = merge(x.Xp, tgt, op('Mul', [mask, x.sp]), K);
  // the extra token: Σ a_j x_j over the non-critical tokens, size Σ s_j — only where there are
  // non-critical tokens (keep < 1 can still keep all of them: K = M0 gives no extra token)
  const extra = g.atMostOne(op('Sub', [x.M0, K])); // 0 or 1 tokens
  return {
    reduced,
    S,
    dest: () => destinations(op('Add', [tgt, op('Mul', [nc, cast(K, DataType.FLOAT)])]), mask, nc),
    restore: () => op('Add', [tgt, op('Mul', [nc, cast(K, DataType.FLOAT)])]),
    tail: {
      tokens: slice2(toT(op('MatMul', [unsqueeze(op('Mul', [a, nc]), [1]), x.Xp])), extra),
      sizes: slice2(reduce('ReduceSum', op('Mul', [nc, x.sp]), [1], 1), extra),
    },
  };
}
