import { UnsupportedModelError } from '../errors.js';
import { DataType, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto.js';
import { GraphBuilder } from './builder.js';
import type { CompileOptions } from './compile-options.js';
import { graphMethod } from './methods/registry.js';
import { sliceHeadTokens } from './head-only.js';
import { producerIndex, renameInputs } from './splice.js';
import { INT64_MAX, graphOps } from './ops.js';
import { tauAt } from '../option-values.js';
import type { GraphLayout } from './layout.js';
import type { ReductionInput } from './methods/types.js';

export type { CompileOptions } from './compile-options.js';
export { jmpIndexForm } from './methods/jmp/method.js';

/**
 * Extra outputs of a compiled model, per reduction k (0-based; none where keep = 1 / r = 0):
 * - JMP: σ [B] and merged tokens [B];
 * - with `trackSources`: `dest` [B, M] float, for each patch token j of the input: the output
 *   patch position d ≥ 0 it was kept at, −1 if pruned, or −2 − d if merged (fused, EViT) into
 *   output patch position d.
 */
export const compiledOutputs = (k: number) => ({ sigma: `jmp_sigma_${k}`, merged: `jmp_merged_${k}`, dest: `jmp_dest_${k}`, grid: `jmp_grid_${k}` });

/**
 * Splices the reduction into the graph with standard ONNX operators, at the model's opset (≥ 11): importance from
 * the attention rows, TopK, cosine similarity by MatMul, the per-sample decision, and the
 * size-weighted merge as a MatMul with a one-hot assignment; sizes flow on to a log-size attention
 * bias. The token count stays dynamic (K is computed from the running N). One session runs the
 * whole model.
 */
export function compileJMP(model: ModelProto, layout: GraphLayout, o: CompileOptions): ModelProto {
  if (layout.opset < 11) {
    throw new UnsupportedModelError({ lookedFor: 'opset 11 or newer for the compiled graph', found: `opset ${layout.opset}` });
  }
  const method = graphMethod(o.method);
  const amounts = (method.amount === 'r' ? o.rs : o.keeps)!;
  const b = new GraphBuilder(layout);
  const P = layout.protectedTokens;
  const nodes: NodeProto[] = [];
  const g = graphOps(b, layout, o.heads, nodes, o.indexOps ?? false);
  const { attr, op, slice, unsqueeze, toT, onesOfShape, toFloat, cast, gatherRows } = g;
  const reductionAt = new Map(
    o.blocks.flatMap((block, k) => {
      const active = method.reduces(amounts[k]!);
      // keep = 1 / r = 0 reduces nothing: such blocks get no nodes at all (and no statistics outputs).
      return active ? [[layout.blocks[block - 1]!.attentionResidual, k] as const] : [];
    }),
  );
  const renamed = new Map<string, string>();
  const extraOutputs: ValueInfoProto[] = [];
  /**
   * The full token grid of `reduced` [B, N, C] (into `nodes`): protected rows as they are, each
   * original patch token's row taken from the token it ended in (its own, the one it merged into, its
   * match if it was pruned, the fused token), by `at` [B, M0] int64.
   */
  const grid = (reduced: string, at: string, output: string, offset?: string): void => {
    const rows = gatherRows(slice(reduced, P, INT64_MAX, 1), at); // [B, M0, C]
    nodes.push(b.node('Concat', [slice(reduced, 0, P, 1), offset ? op('Add', [rows, toT(offset)]) : rows], output, [attr.i('axis', 1)]));
  };
  /**
   * The full token grid at a per-token output (`last_hidden_state`), inserted right after the node
   * that makes the output, which keeps its rows for the graph's other readers (CLIP's pooled class token).
   */
  const restoreGrid = (list: NodeProto[], output: string, at: string): NodeProto[] => {
    const i = producerIndex(list, output, 'token grid');
    const reducedName = b.name('jmp/reduced_tokens');
    const producer = { ...list[i]!, output: list[i]!.output.map((o) => (o === output ? reducedName : o)) };
    nodes.length = 0;
    grid(reducedName, at, output);
    return [...list.slice(0, i), producer, ...nodes, ...renameInputs(list.slice(i + 1), output, reducedName)];
  };
  /**
   * The head's mean over the patch tokens (DINOv2), weighted by the tokens' sizes: Σ s_j x_j / Σ s_j,
   * the mean over the original patches it stands for (with pruned ones left out).
   */
  const weightPatchMean = (list: NodeProto[], mean: NonNullable<GraphLayout['patchMean']>, s: string): NodeProto[] => {
    const at = list.findIndex((n) => n.name === mean.node);
    if (at < 0) throw new Error(`internal error: no node '${mean.node}' (patch mean)`);
    const original = list[at]!;
    nodes.length = 0;
    const w = toT(slice(s, P, INT64_MAX, 1)); // [B, M]
    const sum = op('MatMul', [unsqueeze(w, [1]), mean.input]); // [B, 1, C]
    const total = unsqueeze(g.reduce('ReduceSum', w, [1], 1), [2]); // [B, 1, 1]
    const weighted = op('Div', [sum, total]);
    nodes.push(b.node('Identity', [mean.keepdims ? weighted : g.squeeze(weighted, [1])], original.output[0]!));
    return [...list.slice(0, at), ...nodes, ...list.slice(at + 1)];
  };
  let sizes: string | undefined; // [B, N] float32, after the latest reduction
  // restoring the token grid of a per-token output: for each original patch token, the patch row
  // of the current tokens its state comes from [B, M0 original] int64
  let restoreAt: string | undefined;
  const restores = layout.perTokenOutput !== null || layout.gridReadouts.length > 0;
  // a dense neck's readers of block outputs (Depth Anything): the restored grid `jmp_grid_{block}` instead of the reduced tokens
  const readers = new Map(layout.gridReadouts.flatMap((r) => r.consumers.map((c) => [c, r.tensor] as const)));
  const readout = new Map(layout.gridReadouts.map((r) => [r.tensor, r.block]));
  const gridOf = new Map<string, string>();
  // the residual grid restore: each original patch token's state minus the state of the token it ended in, [B, M0 original, C] float32
  const residual = layout.gridReadouts.length > 0 && o.gridRestore === 'residual';
  let offset: string | undefined;
  let logBias: string | undefined; // [B, 1, 1, N] in T ([B·H, 1, N] for CLIP)
  let poolingBias: string | undefined; // [B·H, 1, N]: SigLIP's pooling head

  const emitReduction = (k: number, block: GraphLayout['blocks'][number]): string => {
    const X = block.attentionResidual;
    const shapeX = op('Shape', [X]);
    const s = sizes ?? onesOfShape(slice(shapeX, 0, 2, 0)); // sizes before the first reduction: ones [B, N]
    const M0 = op('Sub', [slice(shapeX, 1, 2, 0), b.int64([P])]);
    let Xp: string | undefined;
    let sp: string | undefined;
    const x: ReductionInput = {
      block,
      shapeX,
      X,
      s,
      M0,
      get Xp() {
        return (Xp ??= toFloat(slice(X, P, INT64_MAX, 1))); // [B, M0, C]
      },
      get sp() {
        return (sp ??= slice(s, P, INT64_MAX, 1));
      },
    };
    const r = method.emit(g, x, { amount: amounts[k]!, tau: tauAt(o.tau, k) }, o);
    const previousAt = restoreAt; // original token → its token before this reduction
    const { dest } = r;
    if (r.stats) {
      const names = compiledOutputs(k);
      nodes.push(b.node('Identity', [r.stats.sigma], names.sigma), b.node('Identity', [r.stats.merged], names.merged));
      for (const name of [names.sigma, names.merged]) {
        extraOutputs.push({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch_size' }] } } } });
      }
    }
    let map: string | undefined;
    if (restores) {
      map = cast(r.restore(), DataType.INT64); // [B, M0 of this reduction]
      restoreAt = restoreAt ? op('GatherElements', [map, restoreAt], [attr.i('axis', 1)]) : map;
    }
    const tail = r.tail ? [r.tail.tokens] : [];
    const tailSizes = r.tail ? [r.tail.sizes] : [];
    if (o.trackSources) {
      const name = compiledOutputs(k).dest;
      nodes.push(b.node('Identity', [dest()], name));
      extraOutputs.push({
        name,
        type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch_size' }, { dimParam: `jmp_patches_${k}` }] } } },
      });
    }
    let Xout: string;
    if (r.full) {
      Xout = r.full.tokens;
      sizes = r.full.sizes;
    } else {
      Xout = op('Concat', [slice(X, 0, P, 1), toT(r.reduced!), ...tail], [attr.i('axis', 1)], `jmp/reduced_${k}`);
      sizes = op('Concat', [slice(s, 0, P, 1), r.S!, ...tailSizes], [attr.i('axis', 1)]);
    }
    if (residual) {
      // each token's state minus the state of the token it went into (0 where it stayed), by the original tokens
      const delta = op('Sub', [x.Xp, gatherRows(toFloat(slice(Xout, P, INT64_MAX, 1)), map!)]); // [B, M0 of this reduction, C]
      const own = previousAt ? gatherRows(delta, previousAt) : delta;
      offset = offset ? op('Add', [offset, own]) : own;
    }
    if (o.proportionalAttention) {
      const bias4 = toT(unsqueeze(op('Log', [sizes]), [1, 2])); // [B, 1, 1, N]
      // scores with the heads folded into the batch (CLIP's blocks, SigLIP's pooling head): the bias repeated per head, [B·H, 1, N]
      const folded =
        layout.attention === 'clip' || layout.poolingSoftmax
          ? op('Reshape', [g.squeeze(op('Expand', [bias4, b.int64([1, o.heads, 1, 1])]), [2]), b.int64([-1, 1, 0])])
          : undefined;
      logBias = layout.attention === 'clip' ? folded! : bias4;
      poolingBias = folded;
    }
    return Xout;
  };

  const graph = model.graph;
  const out: NodeProto[] = [];
  const softmaxes = new Set(layout.blocks.map((bl) => bl.softmax));
  for (const node of graph.node) {
    const reads = readers.has(node.name ?? '') ? readers.get(node.name ?? '') : undefined;
    const input = node.input.map((t) => (t === reads ? (gridOf.get(t) ?? t) : (renamed.get(t) ?? t)));
    const bias =
      node.opType !== 'Softmax' ? undefined : softmaxes.has(node.name ?? '') ? logBias : node.name === layout.poolingSoftmax ? poolingBias : undefined;
    if (bias) {
      const biased = b.name('jmp/biased_scores');
      out.push(b.node('Add', [input[0]!, bias], biased), { ...node, input: [biased] });
    } else out.push(input.some((t, i) => t !== node.input[i]) ? { ...node, input } : node);
    for (const t of node.output) {
      const block = readout.get(t);
      if (block !== undefined && restoreAt) {
        nodes.length = 0;
        grid(t, restoreAt, compiledOutputs(block).grid, residual ? offset : undefined);
        out.push(...nodes);
        gridOf.set(t, compiledOutputs(block).grid);
      }
      const k = reductionAt.get(t);
      if (k === undefined) continue;
      nodes.length = 0;
      const reduced = emitReduction(k, layout.blocks[o.blocks[k]! - 1]!);
      out.push(...nodes);
      renamed.set(t, reduced);
    }
  }
  let node = out;
  if (layout.patchMean && sizes) node = weightPatchMean(node, layout.patchMean, sizes);
  if (layout.perTokenOutput && restoreAt) node = restoreGrid(node, layout.perTokenOutput, restoreAt);
  if (o.headOnly) {
    if (!layout.headReadsProtectedOnly) throw new Error('internal error: headOnly on a graph whose head reads more than the protected tokens');
    const residual = layout.blocks.at(-1)!.attentionResidual;
    node = sliceHeadTokens(out, renamed.get(residual) ?? residual, P, b);
  }
  return {
    ...model,
    producerName: 'jmp-transformers-patch (compiled)',
    graph: { ...graph, node, initializer: [...graph.initializer, ...b.initializers], output: [...graph.output, ...extraOutputs], valueInfo: [] },
  };
}
