import { DataType } from '../../../onnx/proto.js';
import { BIG, INT64_MAX, type GraphOps } from '../../ops.js';
import type { JmpGraphStep } from './emit.js';
import type { ReductionInput, ReductionOutput } from '../types.js';

/**
 * JMP with select 'redundancy' in index form, for execution providers with int64 index kernels
 * (onnxruntime's CPU and wasm). The same tokens leave, merge or are pruned, into the same targets,
 * as in {@link emitJmp}'s float form, with fewer nodes and less arithmetic:
 *
 * - similarities between set A and set B only (a quarter of all pairs), from strided slices of the
 *   unit keys;
 * - the M leaving A tokens from TopK's indices, their best B match by GatherElements;
 * - the P + K remaining tokens (protected ones first, then the patches in spatial order) gathered
 *   straight from the block's tokens (GatherND), and only the M leaving tokens in the merge MatMul
 *   ([P + K, M] instead of [K, M0]).
 */
export function emitJmpIndexed(g: GraphOps, x: ReductionInput, step: JmpGraphStep): ReductionOutput {
  const { b, P, op, f, attr, cast, unsqueeze, reduce, criticalCountOf, unitRows, rankIn, destinations, topK, toFloat, toT, slice } = g;
  const i64 = (v: number, dims?: number[]) => b.int64([v], dims);
  const scalar = (t: string) => g.squeeze(t, [0]);
  const gather = (data: string, index: string) => op('GatherElements', [data, index], [attr.i('axis', 1)]);
  const scatter = (data: string, index: string, updates: string) => op('ScatterElements', [data, index, updates], [attr.i('axis', 1)]);
  const aStart = P % 2; // ToMe's split in patch coordinates: set A holds the even absolute positions
  const bStart = 1 - aStart;
  const K = criticalCountOf(x.M0, step.keep);
  const M = op('Sub', [x.M0, K]);
  const strided = (t: string, start: number) => op('Slice', [t, i64(start), i64(INT64_MAX), i64(1), i64(2)]);
  const unit = unitRows(x, step.metric);
  let sim = op('MatMul', [strided(unit, aStart), op('Transpose', [strided(unit, bStart)], [attr.ints('perm', [0, 2, 1])])]); // [B, nA, nB]
  // With an even number of protected tokens, a single patch token has no B partner (M0 = 1): a
  // column below any similarity keeps ArgMax defined; nothing leaves then (M = 0).
  if (aStart === 0) sim = op('Pad', [sim, b.int64([0, 0, 0, 0, 0, 1]), f(-4 * BIG)]);
  const bestA = reduce('ReduceMax', sim, [2], 0); // [B, nA]
  const matchA = g.argmax(sim, 2);
  // the M A tokens whose best B match is most similar leave (TopK: ties to the lower index)
  const [leaveBest, leaveA] = topK(bestA, M); // [B, M]
  // token indices (protected tokens included) of the leaving tokens and of their matches
  const index = (t: string, start: number) => op('Add', [op('Mul', [t, i64(2)]), i64(P + start)]);
  const leaveAt = index(leaveA, aStart);
  const matchAt = index(gather(matchA, leaveA), bStart);
  const zerosM = op('Sub', [leaveBest, leaveBest]);
  const onesN = op('Add', [op('Sub', [x.s, x.s]), f(1)]);
  const stays = scatter(onesN, leaveAt, zerosM); // [B, N]: 1 = stays (protected tokens always)
  const rank = rankIn(stays); // output row of each staying token
  // which leaving tokens merge (the others are pruned)
  const Mf = op('Max', [cast(M, DataType.FLOAT), f(1)]);
  const sigma = op('Div', [reduce('ReduceSum', leaveBest, [1], 0), Mf]); // [B]
  const atLeastTau = (v: string) => g.geq(v, f(step.tau!));
  const w =
    step.strategy === 'merge'
      ? op('Add', [zerosM, f(1)])
      : step.strategy === 'prune'
        ? zerosM
        : step.strategy === 'adaptive-token'
          ? atLeastTau(leaveBest)
          : op('Add', [zerosM, unsqueeze(atLeastTau(sigma), [1])]);
  // the P + K staying tokens in order: TopK of (stays · BIG − index)
  const N = op('Add', [x.M0, i64(P)]);
  const Nout = op('Add', [K, i64(P)]);
  const position = cast(op('Range', [i64(0, []), scalar(N), i64(1, [])]), DataType.FLOAT);
  const [, stayAt] = topK(op('Sub', [op('Mul', [stays, f(BIG)]), position]), Nout); // [B, P + K]
  const tokens = (at: string) => toFloat(g.gatherRows(x.X, at)); // rows `at` [B, n] of the tokens: [B, n, C]
  const sStay = gather(x.s, stayAt);
  const sLeave = op('Mul', [gather(x.s, leaveAt), w]); // [B, M], 0 if pruned
  // leaving token i adds s_i x_i to the row its match stays at: a one-hot [B, P + K, M]
  const leaveRow = gather(rank, matchAt); // [B, M]
  const rows = unsqueeze(cast(op('Range', [i64(0, []), scalar(Nout), i64(1, [])]), DataType.FLOAT), [1]); // [P + K, 1]
  const L = op('Mul', [cast(op('Equal', [unsqueeze(leaveRow, [1]), rows]), DataType.FLOAT), unsqueeze(sLeave, [1])]);
  const S = op('Add', [sStay, reduce('ReduceSum', L, [2], 0)]); // [B, P + K]
  // x' = x · s / S + Σ_i (s_i / S) x_i, weights scaled before the products
  const Sc = unsqueeze(S, [2]);
  const merged = op('Add', [op('Mul', [tokens(stayAt), op('Div', [unsqueeze(sStay, [2]), Sc])]), op('MatMul', [op('Div', [L, Sc]), tokens(leaveAt)])]);
  // in patch coordinates: the output patch row of each patch token, or of its match if it leaves
  const patch = (t: string) => slice(t, P, INT64_MAX, 1);
  let tgt: string | undefined;
  const target = () => (tgt ??= op('Sub', [patch(scatter(op('Mul', [stays, rank]), leaveAt, leaveRow)), f(P)]));
  return {
    full: { tokens: toT(merged), sizes: S },
    dest: () => destinations(target(), patch(stays), patch(scatter(op('Sub', [onesN, onesN]), leaveAt, w))),
    restore: () => target(),
    stats: { sigma, merged: reduce('ReduceSum', w, [1], 0) },
  };
}
