import { UnsupportedModelError } from '../errors.js';
import { DataType, toNumber, type ModelProto, type NodeProto } from '../onnx/proto.js';

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

/** The backbones this package finds, by the module scope of their Optimum exports. */
export type Architecture = 'vit' | 'deit' | 'dinov2' | 'clip' | 'siglip';

/**
 * Where each backbone's tensors are in an Optimum export: the module scope, each block's scope, its
 * attention Softmax and key projection, the attention residual and the MLP residual (DINOv2 scales
 * each branch by its layer scale before adding it), the first block's input, the initializer the
 * width (and the token count) come from, and the scope of the final LayerNorm.
 */
interface Family {
  scope: string;
  block: (i: number) => string;
  softmax: string;
  keys: string;
  residual: string;
  output: string;
  firstInput: string;
  /** The initializer, and the axes of its token count (null: read elsewhere) and width. */
  width: { name: string; tokens: number | null; hidden: number };
  headScope: string;
}
const HF_VIT = (root: string): Family => ({
  scope: `/${root}`,
  block: (i) => `/${root}/encoder/layer.${i}`,
  softmax: 'attention/attention/Softmax',
  keys: 'attention/attention/key/Add_output_0',
  residual: 'Add',
  output: 'output/Add',
  firstInput: `/${root}/embeddings/Add_output_0`,
  width: { name: `${root}.embeddings.position_embeddings`, tokens: 1, hidden: 2 },
  headScope: `/${root}/layernorm/`,
});
/**
 * DINOv2 exported as the bare `Dinov2Model` (image-feature-extraction): the model is the backbone,
 * so Optimum's scopes have no `/dinov2` prefix (`/encoder/layer.{i}/…`, `/embeddings/…`, `/layernorm/…`).
 */
const BARE_DINOV2: Family = {
  ...HF_VIT('dinov2'),
  scope: '',
  block: (i) => `/encoder/layer.${i}`,
  firstInput: '/embeddings/Add_output_0',
  output: 'Add_1',
  width: { name: 'embeddings.cls_token', tokens: null, hidden: 2 },
  headScope: '/layernorm/',
};
/**
 * CLIP's vision tower: its blocks are `layers.{i}` with `self_attn`, the embeddings go through
 * `pre_layrnorm` first, and the head reads the class token through `post_layernorm`.
 */
const CLIP_VISION: Family = {
  scope: '/vision_model',
  block: (i) => `/vision_model/encoder/layers.${i}`,
  softmax: 'self_attn/Softmax',
  keys: 'self_attn/k_proj/Add_output_0',
  residual: 'Add',
  output: 'Add_1',
  firstInput: '/vision_model/pre_layrnorm/Add_1_output_0',
  width: { name: 'vision_model.embeddings.position_embedding.weight', tokens: 0, hidden: 1 },
  headScope: '/vision_model/post_layernorm/',
};
const FAMILIES: Record<Architecture, Family> = {
  vit: HF_VIT('vit'),
  deit: HF_VIT('deit'),
  dinov2: { ...HF_VIT('dinov2'), output: 'Add_1', width: { name: 'dinov2.embeddings.cls_token', tokens: null, hidden: 2 } },
  clip: CLIP_VISION,
  // SigLIP's vision tower: CLIP's names, no class token, no pre-LayerNorm, 4-D eager attention
  // scaled after q·kᵀ, and a pooling head attending over every token
  siglip: { ...CLIP_VISION, firstInput: '/vision_model/embeddings/Add_output_0' },
};

/** What this package knows about a ViT / DeiT / DINOv2 image-classification graph. */
export interface GraphLayout {
  /** The backbone: `vit`, `deit`, `dinov2` or `clip` (CLIP's vision tower, scope `/vision_model`). */
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
  /**
   * How the attention scores are written: `'eager'` (Div(MatMul(q, kᵀ), √d), as HF's eager attention
   * exports), `'sdpa'` (MatMul(q·√s, kᵀ·√s), as torch ≥ 2.1 exports scaled_dot_product_attention) or
   * `'clip'` (CLIP's eager attention: q scaled before its projection is split into heads, the scores
   * a MatMul of [B·H, N, d] operands: scores and probabilities are [B·H, N, N], heads folded into the
   * batch axis).
   */
  attention: 'eager' | 'sdpa' | 'clip';
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

/** Index of a graph: which node produces each tensor, nodes by name. */
export interface GraphIndex {
  producer: Map<string, number>;
  byName: Map<string, number>;
  initializers: Set<string>;
}

export function indexGraph(model: ModelProto): GraphIndex {
  const producer = new Map<string, number>();
  const byName = new Map<string, number>();
  model.graph.node.forEach((n, i) => {
    for (const o of n.output) producer.set(o, i);
    if (n.name) byName.set(n.name, i);
  });
  return { producer, byName, initializers: new Set(model.graph.initializer.map((t) => t.name ?? '')) };
}

const SOFTMAX =
  /^\/(vit|deit|dinov2)\/encoder\/layer\.(\d+)\/attention\/attention\/Softmax$|^\/(vision_model)\/encoder\/layers\.(\d+)\/self_attn\/Softmax$|^()\/encoder\/layer\.(\d+)\/attention\/attention\/Softmax$/;

/**
 * Finds the blocks of a Hugging Face ViT / DeiT image classifier exported by Optimum (or the same
 * layout), by scoped names, and confirms each with a structural check.
 */
export function findLayout(model: ModelProto, index: GraphIndex = indexGraph(model)): GraphLayout {
  const { graph } = model;
  const nodes = graph.node;
  const softmaxes = new Map<number, NodeProto>();
  let root: Architecture | undefined;
  let bareBackbone = false;
  for (const n of nodes) {
    const m = SOFTMAX.exec(n.name ?? '');
    if (!m || n.opType !== 'Softmax') continue;
    // a bare backbone (no scope prefix): DINOv2's Dinov2Model, whose blocks end in `Add_1`
    const bare = m[5] !== undefined;
    // /vision_model: CLIP (a pre-LayerNorm before the blocks) or SigLIP (none)
    const found: Architecture = m[1] ? (m[1] as Architecture) : bare ? 'dinov2' : index.byName.has('/vision_model/pre_layrnorm/Add_1') ? 'clip' : 'siglip';
    if ((root && root !== found) || (root && bareBackbone !== bare)) {
      throw new UnsupportedModelError({
        lookedFor: 'one backbone scope (/vit, /deit, /dinov2 or /vision_model)',
        found: `both ${FAMILIES[root].scope || 'no scope'} and ${bare ? 'no scope' : FAMILIES[found].scope}`,
      });
    }
    root = found;
    bareBackbone = bare;
    softmaxes.set(Number(m[2] ?? m[4] ?? m[6]), n);
  }
  if (!root || softmaxes.size === 0) {
    const ops = new Set(nodes.map((n) => n.opType));
    const sample = nodes
      .slice(0, 3)
      .map((n) => n.name || n.opType)
      .join(', ');
    throw new UnsupportedModelError({
      lookedFor:
        "attention Softmax nodes named '/vit/encoder/layer.{i}/attention/attention/Softmax' (or /deit/…, /dinov2/…; CLIP's '/vision_model/encoder/layers.{i}/self_attn/Softmax') as Optimum exports Hugging Face ViT, DeiT, DINOv2 and CLIP",
      found: ops.has('Softmax')
        ? `Softmax nodes with other names (first nodes: ${sample})`
        : `no Softmax node at all (${nodes.length} nodes, first: ${sample})`,
    });
  }
  const depth = softmaxes.size;
  const blocks: BlockTensors[] = [];
  const forms = new Set<GraphLayout['attention']>();
  if (bareBackbone && !index.byName.has('/encoder/layer.0/Add_1')) {
    throw new UnsupportedModelError({
      lookedFor: "a bare DINOv2 backbone ('/encoder/layer.0/Add_1'; bare ViT / DeiT backbones are not recognised)",
      found: 'blocks without it',
    });
  }
  const family = bareBackbone ? BARE_DINOV2 : FAMILIES[root];
  for (let i = 0; i < depth; i++) {
    const softmax = softmaxes.get(i);
    if (!softmax) {
      throw new UnsupportedModelError({ lookedFor: `blocks 0…${depth - 1} numbered without gaps`, found: `no Softmax in block ${i}` });
    }
    const scope = family.block(i);
    const axis = softmax.attribute.find((a) => a.name === 'axis');
    const axisValue = axis ? toNumber(axis.i) : -1;
    if (axisValue !== -1 && axisValue !== (root === 'clip' ? 2 : 3)) {
      throw new UnsupportedModelError({ lookedFor: `${scope} Softmax over the last axis`, found: `axis ${axisValue}` });
    }
    const residualAdd = nodes[index.byName.get(`${scope}/${family.residual}`) ?? -1];
    const outputAdd = nodes[index.byName.get(`${scope}/${family.output}`) ?? -1];
    const keys = `${scope}/${family.keys}`;
    const blockInput = i === 0 ? family.firstInput : blocks[i - 1]!.output;
    const problems: string[] = [];
    if (!residualAdd || residualAdd.opType !== 'Add' || !residualAdd.input.includes(blockInput)) {
      problems.push(`attention residual '${scope}/${family.residual}' adding the block input '${blockInput}'`);
    }
    if (!outputAdd || outputAdd.opType !== 'Add' || !residualAdd || !outputAdd.input.includes(residualAdd.output[0]!)) {
      problems.push(`MLP residual '${scope}/${family.output}' adding the attention residual`);
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
    const form = attentionForm(softmax, nodes, index, root === 'clip');
    if (!form) {
      const fed = nodes[index.producer.get(softmax.input[0]!) ?? -1];
      const expected = root === 'clip' ? "CLIP's MatMul((q·s) [B·H, N, d], kᵀ)" : 'Div(MatMul(q, kᵀ), √d) (eager) or MatMul(q·√s, kᵀ·√s) (SDPA)';
      problems.push(`attention scores in ${scope} written as ${expected}, found a Softmax fed by ${fed ? fed.opType : 'no node'}`);
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

  // Protected tokens: the embeddings concatenate CLS (+ distillation) with the patch tokens (SigLIP: none).
  const embAdd = nodes[index.byName.get(`${family.scope}/embeddings/Add`) ?? -1];
  const concat = embAdd && embAdd.input.map((t) => nodes[index.producer.get(t) ?? -1]).find((n) => n?.opType === 'Concat');
  if (root === 'siglip' && embAdd && !concat) {
    // no class token: patches + positions
  } else if (!concat || concat.input.length < 2 || concat.input.length > 3) {
    throw new UnsupportedModelError({
      lookedFor: `'${family.scope}/embeddings/Add' adding position embeddings to a Concat of CLS (, distillation) and patch tokens`,
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
  if (root === 'clip' || root === 'siglip') {
    // CLIP's and SigLIP's zero-shot models: the text inputs beside pixel_values, their four outputs (the text tower is left as it is)
    if (!inputs.includes('pixel_values')) {
      throw new UnsupportedModelError({ lookedFor: "the input 'pixel_values'", found: `inputs [${inputs.join(', ')}]` });
    }
  } else if (inputName !== 'pixel_values' || inputs.length !== 1 || (graph.output.length !== 1 && !perTokenOutput)) {
    throw new UnsupportedModelError({
      lookedFor: "one input 'pixel_values' and one output (logits), or per-token features (last_hidden_state)",
      found: `inputs [${graph.input.map((v) => v.name).join(', ')}], outputs [${graph.output.map((v) => v.name).join(', ')}]`,
    });
  }
  // width and element type: the position embeddings [1, N, C] (ViT, DeiT), the class token [1, 1, C]
  // (DINOv2), CLIP's position embedding table [N, C]
  const { name: widthName, tokens: tokensAxis, hidden: hiddenAxis } = family.width;
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
  const tokens = tokensAxis === null ? positionTableTokens(model, hidden, `${family.scope}/embeddings/`) : toNumber(pos.dims[tokensAxis]);
  const opset = toNumber(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < 11) {
    throw new UnsupportedModelError({
      lookedFor: 'ONNX opset 11 or newer',
      found: opset === 0 ? 'no default-domain opset import (a truncated file?)' : `opset ${opset}`,
    });
  }
  if (forms.size > 1) throw new UnsupportedModelError({ lookedFor: 'one form of attention in every block', found: 'eager and SDPA attention mixed' });
  const headReadsProtectedOnly = readsOnlyFirstTokens(model, index, blocks[depth - 1]!.output, family.headScope, protectedTokens);
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
    patchMean: findPatchMean(model, index, family.headScope, protectedTokens),
    perTokenOutput,
    poolingSoftmax: root === 'siglip' ? poolingSoftmax(nodes) : null,
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

/**
 * DINOv2 interpolates its position table to the input's patch grid (a Resize in the embeddings):
 * the table's own size, `[1, n, C]` without the class token's row, is the largest initializer of
 * width C under `/dinov2/embeddings/`; n + 1 tokens.
 */
function positionTableTokens(model: ModelProto, hidden: number, scope: string): number {
  const inEmbeddings = new Set(model.graph.node.filter((n) => (n.name ?? '').startsWith(scope)).flatMap((n) => n.input));
  let n = 0;
  for (const t of model.graph.initializer) {
    if (!inEmbeddings.has(t.name ?? '') || t.dims.length !== 3 || toNumber(t.dims[2]) !== hidden) continue;
    n = Math.max(n, toNumber(t.dims[1]));
  }
  if (n < 1) throw new UnsupportedModelError({ lookedFor: `DINOv2's position table (an initializer [1, n, C] read in ${scope})`, found: 'none' });
  return n + 1;
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

/** SigLIP's pooling-head attention Softmax (`/vision_model/head/…/Softmax`): exactly one, or an error. */
function poolingSoftmax(nodes: readonly NodeProto[]): string {
  const found = nodes.filter((n) => n.opType === 'Softmax' && (n.name ?? '').startsWith('/vision_model/head/'));
  if (found.length !== 1) {
    throw new UnsupportedModelError({ lookedFor: "SigLIP's pooling head: one attention Softmax under '/vision_model/head/'", found: `${found.length}` });
  }
  return found[0]!.name ?? '';
}

/** The values of an int64 / int32 constant (initializer or Constant node), or null. */
function constantInts(model: ModelProto, index: GraphIndex, name: string | undefined): number[] | null {
  if (!name) return null;
  const producer = model.graph.node[index.producer.get(name) ?? -1];
  const tensor =
    model.graph.initializer.find((t) => t.name === name) ??
    (producer?.opType === 'Constant' ? producer.attribute.find((a) => a.name === 'value')?.t : undefined);
  if (!tensor) return null;
  if (tensor.dataType === DataType.INT64) {
    if (tensor.int64Data?.length) return tensor.int64Data.map(toNumber);
    const raw = tensor.rawData;
    if (!raw) return null;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  }
  if (tensor.dataType === DataType.INT32) {
    if (tensor.int32Data?.length) return [...tensor.int32Data];
    const raw = tensor.rawData;
    if (!raw) return null;
    return Array.from(new Int32Array(raw.slice().buffer));
  }
  return null;
}

/**
 * Confirms by structure what feeds a block's Softmax: the scores of eager attention (a Div or Mul
 * by a constant of a MatMul) or of exported SDPA (a MatMul of two Muls, q and kᵀ each scaled by
 * √scale). Anything else is not confirmed (null).
 */
function attentionForm(softmax: NodeProto, nodes: readonly NodeProto[], index: GraphIndex, clip: boolean): GraphLayout['attention'] | null {
  const producer = (t: string | undefined) => (t === undefined ? undefined : nodes[index.producer.get(t) ?? -1]);
  const isConstant = (t: string | undefined) => t !== undefined && (index.initializers.has(t) || producer(t)?.opType === 'Constant');
  const scores = producer(softmax.input[0]);
  if (!scores) return null;
  if (clip) {
    // MatMul(q, kᵀ) of [B·H, N, d] operands, q scaled by a constant before its reshapes into heads
    if (scores.opType !== 'MatMul') return null;
    let q = producer(scores.input[0]);
    while (q && (q.opType === 'Reshape' || q.opType === 'Transpose')) q = producer(q.input[0]);
    return q?.opType === 'Mul' && q.input.some(isConstant) ? 'clip' : null;
  }
  if ((scores.opType === 'Div' || scores.opType === 'Mul') && producer(scores.input[0])?.opType === 'MatMul' && isConstant(scores.input[1])) return 'eager';
  if (scores.opType === 'MatMul' && scores.input.every((t) => producer(t)?.opType === 'Mul')) return 'sdpa';
  return null;
}
