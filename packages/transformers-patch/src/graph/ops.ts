import { criticalCount } from '@jmpjs/core';
import { DataType, type AttributeProto, type NodeProto } from '../onnx/proto.js';
import type { GraphBuilder } from './builder.js';
import type { JmpMetric } from '../option-values.js';
import type { GraphLayout } from './layout.js';
import type { ReductionInput } from './methods/types.js';

export const BIG = 1e4;
/** Fixed-point keep rates: 2^40 (products with token counts up to 2^16 stay below 2^57). */
const FIXED_ONE = 2 ** 40;
const FIXED_SLACK = Math.round(1e-9 * FIXED_ONE);
const fixedChecked = new Map<number, number | null>();

/** keep · 2^40 rounded, if the integer rule gives `criticalCount`'s K for every M ≤ 2^16 (else null). */
function fixedPointKeep(keep: number): number | null {
  let fixed = fixedChecked.get(keep);
  if (fixed !== undefined) return fixed;
  fixed = Math.round(keep * FIXED_ONE);
  const big = BigInt(fixed);
  const one = BigInt(FIXED_ONE);
  const add = one - 1n - BigInt(FIXED_SLACK);
  for (let M = 0; M <= 65536; M++) {
    const expected = criticalCount(keep, M, 0);
    const got = (BigInt(M) * big + add) / one;
    if (got !== BigInt(expected)) {
      fixed = null;
      break;
    }
  }
  fixedChecked.set(keep, fixed);
  return fixed;
}
/** "To the end" for Slice (clamped by ONNX; exactly representable, unlike 2^63 − 1). */
export const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * The ONNX building blocks the reductions are written in, appending to `nodes`: shape math, masks,
 * best matches, the size-weighted merge. Shared by every method's emitter (graph/methods/*).
 *
 * `indexOps`: where a mask can be built from int64 indices with fewer nodes (ScatterElements), do so.
 * onnxruntime's CPU and wasm execution providers have these kernels; its WebGPU provider has no
 * ScatterElements, and there every op stays a float elementwise op (the default).
 */
export function graphOps(b: GraphBuilder, layout: GraphLayout, heads: number, nodes: NodeProto[], indexOps = false) {
  const P = layout.protectedTokens;
  const T = layout.floatType;
  const attr = {
    i: (name: string, i: number): AttributeProto => ({ name, type: 2, i }),
    ints: (name: string, ints: number[]): AttributeProto => ({ name, type: 7, ints }),
  };
  const op = (opType: string, input: string[], attrs: AttributeProto[] = [], base = `jmp/${opType}`): string => {
    const out = b.name(base);
    nodes.push(b.node(opType, input, out, attrs));
    return out;
  };
  const opset = layout.opset;
  // Ops whose form changed since opset 11: Unsqueeze / Squeeze / ReduceSum take their axes as an
  // input from opset 13 (an attribute before), the other reductions from 18; int64 Min / Max,
  // GreaterOrEqual / LessOrEqual and ArgMax's select_last_index come with opset 12.
  const reduce = (opType: string, x: string, axes: number[], keepdims: 0 | 1): string =>
    (opType === 'ReduceSum' && opset >= 13) || opset >= 18
      ? op(opType, [x, b.int64(axes)], [attr.i('keepdims', keepdims)])
      : op(opType, [x], [attr.ints('axes', axes), attr.i('keepdims', keepdims)]);
  const unsqueeze = (x: string, axes: number[]) => (opset >= 13 ? op('Unsqueeze', [x, b.int64(axes)]) : op('Unsqueeze', [x], [attr.ints('axes', axes)]));
  const squeeze = (x: string, axes: number[]) => (opset >= 13 ? op('Squeeze', [x, b.int64(axes)]) : op('Squeeze', [x], [attr.ints('axes', axes)]));
  /**
   * min(x, 1) and max(x, 1) of a count x ≥ 0 (int64 [1]). No int64 Min / Max before opset 12:
   * there Sign(x) and x + 1 − Sign(x), shape math that stays on the CPU (a comparison would run on
   * the WebGPU provider and be read back).
   */
  const atMostOne = (x: string) => (opset >= 12 ? op('Min', [x, b.int64([1])]) : op('Sign', [x]));
  const atLeastOne = (x: string) => (opset >= 12 ? op('Max', [x, b.int64([1])]) : op('Sub', [op('Add', [x, b.int64([1])]), op('Sign', [x])]));
  /** a ≥ c and a ≤ c as float 0/1 (Not(Less) before opset 12). */
  const geq = (a: string, c: string) => cast(opset >= 12 ? op('GreaterOrEqual', [a, c]) : op('Not', [op('Less', [a, c])]), DataType.FLOAT);
  const leq = (a: string, c: string) => cast(opset >= 12 ? op('LessOrEqual', [a, c]) : op('Not', [op('Greater', [a, c])]), DataType.FLOAT);
  /** ArgMax along `axis` without keepdims, ties to the lower index (ArgMax's default before opset 12 too). */
  const argmax = (x: string, axis: number) =>
    op('ArgMax', [x], [attr.i('axis', axis), attr.i('keepdims', 0), ...(opset >= 12 ? [attr.i('select_last_index', 0)] : [])]);
  const slice = (x: string, start: number, end: number, axis: number) => op('Slice', [x, b.int64([start]), b.int64([end]), b.int64([axis])]);
  /**
   * K = min(M, ceil(keep · M − 1e-9)) from M (int64 [1]) in int64 arithmetic, keep as a fixed-point
   * fraction of 2^40: shape math that ORT keeps on the CPU, where TopK and Slice need K (float math
   * would run on the GPU and be read back). Checked against the float rule for M ≤ 2^16 when
   * compiling; where they could differ (keep rates planned from a budget are rarely round), K is
   * looked up in a table of `criticalCount` for every M up to the model's patch count (float32 math
   * gave one token more than the plan at some M; float64 has no kernels in onnxruntime-web).
   */
  const criticalCountOf = (M: string, keep: number): string => {
    const fixed = fixedPointKeep(keep);
    if (fixed === null) {
      const table = Array.from({ length: layout.tokens - P + 1 }, (_, m) => criticalCount(keep, m, 0));
      return op('Gather', [b.int64(table), M], [attr.i('axis', 0)]);
    }
    const numerator = op('Add', [op('Mul', [M, b.int64([fixed])]), b.int64([FIXED_ONE - 1 - FIXED_SLACK])]);
    // ≤ M whenever keep ≤ 1 (fixed ≤ 2^40): no min with M needed
    return op('Div', [numerator, b.int64([FIXED_ONE])]);
  };
  /** x[:, :end] along axis 1, `end` a 1-element int64 tensor. */
  const slice2 = (x: string, end: string) => op('Slice', [x, b.int64([0]), end, b.int64([1])]);
  const toFloat = (x: string) => (T === DataType.FLOAT ? x : op('Cast', [x], [attr.i('to', DataType.FLOAT)]));
  const toT = (x: string) => (T === DataType.FLOAT ? x : op('Cast', [x], [attr.i('to', T)]));
  const cast = (x: string, to: number) => op('Cast', [x], [attr.i('to', to)]);
  const f = (v: number) => b.float32([v], []);
  const onesOfShape = (shape: string) =>
    op(
      'ConstantOfShape',
      [shape],
      [{ name: 'value', type: 4, t: { dims: [1], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.of(1).buffer) } }],
    );
  /**
   * [B, M] float mask of the k largest of x [B, M] along axis 1, ties going to the lower index (as
   * ONNX TopK orders them). Built from TopK's k-th value, not its int64 indices, so the mask is
   * made where x is (on the GPU with WebGPU).
   */
  /** TopK along axis 1, largest first (ties: lower index): [values, int64 indices]. */
  const topK = (x: string, k: string): [string, string] => {
    const values = op('TopK', [x, k], [attr.i('axis', 1), attr.i('largest', 1), attr.i('sorted', 1)]);
    const indices = `${values}_indices`;
    nodes[nodes.length - 1]!.output = [values, indices];
    return [values, indices];
  };
  const topKMask = (x: string, k: string) => {
    const [values, indices] = topK(x, k);
    if (indexOps) {
      // 1 at TopK's indices (the same k tokens: TopK breaks ties by the lower index too)
      const ones = op('Add', [op('Sub', [values, values]), f(1)]);
      return op('ScatterElements', [op('Sub', [x, x]), indices, ones], [attr.i('axis', 1)]);
    }
    const kth = op('Slice', [values, op('Sub', [k, b.int64([1])]), k, b.int64([1])]); // [B, 1]
    const above = cast(op('Greater', [x, kth]), DataType.FLOAT);
    const tied = cast(op('Equal', [x, kth]), DataType.FLOAT);
    const need = op('Sub', [cast(k, DataType.FLOAT), reduce('ReduceSum', above, [1], 1)]); // [B, 1]
    const tiedRank = op('CumSum', [tied, b.int64([1], [])]); // 1-based among the ties
    return op('Add', [above, op('Mul', [tied, leq(tiedRank, need)])]);
  };
  // Index bookkeeping (ranks, targets, the merge assignment) is done in float32 with elementwise ops
  // (Equal against positions) rather than ScatterElements / OneHot: exact for these sizes, and every
  // op stays on the WebGPU execution provider (which has neither), so no token index goes back to the
  // CPU between blocks.
  /** Unit length along the last axis (a zero row stays zero). */
  const unit = (t: string, axis: number) => op('Div', [t, op('Add', [op('Sqrt', [reduce('ReduceSum', op('Mul', [t, t]), [axis], 1)]), f(1e-30)])]);
  /**
   * Unit-length similarity rows of the patch tokens: head-mean keys [B, M0, d] (ToMe's metric), or
   * with `perHead` (JMP's metric 'keys-per-head') each head's key unit-length, the heads side by side
   * and scaled by 1/√H [B, M0, C], whose dot products are the mean over heads of the key cosines
   * (`perHeadUnitKeys` of @jmpjs/core).
   */
  const unitKeys = (block: GraphLayout['blocks'][number], perHead = false) => {
    const keys = toFloat(op('Reshape', [block.keys, b.int64([0, 0, heads, -1])])); // [B, N, H, d]
    if (perHead) {
      const ku = op('Mul', [unit(keys, 3), f(1 / Math.sqrt(heads))]);
      return slice(op('Reshape', [ku, b.int64([0, 0, -1])]), P, INT64_MAX, 1);
    }
    return unit(slice(reduce('ReduceMean', keys, [2], 0), P, INT64_MAX, 1), 2);
  };
  /**
   * Unit-length similarity rows of the patch tokens for JMP's `metric`: the keys ({@link unitKeys};
   * `'keys-per-head'` or head-mean `'keys'`), or with `'hidden'` the token states themselves at the
   * reduction point (the patch tokens `Xp` [B, M0, C] of the block's attention residual, float32).
   */
  const unitRows = (x: ReductionInput, metric: JmpMetric) => (metric === 'hidden' ? unit(x.Xp, 2) : unitKeys(x.block, metric === 'keys-per-head'));
  /**
   * Best match of every row among the columns where `colMask` is 1 (ties: the lower index):
   * [score [B, M0], match], the match as ArgMax indices [B, M0] where index ops are used, else as
   * a one-hot [B, M0, M0] of float elementwise ops (onnxruntime-web's JSEP WebGPU, transformers.js
   * v3, gave wrong merge targets with ArgMax and GatherElements). Read it with {@link atMatch}.
   */
  const bestMatch = (unit: string, colMask: string) => bestAmong(similarities(unit), colMask);
  /** Cosine similarities of the unit rows [B, M0, D]: [B, M0, M0]. */
  const similarities = (unit: string) => op('MatMul', [unit, op('Transpose', [unit], [attr.ints('perm', [0, 2, 1])])]);
  /** {@link bestMatch} on similarities [B, M0, M0] already computed. */
  const bestAmong = (sim: string, colMask: string) => bestOfRows(op('Add', [sim, op('Mul', [op('Sub', [unsqueeze(colMask, [1]), f(1)]), f(BIG)])]));
  /** The largest of each row of `masked` [B, M0, M0] and where it is (as {@link bestMatch}). */
  const bestOfRows = (masked: string) => {
    if (indexOps) return [reduce('ReduceMax', masked, [2], 0), argmax(masked, 2)] as const;
    const top = reduce('ReduceMax', masked, [2], 1); // [B, M0, 1]
    const atTop = cast(op('Equal', [masked, top]), DataType.FLOAT);
    const first = cast(op('Equal', [op('CumSum', [atTop, b.int64([2], [])]), f(1)]), DataType.FLOAT); // up to and including the first maximum
    return [squeeze(top, [2]), op('Mul', [atTop, first])] as const;
  };
  /**
   * Size-weighted merge of the patch tokens: token j (weight ω_j, 0 = dropped) goes to output
   * position tgt_j of `outCount`; returns [X' [B, K, C] float32, sizes [B, K]].
   */
  const merge = (Xp: string, tgt: string, omega: string, outCount: string) => {
    const outPos = unsqueeze(cast(op('Range', [b.int64([0], []), squeeze(outCount, [0]), b.int64([1], [])]), DataType.FLOAT), [1]); // [K, 1]
    const onehot = cast(op('Equal', [unsqueeze(tgt, [1]), outPos]), DataType.FLOAT); // [B, K, M0]
    const A = op('Mul', [onehot, unsqueeze(omega, [1])]);
    const S = reduce('ReduceSum', A, [2], 0);
    return [op('Div', [op('MatMul', [A, Xp]), unsqueeze(S, [2])]), S] as const;
  };

  /**
   * `values` [B, M0] float at each token's match from {@link bestMatch}: GatherElements at the
   * ArgMax indices where index ops are used; else a MatMul with the one-hot of the match.
   */
  const atMatch = (values: string, match: string) =>
    indexOps ? op('GatherElements', [values, match], [attr.i('axis', 1)]) : squeeze(op('MatMul', [match, unsqueeze(values, [2])]), [2]);

  /** The `dest` encoding of {@link compiledOutputs}: kept at tgt, merged into tgt (−2 − tgt), or pruned (−1). */
  const destinations = (tgt: string, kept: string, merged: string) => {
    const pruned = op('Sub', [op('Sub', [f(1), kept]), merged]);
    return op('Sub', [op('Sub', [op('Mul', [kept, tgt]), op('Mul', [merged, op('Add', [tgt, f(2)])])]), pruned]);
  };

  /**
   * The attention-critical set of the spec's step 2: K = ceil(keep · M0 − 1e-9) patch tokens with the
   * largest importance (CLS / distillation attention rows, head-mean). `mask` 1 = critical, `rank` the
   * position among them.
   */
  /**
   * Importance: the protected rows of the attention probabilities averaged over heads and rows,
   * [B, N]. CLIP's probabilities are [B·H, N, N] (heads folded into the batch): its rows [B·H, P, N]
   * are read as [B, H·P, N]. Without a protected token (SigLIP), the attention each token receives,
   * averaged over heads and every query row (`importanceFromReceived` of @jmpjs/core).
   */
  const importanceRows = (block: GraphLayout['blocks'][number]): string =>
    P === 0
      ? reduce('ReduceMean', toFloat(block.probs), [1, 2], 0) // no class token (SigLIP): the attention each token receives
      : layout.attention === 'clip'
        ? reduce('ReduceMean', toFloat(op('Reshape', [slice(block.probs, 0, P, 1), b.int64([-1, heads * P, 0])])), [1], 0)
        : reduce('ReduceMean', toFloat(slice(block.probs, 0, P, 2)), [1, 2], 0);
  const criticalByAttention = (block: GraphLayout['blocks'][number], M0: string, keep: number) => {
    const K = criticalCountOf(M0, keep);
    const imp = importanceRows(block); // [B, N]
    const a = slice(imp, P, INT64_MAX, 1); // [B, M0]
    const mask = topKMask(a, K);
    return { K, a, mask };
  };
  /**
   * ToMe's split by absolute position (A = even, B = odd; protected tokens in neither) and each
   * token's best B match by the unit rows of the patch tokens: `isB` [1, M0], `best` / `match` [B, M0], `scoreA` = best for A tokens and
   * far below any similarity for B tokens (they never leave).
   */
  const bipartite = (unitRowsOfPatches: string, shapeX: string) => {
    const t = op('Range', [b.int64([P], []), squeeze(slice(shapeX, 1, 2, 0), [0]), b.int64([1], [])]); // absolute positions P…N−1
    const isB = unsqueeze(cast(op('Mod', [t, b.int64([2], [])]), DataType.FLOAT), [0]); // [1, M0]
    const [best, match] = bestMatch(unitRowsOfPatches, isB);
    const scoreA = op('Add', [best, op('Mul', [isB, f(-4 * BIG)])]);
    return { isB, best, match, scoreA };
  };
  /**
   * Match 'nearest' (`@jmpjs/core`'s README): each patch token's most similar other patch token
   * (score `n` [B, M0], ties to the lower index), its rank by `n` (largest first, ties to the lower
   * index), whether a token ranked above it has it as its most similar (claimed), and the leaving
   * key: `n` for unclaimed tokens, `n − 4` for claimed ones (below every unclaimed one). The
   * similarities `sim` [B, M0, M0] come back for the leaving tokens' matches.
   */
  const nearest = (unit: string) => {
    const sim = similarities(unit);
    const pos = cast(op('Range', [b.int64([0], []), squeeze(slice(op('Shape', [unit]), 1, 2, 0), [0]), b.int64([1], [])]), DataType.FLOAT); // [M0]
    const [row, col] = [unsqueeze(pos, [1]), unsqueeze(pos, [0])]; // [M0, 1], [1, M0]
    const eye = cast(op('Equal', [row, col]), DataType.FLOAT);
    const [n, nu] = bestOfRows(op('Sub', [sim, op('Mul', [eye, f(4 * BIG)])]));
    // one-hot of ν [B, M0 (i), M0 (t)]
    const onehot = indexOps ? cast(op('Equal', [unsqueeze(cast(nu, DataType.FLOAT), [2]), col]), DataType.FLOAT) : nu;
    // rank_i = #{j: n_j > n_i} + #{j < i: n_j = n_i}
    const [ni, nj] = [unsqueeze(n, [2]), unsqueeze(n, [1])];
    const above = op('Add', [
      cast(op('Greater', [nj, ni]), DataType.FLOAT),
      op('Mul', [cast(op('Equal', [nj, ni]), DataType.FLOAT), cast(op('Less', [col, row]), DataType.FLOAT)]),
    ]);
    const rank = reduce('ReduceSum', above, [2], 0); // [B, M0]
    // the best rank among the tokens whose most similar is t, BIG where none is
    const claimedBy = op('Add', [reduce('ReduceMin', op('Mul', [onehot, unsqueeze(op('Sub', [rank, f(BIG)]), [2])]), [1], 0), f(BIG)]);
    const claimed = op('Sub', [f(1), cast(op('Less', [rank, claimedBy]), DataType.FLOAT)]);
    return { sim, key: op('Sub', [n, op('Mul', [claimed, f(4)])]) };
  };
  /**
   * Rows `at` [B, n] int64 of `t` [B, N, C]: [B, n, C]. In index form at opset ≥ 12, one GatherND
   * with batch_dims 1 (a row copy); else GatherElements on the indices expanded over C (an int64
   * [B, n, C] tensor first: at 1 369 tokens the two took 8 ms of a 300-ms forward, twice GatherND's).
   */
  const gatherRows = (t: string, at: string): string => {
    if (indexOps && opset >= 12) return op('GatherND', [t, unsqueeze(at, [2])], [attr.i('batch_dims', 1)]);
    const shape = op('Concat', [op('Shape', [at]), op('Slice', [op('Shape', [t]), b.int64([2]), b.int64([3]), b.int64([0])])], [attr.i('axis', 0)]);
    return op('GatherElements', [t, op('Expand', [unsqueeze(at, [2]), shape])], [attr.i('axis', 1)]);
  };
  /** Position among the tokens where `mask` [B, M0] is 1. */
  const rankIn = (mask: string) => op('Sub', [op('CumSum', [mask, b.int64([1], [])]), f(1)]);

  return {
    b,
    P,
    T,
    opset,
    hidden: layout.hidden,
    importanceRows,
    gatherRows,
    squeeze,
    atMostOne,
    atLeastOne,
    geq,
    leq,
    argmax,
    topK,
    criticalByAttention,
    bipartite,
    rankIn,
    attr,
    op,
    reduce,
    unsqueeze,
    slice,
    criticalCountOf,
    slice2,
    toFloat,
    toT,
    cast,
    f,
    onesOfShape,
    topKMask,
    unitKeys,
    unitRows,
    bestMatch,
    bestAmong,
    nearest,
    atMatch,
    merge,
    destinations,
  };
}

export type GraphOps = ReturnType<typeof graphOps>;
