import type { Strategy } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import { DataType, type AttributeProto, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto.js';
import { GraphBuilder } from './builder.js';
import type { GraphLayout } from './layout.js';

/** What the compiled graph reduces: JMP at the given blocks (1-based, strictly increasing). */
export interface CompileOptions {
  blocks: readonly number[];
  keeps: readonly number[];
  strategy: Strategy;
  /** Required by the adaptive strategies. */
  tau?: number;
  proportionalAttention: boolean;
  heads: number;
}

/** Extra outputs of a compiled model, per reduction k (0-based; none where keep = 1): σ [B] and merged tokens [B]. */
export const compiledOutputs = (k: number) => ({ sigma: `jmp_sigma_${k}`, merged: `jmp_merged_${k}` });

const BIG = 1e4;
/** "To the end" for Slice (clamped by ONNX; exactly representable, unlike 2^63 − 1). */
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Splices JMP into the graph with standard ONNX operators (opset ≥ 13): importance from the
 * attention rows, TopK, cosine similarity by MatMul, the per-sample decision and the size-weighted
 * merge as a MatMul with a one-hot assignment; sizes flow on to a log-size attention bias. The token
 * count stays dynamic (K is computed from the running N). One session runs the whole model.
 */
export function compileJMP(model: ModelProto, layout: GraphLayout, o: CompileOptions): ModelProto {
  if (layout.opset < 13) {
    throw new UnsupportedModelError({ lookedFor: 'opset 13 or newer for the compiled graph', found: `opset ${layout.opset}` });
  }
  const b = new GraphBuilder(layout);
  const P = layout.protectedTokens;
  const T = layout.floatType;
  const nodes: NodeProto[] = [];
  const attr = {
    i: (name: string, i: number): AttributeProto => ({ name, type: 2, i }),
    ints: (name: string, ints: number[]): AttributeProto => ({ name, type: 7, ints }),
    f: (name: string, f: number): AttributeProto => ({ name, type: 1, f }),
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
  const toFloat = (x: string) => (T === DataType.FLOAT ? x : op('Cast', [x], [attr.i('to', DataType.FLOAT)]));
  const toT = (x: string) => (T === DataType.FLOAT ? x : op('Cast', [x], [attr.i('to', T)]));
  const f = (v: number) => b.float32([v], []);

  // keep = 1 reduces nothing: such blocks get no nodes at all (and no statistics outputs).
  const reductionAt = new Map(
    o.blocks.flatMap((block, k) => (o.keeps[k]! < 1 ? [[layout.blocks[block - 1]!.attentionResidual, k] as const] : [])),
  );
  const renamed = new Map<string, string>();
  const extraOutputs: ValueInfoProto[] = [];
  let sizes: string | undefined; // [B, N] float32, after the latest reduction
  let logBias: string | undefined; // [B, 1, 1, N] in T

  const emitReduction = (k: number, block: GraphLayout['blocks'][number]): string => {
    const X = block.attentionResidual;
    const keep = o.keeps[k]!;
    // Sizes before the first reduction: ones [B, N].
    const shapeX = op('Shape', [X]);
    const BN = slice(shapeX, 0, 2, 0);
    const s = sizes ?? op('ConstantOfShape', [BN], [{ name: 'value', type: 4, t: { dims: [1], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.of(1).buffer) } }]);
    // K = ceil(keep · (N − P) − 1e-9), M0 = N − P.
    const N = slice(shapeX, 1, 2, 0);
    const M0 = op('Sub', [N, b.int64([P])]);
    const Kf = op('Ceil', [op('Sub', [op('Mul', [op('Cast', [M0], [attr.i('to', DataType.FLOAT)]), f(keep)]), f(1e-9)])]);
    const K = op('Cast', [Kf], [attr.i('to', DataType.INT64)]);
    const Mf = op('Max', [op('Sub', [op('Cast', [M0], [attr.i('to', DataType.FLOAT)]), Kf]), f(1)]);
    // Importance of the patch tokens: protected rows of the attention averaged over heads and rows.
    const imp = reduce('ReduceMean', toFloat(slice(block.probs, 0, P, 2)), [1, 2], 0); // [B, N]
    const a = slice(imp, P, INT64_MAX, 1); // [B, M0]
    const topi = op('TopK', [a, K], [attr.i('axis', 1), attr.i('largest', 1), attr.i('sorted', 1)], 'jmp/TopK');
    const topIdx = topi + '_idx';
    nodes[nodes.length - 1]!.output = [topi, topIdx];
    const zeros = op('Sub', [a, a]);
    const ones = op('ConstantOfShape', [op('Shape', [topIdx])], [{ name: 'value', type: 4, t: { dims: [1], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.of(1).buffer) } }]);
    const mask = op('ScatterElements', [zeros, topIdx, ones], [attr.i('axis', 1)]); // 1 = critical
    const nc = op('Sub', [f(1), mask]);
    const rank = op('Sub', [op('CumSum', [mask, b.int64([1], [])]), f(1)]); // position among the critical tokens
    // Which non-critical tokens merge (w), and into which critical token.
    let w: string;
    let tgt = op('Mul', [mask, rank]);
    let sigma = op('Mul', [op('ReduceSum', [a, b.int64([1])], [attr.i('keepdims', 0)]), f(Number.NaN)]); // NaN [B] when unused
    if (o.strategy !== 'prune') {
      const keysMean = reduce('ReduceMean', toFloat(op('Reshape', [block.keys, b.int64([0, 0, o.heads, -1])])), [2], 0); // [B, N, d]
      const km = slice(keysMean, P, INT64_MAX, 1);
      const norm = op('Sqrt', [reduce('ReduceSum', op('Mul', [km, km]), [2], 1)]);
      const unit = op('Div', [km, op('Add', [norm, f(1e-30)])]);
      const sim = op('MatMul', [unit, op('Transpose', [unit], [attr.ints('perm', [0, 2, 1])])]); // [B, M0, M0]
      const masked = op('Add', [sim, op('Mul', [op('Sub', [unsqueeze(mask, [1]), f(1)]), f(BIG)])]);
      const best = reduce('ReduceMax', masked, [2], 0); // [B, M0]
      const pi = op('ArgMax', [masked], [attr.i('axis', 2), attr.i('keepdims', 0), attr.i('select_last_index', 0)]);
      tgt = op('Add', [tgt, op('Mul', [nc, op('GatherElements', [rank, pi], [attr.i('axis', 1)])])]);
      sigma = op('Div', [op('ReduceSum', [op('Mul', [best, nc]), b.int64([1])], [attr.i('keepdims', 0)]), Mf]); // [B]
      if (o.strategy === 'merge') w = nc;
      else if (o.strategy === 'adaptive') w = op('Mul', [nc, unsqueeze(op('Cast', [op('GreaterOrEqual', [sigma, f(o.tau!)])], [attr.i('to', DataType.FLOAT)]), [1])]);
      else w = op('Mul', [nc, op('Cast', [op('GreaterOrEqual', [best, f(o.tau!)])], [attr.i('to', DataType.FLOAT)])]);
    } else w = zeros;
    // Size-weighted merge: A[b, k, j] = ω_j if token j goes to critical k; X' = A·X / A·1.
    const sp = slice(s, P, INT64_MAX, 1);
    const omega = op('Mul', [op('Add', [mask, w]), sp]);
    const onehot = op('OneHot', [op('Cast', [tgt], [attr.i('to', DataType.INT64)]), K, b.float32([0, 1])], [attr.i('axis', -1)]); // [B, M0, K]
    const A = op('Transpose', [op('Mul', [onehot, unsqueeze(omega, [2])])], [attr.ints('perm', [0, 2, 1])]); // [B, K, M0]
    const S = reduce('ReduceSum', A, [2], 0); // [B, K]
    const Xp = toFloat(slice(X, P, INT64_MAX, 1));
    const merged = op('Div', [op('MatMul', [A, Xp]), unsqueeze(S, [2])]);
    const Xout = op('Concat', [slice(X, 0, P, 1), toT(merged)], [attr.i('axis', 1)], `jmp/reduced_${k}`);
    sizes = op('Concat', [slice(s, 0, P, 1), S], [attr.i('axis', 1)]);
    if (o.proportionalAttention) logBias = toT(unsqueeze(op('Log', [sizes]), [1, 2]));
    // Statistics outputs.
    const names = compiledOutputs(k);
    nodes.push(b.node('Identity', [sigma], names.sigma), b.node('Identity', [reduce('ReduceSum', w, [1], 0)], names.merged));
    for (const name of [names.sigma, names.merged]) {
      extraOutputs.push({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch_size' }] } } } });
    }
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
