import { UnsupportedModelError } from '../errors.js';
import { DataType, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto.js';
import { GraphBuilder } from './builder.js';
import { sliceHeadTokens } from './head-only.js';
import { indexGraph, type GraphIndex, type GraphLayout } from './layout.js';

/** Names of the tensors a segment exchanges with the runner (all float32). */
export const IO = {
  pixels: 'pixel_values',
  /** Token states entering a segment `[B, N, C]`. */
  hiddenIn: 'jmp_hidden',
  /** log s `[B, N]`, the proportional-attention bias. */
  logSize: 'jmp_log_size',
  /** Token states at the next reduction point `[B, N, C]`. */
  hiddenOut: 'jmp_hidden_out',
  /** Protected rows of the attention at the reduction point, averaged over heads `[B, P, N]`. */
  rows: 'jmp_rows',
  /** Head-mean keys at the reduction point `[B, N, d]` (packed keys `[B, N, C]` with `packedKeys`). */
  keys: 'jmp_keys',
  logits: 'logits',
} as const;

/** One piece of the model between two reduction points. */
export interface Segment {
  model: ModelProto;
  /** Runs the blocks' attentions with the log-size bias input. */
  takesBias: boolean;
  /** Starts from `pixel_values` (first segment) or from `jmp_hidden`. */
  first: boolean;
  /** Ends with `logits` (last segment) or with the signals of the next reduction point. */
  last: boolean;
  /** 1-based block whose reduction follows this segment (undefined for the last). */
  reductionBlock?: number;
}

export interface SegmentOptions {
  /** 1-based, strictly increasing reduction blocks. */
  blocks: readonly number[];
  /** Add `log s` to the attention logits after the first reduction. */
  proportionalAttention: boolean;
  /** Attention heads (to average the keys over heads). */
  heads: number;
  /** The keys output is the packed keys [B, N, C] (for JMP's metric 'keys-per-head'), not their mean over heads. Default false. */
  packedKeys?: boolean;
  /** The last segment runs the last block's MLP on the protected tokens only (see `CompileOptions.headOnly`). Default false. */
  headOnly?: boolean;
}

/**
 * Cuts the model at the attention residual of each reduction block. Each segment is a standalone
 * ONNX model extracted by walking back from its outputs; the graph nodes are not modified except
 * for the Softmax inputs that receive the log-size bias.
 */
export function buildSegments(model: ModelProto, layout: GraphLayout, options: SegmentOptions): Segment[] {
  const index = indexGraph(model);
  const cuts = options.blocks.map((b) => layout.blocks[b - 1]!);
  const segments: Segment[] = [];
  for (let k = 0; k <= cuts.length; k++) {
    const start = k === 0 ? undefined : cuts[k - 1]!;
    const end = k < cuts.length ? cuts[k]! : undefined;
    const takesBias = options.proportionalAttention && k > 0;
    segments.push({
      model: extractSegment(model, index, layout, {
        start: start?.attentionResidual,
        end,
        takesBias,
        heads: options.heads,
        packedKeys: options.packedKeys ?? false,
        headOnly: !end && (options.headOnly ?? false),
      }),
      takesBias,
      first: k === 0,
      last: end === undefined,
      ...(end ? { reductionBlock: end.index + 1 } : {}),
    });
  }
  return segments;
}

interface ExtractSpec {
  /** Tensor that becomes the segment's input (undefined: pixel_values). */
  start: string | undefined;
  /** Block whose attention residual ends the segment (undefined: logits). */
  end: GraphLayout['blocks'][number] | undefined;
  takesBias: boolean;
  heads: number;
  packedKeys: boolean;
  /** Slice the protected tokens after the last block's attention residual (last segment). */
  headOnly: boolean;
}

function extractSegment(model: ModelProto, index: GraphIndex, layout: GraphLayout, spec: ExtractSpec): ModelProto {
  const graph = model.graph;
  const builder = new GraphBuilder(layout);
  const inputs: ValueInfoProto[] = [];
  const outputs: ValueInfoProto[] = [];
  const pre: NodeProto[] = [];
  const post: NodeProto[] = [];
  const P = layout.protectedTokens;

  // Inputs.
  const overrides = new Map<string, NodeProto>();
  if (spec.start) {
    inputs.push(valueInfo(IO.hiddenIn, ['batch', 'tokens', layout.hidden]));
    const node = builder.castFromFloat(IO.hiddenIn, spec.start);
    overrides.set(spec.start, node);
    pre.push(node);
  } else {
    inputs.push(graph.input.find((v) => v.name === layout.inputName)!);
  }
  let biasName: string | undefined;
  if (spec.takesBias) {
    inputs.push(valueInfo(IO.logSize, ['batch', 'tokens']));
    const cast = builder.castFromFloat(IO.logSize, 'jmp/log_size_cast');
    const unsq = builder.unsqueeze(cast.output[0]!, [1, 2], 'jmp/log_size_bias');
    pre.push(cast, unsq);
    biasName = unsq.output[0]!;
  }

  // Outputs.
  const roots: string[] = [];
  if (spec.end) {
    const end = spec.end;
    const hidden = builder.castToFloat(end.attentionResidual, IO.hiddenOut);
    // Rows p < P of the attention probabilities, averaged over heads: [B, H, N, N] → [B, H, P, N] → [B, P, N].
    const slice = builder.slice(end.probs, [0], [P], [2], 'jmp/rows_slice');
    const rowsMean = builder.reduceMean(slice.output[0]!, [1], 'jmp/rows_mean');
    const rows = builder.castToFloat(rowsMean.output[0]!, IO.rows);
    post.push(hidden, slice, rowsMean, rows);
    if (spec.packedKeys) {
      // Keys [B, N, C] as the projection gives them (the runner makes them unit-length per head)
      post.push(builder.castToFloat(end.keys, IO.keys));
    } else {
      // Keys [B, N, C] → [B, N, H, d] → mean over heads [B, N, d].
      const reshape = builder.reshape(end.keys, [0, 0, spec.heads, -1], 'jmp/keys_heads');
      const keysMean = builder.reduceMean(reshape.output[0]!, [2], 'jmp/keys_mean');
      post.push(reshape, keysMean, builder.castToFloat(keysMean.output[0]!, IO.keys));
    }
    outputs.push(
      valueInfo(IO.hiddenOut, ['batch', 'tokens', layout.hidden]),
      valueInfo(IO.rows, ['batch', P, 'tokens']),
      valueInfo(IO.keys, ['batch', 'tokens', spec.packedKeys ? layout.hidden : layout.hidden / spec.heads]),
    );
    roots.push(end.attentionResidual, end.probs, end.keys);
  } else {
    outputs.push(graph.output[0]!);
    roots.push(layout.outputName);
  }

  // Walk back from the outputs to the inputs, initializers and constants.
  const needed = new Set<number>();
  const used = new Set<string>();
  const stack = [...roots];
  const seen = new Set<string>(stack);
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (overrides.has(t)) continue;
    if (index.initializers.has(t)) {
      used.add(t);
      continue;
    }
    const p = index.producer.get(t);
    if (p === undefined) {
      if (t === layout.inputName && !spec.start) continue;
      if (t === '') continue;
      throw new UnsupportedModelError({
        lookedFor: `a graph where the blocks after '${spec.start ?? layout.inputName}' depend only on it`,
        found: `tensor '${t}' from outside the segment (it would be needed by ${spec.end ? `block ${spec.end.index + 1}` : 'the head'})`,
      });
    }
    if (needed.has(p)) continue;
    needed.add(p);
    for (const i of graph.node[p]!.input) {
      if (i && !seen.has(i)) {
        seen.add(i);
        stack.push(i);
      }
    }
  }

  const body: NodeProto[] = [];
  for (let i = 0; i < graph.node.length; i++) {
    if (!needed.has(i)) continue;
    const node = graph.node[i]!;
    if (biasName && node.opType === 'Softmax' && /\/attention\/attention\/Softmax$/.test(node.name ?? '')) {
      const add = builder.add(node.input[0]!, biasName, `${node.name}/jmp_bias`);
      body.push(add, { ...node, input: [add.output[0]!] });
    } else body.push(node);
  }

  let node = [...pre, ...body, ...post];
  if (spec.headOnly) {
    if (!layout.headReadsProtectedOnly) throw new Error('internal error: headOnly on a graph whose head reads more than the protected tokens');
    node = sliceHeadTokens(node, layout.blocks.at(-1)!.attentionResidual, P, builder);
  }
  const initializer = graph.initializer.filter((t) => used.has(t.name ?? '')).concat(builder.initializers);
  return {
    ...model,
    producerName: 'jmp-transformers-patch',
    graph: {
      name: 'jmp_segment',
      node,
      initializer,
      input: inputs,
      output: outputs,
      valueInfo: [],
    },
  };
}

/** A float32 graph input / output; dims are names (dynamic) or sizes. */
function valueInfo(name: string, dims: (string | number)[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}
