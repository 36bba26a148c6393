import { UnsupportedModelError } from '../errors.js';
import { DataType, toNumber, type ModelProto, type NodeProto } from '../onnx/proto.js';
import {
  architecture,
  blockScope,
  SCHEMES,
  SCOPES_TEXT,
  SOFTMAX_NAMES_TEXT,
  softmaxBlock,
  type Architecture,
  type ArchitectureSpec,
  type AttentionForm,
  type Scheme,
} from './architectures/index.js';
import { constantInts, indexGraph, type GraphIndex } from './graph-index.js';

export type { Architecture } from './architectures/index.js';
export { indexGraph, type GraphIndex } from './graph-index.js';

/** Tensors of one transformer block, found by their scoped names and checked by structure. */
export interface BlockTensors {
  /** 0-based block index. */
  index: number;
  /** Attention logits entering the block's Softmax `[B, H, N, N]`. */
  scores: string;
  /** Attention probabilities `[B, H, N, N]` (`[B·H, N, N]` for `attention: 'clip'`). */
  probs: string;
  /** The block's attention Softmax node. */
  softmax: string;
  /** Key projection output `[B, N, C]` (heads packed). */
  keys: string;
  /** Token states after the attention residual `[B, N, C]`: where reductions happen. */
  attentionResidual: string;
  /** Block output `[B, N, C]`. */
  output: string;
}

/** What this package knows about the graph of a ViT-family model. */
export interface GraphLayout {
  /** The backbone (./architectures: its config.json `model_type`). */
  root: Architecture;
  blocks: BlockTensors[];
  /** 1 (CLS) or 2 (CLS, distillation). */
  protectedTokens: number;
  /** Element type of the residual stream: FLOAT or FLOAT16. */
  floatType: number;
  /** Width C of the residual stream (from the position embeddings). */
  hidden: number;
  /** Tokens N entering the first block, protected ones included (from the position embeddings). */
  tokens: number;
  /** Default-domain opset version. */
  opset: number;
  /** How the attention scores are written (see {@link AttentionForm}). */
  attention: AttentionForm;
  inputName: string;
  outputName: string;
  /**
   * The head reads only the protected tokens of the last block's output (through the final
   * LayerNorm, a Gather of CLS and of the distillation token), as every Hugging Face ViT / DeiT
   * image classifier does: then the last block's MLP need not run on the other tokens.
   */
  headReadsProtectedOnly: boolean;
  /**
   * The head's mean over the patch tokens (DINOv2: the class token concatenated with the mean of
   * the patch tokens of the final LayerNorm): the `ReduceMean` node's name, its input (the Slice of
   * the tokens from `P` on) and whether it keeps the token axis. With merged tokens it must be
   * weighted by their sizes. Null when the head has none.
   */
  patchMean: { node: string; input: string; keepdims: boolean } | null;
  /**
   * A graph output with one row per token (`last_hidden_state`, what image-feature-extraction
   * returns): the compiled graph restores the full token grid there. Null when there is none.
   */
  perTokenOutput: string | null;
  /**
   * The blocks whose output a dense-prediction neck reads besides the next block (Depth Anything
   * reads several: `out_indices`): the block's output tensor and the nodes outside the blocks that
   * read it. The compiled graph gives those nodes the full token grid, restored as at a per-token
   * output. Empty for every other architecture.
   */
  gridReadouts: { block: number; tensor: string; consumers: string[] }[];
  /**
   * SigLIP's pooling head: the Softmax of its probe's attention over every token, `[B·H, 1, N]`
   * (heads folded into the batch, as torch exports nn.MultiheadAttention). With merged tokens it
   * gets the log-size bias too (proportional attention). Null when the head has none.
   */
  poolingSoftmax: string | null;
  /**
   * Dynamically quantized (q8: DynamicQuantizeLinear): each MatMul's input scale comes from the
   * values it is given, so running a block on fewer tokens changes the rounding of the others.
   */
  dynamicQuantization: boolean;
}

/** The first naming scheme that recognises a graph's attention Softmax nodes, and each block's Softmax. */
function findBlocks(
  nodes: readonly NodeProto[],
  index: GraphIndex,
): { spec: ArchitectureSpec<Architecture>; scheme: Scheme; softmaxes: Map<number, NodeProto> } {
  const softmaxes = new Map<number, NodeProto>();
  let found: (typeof SCHEMES)[number] | undefined;
  for (const n of nodes) {
    if (n.opType !== 'Softmax') continue;
    const name = n.name ?? '';
    const at = SCHEMES.map((s) => ({ ...s, block: softmaxBlock(s.scheme, name) })).find((s) => s.block !== null && (s.scheme.accepts?.(index) ?? true));
    if (!at) continue;
    if (found && found.scheme !== at.scheme) {
      throw new UnsupportedModelError({
        lookedFor: `one backbone scope (${SCOPES_TEXT})`,
        found: `both ${found.scheme.scope || 'no scope'} and ${at.scheme.scope || 'no scope'}`,
      });
    }
    found = at;
    softmaxes.set(at.block!, n);
  }
  if (!found || softmaxes.size === 0) {
    const ops = new Set(nodes.map((n) => n.opType));
    const sample = nodes
      .slice(0, 3)
      .map((n) => n.name || n.opType)
      .join(', ');
    throw new UnsupportedModelError({
      lookedFor: SOFTMAX_NAMES_TEXT,
      found: ops.has('Softmax')
        ? `Softmax nodes with other names (first nodes: ${sample})`
        : `no Softmax node at all (${nodes.length} nodes, first: ${sample})`,
    });
  }
  const refusal = found.scheme.refuse?.(index);
  if (refusal) throw new UnsupportedModelError(refusal);
  return { spec: architecture(found.architecture), scheme: found.scheme, softmaxes };
}

/**
 * Finds the blocks of a ViT-family model exported by Optimum (or the same layout), by the scoped
 * names of one of the architectures' schemes (./architectures), and confirms each with a
 * structural check.
 */
export function findLayout(model: ModelProto, index: GraphIndex = indexGraph(model)): GraphLayout {
  const { graph } = model;
  const nodes = graph.node;
  const { spec, scheme, softmaxes } = findBlocks(nodes, index);
  const root = spec.name;
  const depth = softmaxes.size;
  const blocks: BlockTensors[] = [];
  const forms = new Set<AttentionForm>();
  for (let i = 0; i < depth; i++) {
    const softmax = softmaxes.get(i);
    if (!softmax) {
      throw new UnsupportedModelError({ lookedFor: `blocks 0…${depth - 1} numbered without gaps`, found: `no Softmax in block ${i}` });
    }
    const scope = blockScope(scheme, i);
    const axis = softmax.attribute.find((a) => a.name === 'axis');
    const axisValue = axis ? toNumber(axis.i) : -1;
    if (axisValue !== -1 && axisValue !== spec.attention.softmaxAxis) {
      throw new UnsupportedModelError({ lookedFor: `${scope} Softmax over the last axis`, found: `axis ${axisValue}` });
    }
    const residualAdd = nodes[index.byName.get(`${scope}/${scheme.residual}`) ?? -1];
    const outputAdd = nodes[index.byName.get(`${scope}/${scheme.output}`) ?? -1];
    const keys = `${scope}/${scheme.keys}`;
    const blockInput = i === 0 ? scheme.firstInput : blocks[i - 1]!.output;
    const problems: string[] = [];
    if (!residualAdd || residualAdd.opType !== 'Add' || !residualAdd.input.includes(blockInput)) {
      problems.push(`attention residual '${scope}/${scheme.residual}' adding the block input '${blockInput}'`);
    }
    if (!outputAdd || outputAdd.opType !== 'Add' || !residualAdd || !outputAdd.input.includes(residualAdd.output[0]!)) {
      problems.push(`MLP residual '${scope}/${scheme.output}' adding the attention residual`);
    }
    if (!index.producer.has(keys)) problems.push(`key projection output '${keys}'`);
    // the probabilities (through no-op Casts, as SigLIP's export has them) times the values
    let probsOut = softmax.output[0]!;
    for (
      let cast = nodes.find((n) => n.opType === 'Cast' && n.input[0] === probsOut);
      cast;
      cast = nodes.find((n) => n.opType === 'Cast' && n.input[0] === probsOut)
    )
      probsOut = cast.output[0]!;
    const probsConsumer = nodes.find((n) => n.opType === 'MatMul' && n.input[0] === probsOut);
    if (!probsConsumer) problems.push(`a MatMul of the attention probabilities with the values in ${scope}`);
    const form = spec.attention.form(softmax, nodes, index);
    if (!form) {
      const fed = nodes[index.producer.get(softmax.input[0]!) ?? -1];
      problems.push(`attention scores in ${scope} written as ${spec.attention.expected}, found a Softmax fed by ${fed ? fed.opType : 'no node'}`);
    } else forms.add(form);
    if (problems.length > 0) {
      throw new UnsupportedModelError({
        lookedFor: problems.join('; '),
        found: `a graph where block ${i} does not have that structure`,
      });
    }
    blocks.push({
      index: i,
      scores: softmax.input[0]!,
      probs: softmax.output[0]!,
      softmax: softmax.name ?? '',
      keys,
      attentionResidual: residualAdd!.output[0]!,
      output: outputAdd!.output[0]!,
    });
  }

  // Protected tokens: the embeddings concatenate CLS (+ distillation) with the patch tokens (or, where the head allows it, none).
  const embAdd = nodes[index.byName.get(`${scheme.scope}/embeddings/Add`) ?? -1];
  const concat = embAdd && embAdd.input.map((t) => nodes[index.producer.get(t) ?? -1]).find((n) => n?.opType === 'Concat');
  if (spec.head.classToken === 'optional' && embAdd && !concat) {
    // no class token: patches + positions
  } else if (!concat || concat.input.length < 2 || concat.input.length > 3) {
    throw new UnsupportedModelError({
      lookedFor: `'${scheme.scope}/embeddings/Add' adding position embeddings to a Concat of CLS (, distillation) and patch tokens`,
      found: concat ? `a Concat of ${concat.input.length} inputs` : 'no such Concat',
    });
  }
  const protectedTokens = concat ? concat.input.length - 1 : 0;

  const inputs = graph.input.filter((v) => !index.initializers.has(v.name)).map((v) => v.name);
  const inputName = inputs[0];
  const outputs = graph.output.map((v) => v.name);
  // features per token (image-feature-extraction reads them): the compiled graph gives the full
  // token grid back there (each token's state from the token it ended in); nothing else may read fewer rows
  const perTokenOutput = outputs.includes('last_hidden_state') ? 'last_hidden_state' : null;
  const gridReadouts = spec.io === 'dense' ? findGridReadouts(nodes, blocks, `${scheme.scope}${scheme.blocks}`) : [];
  if (spec.io === 'dense') {
    if (inputName !== 'pixel_values' || inputs.length !== 1 || graph.output.length !== 1 || gridReadouts.length === 0) {
      throw new UnsupportedModelError({
        lookedFor: "one input 'pixel_values', one output (a depth map), and a neck reading block outputs",
        found: `inputs [${graph.input.map((v) => v.name).join(', ')}], outputs [${graph.output.map((v) => v.name).join(', ')}], ${gridReadouts.length} block outputs read outside the blocks`,
      });
    }
  } else if (spec.io === 'zero-shot') {
    // zero-shot models: the text inputs beside pixel_values, their four outputs (the text tower is left as it is)
    if (!inputs.includes('pixel_values')) {
      throw new UnsupportedModelError({ lookedFor: "the input 'pixel_values'", found: `inputs [${inputs.join(', ')}]` });
    }
  } else if (inputName !== 'pixel_values' || inputs.length !== 1 || (graph.output.length !== 1 && !perTokenOutput)) {
    throw new UnsupportedModelError({
      lookedFor: "one input 'pixel_values' and one output (logits), or per-token features (last_hidden_state)",
      found: `inputs [${graph.input.map((v) => v.name).join(', ')}], outputs [${graph.output.map((v) => v.name).join(', ')}]`,
    });
  }
  // width and element type: the scheme's initializer ([1, N, C] position embeddings, [1, 1, C] class token, [N, C] position table)
  const { name: widthName, tokens: tokensAxis, hidden: hiddenAxis } = scheme.width;
  // (dynamically quantized exports may keep it as `…_quantized` uint8, the residual stream float32)
  const plainPos = model.graph.initializer.find((t) => t.name === widthName);
  const pos = plainPos ?? model.graph.initializer.find((t) => t.name === `${widthName}_quantized`);
  const floatType = plainPos?.dataType ?? DataType.FLOAT;
  const hidden = toNumber(pos?.dims[hiddenAxis]);
  if (!pos || pos.dims.length !== hiddenAxis + 1 || !(hidden > 0)) {
    const shape = hiddenAxis === 1 ? '[N, C]' : '[1, N, C]';
    throw new UnsupportedModelError({
      lookedFor: `an initializer '${widthName}' ${shape}`,
      found: pos ? `dims [${pos.dims.map(toNumber).join(', ')}]` : 'none',
    });
  }
  const tokens = typeof tokensAxis === 'number' ? toNumber(pos.dims[tokensAxis]) : tokensAxis(model, hidden, scheme.scope);
  const opset = toNumber(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < 11) {
    throw new UnsupportedModelError({
      lookedFor: 'ONNX opset 11 or newer',
      found: opset === 0 ? 'no default-domain opset import (a truncated file?)' : `opset ${opset}`,
    });
  }
  if (forms.size > 1) throw new UnsupportedModelError({ lookedFor: 'one form of attention in every block', found: 'eager and SDPA attention mixed' });
  const headReadsProtectedOnly = readsOnlyFirstTokens(model, index, blocks[depth - 1]!.output, scheme.headScope, protectedTokens);
  return {
    root,
    blocks,
    protectedTokens,
    floatType,
    hidden,
    tokens,
    opset,
    attention: [...forms][0]!,
    inputName: 'pixel_values',
    outputName: graph.output[0]!.name,
    headReadsProtectedOnly,
    patchMean: findPatchMean(model, index, scheme.headScope, protectedTokens),
    perTokenOutput,
    gridReadouts,
    poolingSoftmax: spec.head.poolingSoftmax?.(nodes) ?? null,
    dynamicQuantization: nodes.some((n) => n.opType === 'DynamicQuantizeLinear'),
  };
}

/**
 * Whether everything that reads `tensor` (the last block's output) reads only its first `P` tokens:
 * through per-token nodes of the final LayerNorm (`scope`) to Gathers on the token axis with
 * constant indices below `P`. Anything else (a graph output, a mean over the tokens, another
 * index) is a no.
 */
function readsOnlyFirstTokens(model: ModelProto, index: GraphIndex, tensor: string, scope: string, P: number): boolean {
  const nodes = model.graph.node;
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(model.graph.output.map((v) => v.name));
  const stack = [tensor];
  const seen = new Set(stack);
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (outputs.has(t)) return false;
    for (const c of consumers.get(t) ?? []) {
      if ((c.name ?? '').startsWith(scope) && c.opType !== 'Gather' && c.opType !== 'Slice' && c.opType !== 'Reshape' && c.opType !== 'Transpose') {
        // the final LayerNorm, decomposed (ReduceMean over the last axis, Sub, Pow, Sqrt, Div, Mul, Add) or one node
        const reduceAxes = c.attribute.find((a) => a.name === 'axes')?.ints?.map(toNumber) ?? constantInts(model, index, c.input[1]);
        if (c.opType.startsWith('Reduce') && !(reduceAxes?.length === 1 && reduceAxes[0] === -1)) return false;
        for (const o of c.output) {
          if (seen.has(o)) continue;
          seen.add(o);
          stack.push(o);
        }
        continue;
      }
      const axis = toNumber(c.attribute.find((a) => a.name === 'axis')?.i ?? 0);
      const at = constantInts(model, index, c.input[1]);
      if (c.opType === 'Gather' && c.input[0] === t && axis === 1 && at !== null && at.length > 0 && at.every((i) => i >= 0 && i < P)) continue;
      return false;
    }
  }
  return true;
}

/** The block outputs read by nodes outside the blocks (their scope `blocksPrefix`), with those nodes. */
function findGridReadouts(nodes: readonly NodeProto[], blocks: readonly BlockTensors[], blocksPrefix: string): GraphLayout['gridReadouts'] {
  const byTensor = new Map(blocks.map((b) => [b.output, { block: b.index, tensor: b.output, consumers: [] as string[] }]));
  for (const n of nodes) {
    if ((n.name ?? '').startsWith(blocksPrefix)) continue;
    for (const t of new Set(n.input)) byTensor.get(t)?.consumers.push(n.name ?? '');
  }
  const readouts = [...byTensor.values()].filter((r) => r.consumers.length > 0);
  if (readouts.some((r) => r.consumers.includes(''))) {
    throw new UnsupportedModelError({ lookedFor: 'named nodes reading the block outputs', found: 'a node without a name' });
  }
  return readouts;
}

/** The head's mean over the patch tokens: ReduceMean over axis 1 of a Slice from token P on of the final LayerNorm's output. */
function findPatchMean(model: ModelProto, index: GraphIndex, scope: string, P: number): GraphLayout['patchMean'] {
  const nodes = model.graph.node;
  for (const mean of nodes) {
    if (mean.opType !== 'ReduceMean') continue;
    const slice = nodes[index.producer.get(mean.input[0] ?? '') ?? -1];
    if (!slice || slice.opType !== 'Slice' || !(nodes[index.producer.get(slice.input[0] ?? '') ?? -1]?.name ?? '').startsWith(scope)) continue;
    const axes = mean.attribute.find((a) => a.name === 'axes')?.ints?.map(toNumber) ?? constantInts(model, index, mean.input[1]);
    const [start] = constantInts(model, index, slice.input[1]) ?? [];
    const [axis] = constantInts(model, index, slice.input[3]) ?? [1];
    if (axes?.length !== 1 || axes[0] !== 1 || start !== P || axis !== 1) continue;
    const keepdims = toNumber(mean.attribute.find((a) => a.name === 'keepdims')?.i ?? 1) !== 0;
    return { node: mean.name ?? '', input: mean.input[0]!, keepdims };
  }
  return null;
}
