import { criticalCount, type Strategy } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import { DataType, type AttributeProto, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto.js';
import { GraphBuilder } from './builder.js';
import type { GraphLayout } from './layout.js';

/** What the compiled graph reduces, at the given blocks (1-based, strictly increasing). */
export interface CompileOptions {
  /** JMP (all four strategies), or the baselines ToMe and EViT. Default 'jmp'. */
  method?: 'jmp' | 'tome' | 'evit';
  blocks: readonly number[];
  /** Keep rate per block (JMP, EViT). */
  keeps?: readonly number[];
  /** Tokens merged per block (ToMe). */
  rs?: readonly number[];
  /** JMP strategy. */
  strategy?: Strategy;
  /** Required by the adaptive strategies. */
  tau?: number;
  proportionalAttention: boolean;
  heads: number;
  /** Add an output per reduction with what happened to each patch token (see {@link compiledOutputs}). Default false. */
  trackSources?: boolean;
}

/**
 * Extra outputs of a compiled model, per reduction k (0-based; none where keep = 1 / r = 0):
 * - JMP: σ [B] and merged tokens [B];
 * - with `trackSources`: `dest` [B, M] float, for each patch token j of the input: the output
 *   patch position d ≥ 0 it was kept at, −1 if pruned, or −2 − d if merged (fused, EViT) into
 *   output patch position d.
 */
export const compiledOutputs = (k: number) => ({ sigma: `jmp_sigma_${k}`, merged: `jmp_merged_${k}`, dest: `jmp_dest_${k}` });

const BIG = 1e4;
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
    if (BigInt(Math.min(M, Number(got))) !== BigInt(expected)) {
      fixed = null;
      break;
    }
  }
  fixedChecked.set(keep, fixed);
  return fixed;
}
/** "To the end" for Slice (clamped by ONNX; exactly representable, unlike 2^63 − 1). */
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Splices the reduction into the graph with standard ONNX operators (opset ≥ 13): importance from
 * the attention rows, TopK, cosine similarity by MatMul, the per-sample decision, and the
 * size-weighted merge as a MatMul with a one-hot assignment; sizes flow on to a log-size attention
 * bias. The token count stays dynamic (K is computed from the running N). One session runs the
 * whole model.
 */
export function compileJMP(model: ModelProto, layout: GraphLayout, o: CompileOptions): ModelProto {
  if (layout.opset < 13) {
    throw new UnsupportedModelError({ lookedFor: 'opset 13 or newer for the compiled graph', found: `opset ${layout.opset}` });
  }
  const method = o.method ?? 'jmp';
  const strategy = o.strategy ?? 'adaptive';
  const b = new GraphBuilder(layout);
  const P = layout.protectedTokens;
  const T = layout.floatType;
  const nodes: NodeProto[] = [];
  const attr = {
    i: (name: string, i: number): AttributeProto => ({ name, type: 2, i }),
    ints: (name: string, ints: number[]): AttributeProto => ({ name, type: 7, ints }),
  };
  const op = (opType: string, input: string[], attrs: AttributeProto[] = [], base = `jmp/${opType}`): string => {
    const out = b.name(base);
    nodes.push(b.node(opType, input, out, attrs));
    return out;
  };
  const reduce = (opType: string, x: string, axes: number[], keepdims: 0 | 1): string =>
    opType === 'ReduceSum' || layout.opset >= 18
      ? op(opType, [x, b.int64(axes)], [attr.i('keepdims', keepdims)])
      : op(opType, [x], [attr.ints('axes', axes), attr.i('keepdims', keepdims)]);
  const unsqueeze = (x: string, axes: number[]) => op('Unsqueeze', [x, b.int64(axes)]);
  const slice = (x: string, start: number, end: number, axis: number) => op('Slice', [x, b.int64([start]), b.int64([end]), b.int64([axis])]);
  /**
   * K = min(M, ceil(keep · M − 1e-9)) from M (int64 [1]) in int64 arithmetic, keep as a fixed-point
   * fraction of 2^40: shape math that ORT keeps on the CPU, where TopK and Slice need K (float math
   * would run on the GPU and be read back). Checked against the float rule for M ≤ 2^16 when
   * compiling; where they could differ, the float rule is compiled instead.
   */
  const criticalCountOf = (M: string, keep: number): string => {
    const fixed = fixedPointKeep(keep);
    if (fixed === null) return cast(op('Ceil', [op('Sub', [op('Mul', [cast(M, DataType.FLOAT), f(keep)]), f(1e-9)])]), DataType.INT64);
    const numerator = op('Add', [op('Mul', [M, b.int64([fixed])]), b.int64([FIXED_ONE - 1 - FIXED_SLACK])]);
    return op('Min', [op('Div', [numerator, b.int64([FIXED_ONE])]), M]);
  };
  /** x[:, :end] along axis 1, `end` a 1-element int64 tensor. */
  const slice2 = (x: string, end: string) => op('Slice', [x, b.int64([0]), end, b.int64([1])]);
  const toFloat = (x: string) => (T === DataType.FLOAT ? x : op('Cast', [x], [attr.i('to', DataType.FLOAT)]));
  const toT = (x: string) => (T === DataType.FLOAT ? x : op('Cast', [x], [attr.i('to', T)]));
  const cast = (x: string, to: number) => op('Cast', [x], [attr.i('to', to)]);
  const f = (v: number) => b.float32([v], []);
  const onesOfShape = (shape: string) =>
    op('ConstantOfShape', [shape], [{ name: 'value', type: 4, t: { dims: [1], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.of(1).buffer) } }]);
  /**
   * [B, M] float mask of the k largest of x [B, M] along axis 1, ties going to the lower index (as
   * ONNX TopK orders them). Built from TopK's k-th value, not its int64 indices, so the mask is
   * made where x is (on the GPU with WebGPU).
   */
  const topKMask = (x: string, k: string) => {
    const values = op('TopK', [x, k], [attr.i('axis', 1), attr.i('largest', 1), attr.i('sorted', 1)]);
    nodes[nodes.length - 1]!.output = [values, `${values}_indices`];
    const kth = op('Slice', [values, op('Sub', [k, b.int64([1])]), k, b.int64([1])]); // [B, 1]
    const above = cast(op('Greater', [x, kth]), DataType.FLOAT);
    const tied = cast(op('Equal', [x, kth]), DataType.FLOAT);
    const need = op('Sub', [cast(k, DataType.FLOAT), reduce('ReduceSum', above, [1], 1)]); // [B, 1]
    const tiedRank = op('CumSum', [tied, b.int64([1], [])]); // 1-based among the ties
    return op('Add', [above, op('Mul', [tied, cast(op('LessOrEqual', [tiedRank, need]), DataType.FLOAT)])]);
  };
  // Index bookkeeping is done in float32 with elementwise ops (Equal against positions) rather than
  // ScatterElements / OneHot: exact for these sizes, and every op stays on the WebGPU execution
  // provider (which has neither), so no token index goes back to the CPU between blocks.
  /** Positions 0, 1, …, M − 1 along axis 1 of a [B, M] float tensor. */
  const positions = (like: string) => op('Sub', [op('CumSum', [op('Add', [op('Sub', [like, like]), f(1)]), b.int64([1], [])]), f(1)]);
  /** [B, M, K] float: 1 where `values` [B, M] equals the position k of `pos` [B, K]. */
  const oneHot = (values: string, pos: string) => cast(op('Equal', [unsqueeze(values, [2]), unsqueeze(pos, [1])]), DataType.FLOAT);
  /** Unit-length head-mean keys of the patch tokens [B, M0, d]. */
  const unitKeys = (block: GraphLayout['blocks'][number]) => {
    const keysMean = reduce('ReduceMean', toFloat(op('Reshape', [block.keys, b.int64([0, 0, o.heads, -1])])), [2], 0);
    const km = slice(keysMean, P, INT64_MAX, 1);
    return op('Div', [km, op('Add', [op('Sqrt', [reduce('ReduceSum', op('Mul', [km, km]), [2], 1)]), f(1e-30)])]);
  };
  /** Best match of every row among the columns where `colMask` is 1: [score, index] (ties: lower index). */
  const bestMatch = (unit: string, colMask: string) => {
    const sim = op('MatMul', [unit, op('Transpose', [unit], [attr.ints('perm', [0, 2, 1])])]);
    const masked = op('Add', [sim, op('Mul', [op('Sub', [unsqueeze(colMask, [1]), f(1)]), f(BIG)])]);
    return [reduce('ReduceMax', masked, [2], 0), op('ArgMax', [masked], [attr.i('axis', 2), attr.i('keepdims', 0), attr.i('select_last_index', 0)])] as const;
  };
  /**
   * Size-weighted merge of the patch tokens: token j (weight ω_j, 0 = dropped) goes to output
   * position tgt_j of `outCount`; returns [X' [B, K, C] float32, sizes [B, K]].
   */
  const merge = (Xp: string, tgt: string, omega: string, outCount: string) => {
    const onehot = oneHot(tgt, slice2(positions(tgt), outCount)); // [B, M0, K]
    const A = op('Transpose', [op('Mul', [onehot, unsqueeze(omega, [2])])], [attr.ints('perm', [0, 2, 1])]); // [B, K, M0]
    const S = reduce('ReduceSum', A, [2], 0);
    return [op('Div', [op('MatMul', [A, Xp]), unsqueeze(S, [2])]), S] as const;
  };

  /** The `dest` encoding of {@link compiledOutputs}: kept at tgt, merged into tgt (−2 − tgt), or pruned (−1). */
  const destinations = (tgt: string, kept: string, merged: string) => {
    const pruned = op('Sub', [op('Sub', [f(1), kept]), merged]);
    return op('Sub', [op('Sub', [op('Mul', [kept, tgt]), op('Mul', [merged, op('Add', [tgt, f(2)])])]), pruned]);
  };

  const reductionAt = new Map(
    o.blocks.flatMap((block, k) => {
      const active = method === 'tome' ? o.rs![k]! > 0 : o.keeps![k]! < 1;
      // keep = 1 / r = 0 reduces nothing: such blocks get no nodes at all (and no statistics outputs).
      return active ? [[layout.blocks[block - 1]!.attentionResidual, k] as const] : [];
    }),
  );
  const renamed = new Map<string, string>();
  const extraOutputs: ValueInfoProto[] = [];
  let sizes: string | undefined; // [B, N] float32, after the latest reduction
  let logBias: string | undefined; // [B, 1, 1, N] in T

  const emitReduction = (k: number, block: GraphLayout['blocks'][number]): string => {
    const X = block.attentionResidual;
    const shapeX = op('Shape', [X]);
    const s = sizes ?? onesOfShape(slice(shapeX, 0, 2, 0)); // sizes before the first reduction: ones [B, N]
    const sp = slice(s, P, INT64_MAX, 1);
    const Xp = toFloat(slice(X, P, INT64_MAX, 1)); // [B, M0, C]
    const M0 = op('Sub', [slice(shapeX, 1, 2, 0), b.int64([P])]);
    const M0f = cast(M0, DataType.FLOAT);
    let reduced: string;
    let S: string;
    let dest: string;
    const tail: string[] = [];
    const tailSizes: string[] = [];
    if (method === 'tome') {
      // Bipartite soft matching with ToMe's split by absolute position: set A = even positions, set
      // B = odd ones (the protected tokens, first, take part in neither).
      const r = b.int64([o.rs![k]!]);
      const t = op('Range', [b.int64([P], []), op('Squeeze', [slice(shapeX, 1, 2, 0), b.int64([0])]), b.int64([1], [])]); // absolute positions P…N−1
      const isB = unsqueeze(cast(op('Mod', [t, b.int64([2], [])]), DataType.FLOAT), [0]); // [1, M0]
      const [best, match] = bestMatch(unitKeys(block), isB);
      const scoreA = op('Add', [best, op('Mul', [isB, f(-4 * BIG)])]); // B tokens never chosen
      const mergedMask = topKMask(scoreA, r);
      const keepMask = op('Sub', [f(1), mergedMask]);
      const rank = op('Sub', [op('CumSum', [keepMask, b.int64([1], [])]), f(1)]);
      const tgt = op('Add', [op('Mul', [keepMask, rank]), op('Mul', [mergedMask, op('GatherElements', [rank, match], [attr.i('axis', 1)])])]);
      [reduced, S] = merge(Xp, tgt, sp, op('Sub', [M0, r]));
      dest = destinations(tgt, keepMask, mergedMask);
    } else {
      // Critical tokens: the K most attended patch tokens, K = ceil(keep · (N − P) − 1e-9).
      const keep = o.keeps![k]!;
      const K = criticalCountOf(M0, keep);
      const Kf = cast(K, DataType.FLOAT);
      const imp = reduce('ReduceMean', toFloat(slice(block.probs, 0, P, 2)), [1, 2], 0); // [B, N]
      const a = slice(imp, P, INT64_MAX, 1); // [B, M0]
      const zeros = op('Sub', [a, a]);
      const mask = topKMask(a, K); // 1 = critical
      const nc = op('Sub', [f(1), mask]);
      const rank = op('Sub', [op('CumSum', [mask, b.int64([1], [])]), f(1)]); // position among the critical tokens
      let tgt = op('Mul', [mask, rank]);
      let w = zeros; // which non-critical tokens merge
      let sigma = op('Mul', [op('ReduceSum', [a, b.int64([1])], [attr.i('keepdims', 0)]), f(Number.NaN)]); // NaN [B] when undefined
      if (method === 'jmp' && strategy !== 'prune') {
        const [best, pi] = bestMatch(unitKeys(block), mask);
        tgt = op('Add', [tgt, op('Mul', [nc, op('GatherElements', [rank, pi], [attr.i('axis', 1)])])]);
        const Mf = op('Max', [op('Sub', [M0f, Kf]), f(1)]);
        sigma = op('Div', [op('ReduceSum', [op('Mul', [best, nc]), b.int64([1])], [attr.i('keepdims', 0)]), Mf]); // [B]
        const atLeastTau = (x: string) => cast(op('GreaterOrEqual', [x, f(o.tau!)]), DataType.FLOAT);
        if (strategy === 'merge') w = nc;
        else if (strategy === 'adaptive') w = op('Mul', [nc, unsqueeze(atLeastTau(sigma), [1])]);
        else w = op('Mul', [nc, atLeastTau(best)]);
      }
      [reduced, S] = merge(Xp, tgt, op('Mul', [op('Add', [mask, w]), sp]), K);
      // EViT fuses every non-critical token into the extra token at position K
      dest = method === 'evit' ? destinations(op('Add', [tgt, op('Mul', [nc, Kf])]), mask, nc) : destinations(tgt, mask, w);
      if (method === 'evit') {
        // EViT's extra token: Σ a_j x_j over the non-critical tokens, size Σ s_j — only where there
        // are non-critical tokens (keep < 1 can still keep all of them: K = M0 gives no extra token).
        const extra = op('Min', [op('Sub', [M0, K]), b.int64([1])]); // 0 or 1 tokens
        tail.push(slice2(toT(op('MatMul', [unsqueeze(op('Mul', [a, nc]), [1]), Xp])), extra));
        tailSizes.push(slice2(reduce('ReduceSum', op('Mul', [nc, sp]), [1], 1), extra));
      } else {
        const names = compiledOutputs(k);
        nodes.push(b.node('Identity', [sigma], names.sigma), b.node('Identity', [reduce('ReduceSum', w, [1], 0)], names.merged));
        for (const name of [names.sigma, names.merged]) {
          extraOutputs.push({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch_size' }] } } } });
        }
      }
    }
    if (o.trackSources) {
      const name = compiledOutputs(k).dest;
      nodes.push(b.node('Identity', [dest], name));
      extraOutputs.push({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch_size' }, { dimParam: `jmp_patches_${k}` }] } } } });
    }
    const Xout = op('Concat', [slice(X, 0, P, 1), toT(reduced), ...tail], [attr.i('axis', 1)], `jmp/reduced_${k}`);
    sizes = op('Concat', [slice(s, 0, P, 1), S, ...tailSizes], [attr.i('axis', 1)]);
    if (o.proportionalAttention) logBias = toT(unsqueeze(op('Log', [sizes]), [1, 2]));
    return Xout;
  };

  const graph = model.graph;
  const out: NodeProto[] = [];
  for (const node of graph.node) {
    const input = node.input.map((t) => renamed.get(t) ?? t);
    if (logBias && node.opType === 'Softmax' && /\/attention\/attention\/Softmax$/.test(node.name ?? '')) {
      const biased = b.name('jmp/biased_scores');
      out.push(b.node('Add', [input[0]!, logBias], biased), { ...node, input: [biased] });
    } else out.push(input.some((t, i) => t !== node.input[i]) ? { ...node, input } : node);
    for (const t of node.output) {
      const k = reductionAt.get(t);
      if (k === undefined) continue;
      nodes.length = 0;
      const reduced = emitReduction(k, layout.blocks[o.blocks[k]! - 1]!);
      out.push(...nodes);
      renamed.set(t, reduced);
    }
  }
  return {
    ...model,
    producerName: 'jmp-transformers-patch (compiled)',
    graph: { ...graph, node: out, initializer: [...graph.initializer, ...b.initializers], output: [...graph.output, ...extraOutputs], valueInfo: [] },
  };
}
