// What an architecture file says about its backbone (see ./index.ts for the registry).
import { UnsupportedModelError } from '../../errors.js';
import type { ModelProto, NodeProto } from '../../onnx/proto.js';
import type { GraphIndex } from '../graph-index.js';

/**
 * How the attention scores are written: `'eager'` (Div(MatMul(q, kᵀ), √d), as HF's eager attention
 * exports), `'sdpa'` (MatMul(q·√s, kᵀ·√s), as torch ≥ 2.1 exports scaled_dot_product_attention) or
 * `'clip'` (CLIP's eager attention: q scaled before its projection is split into heads, the scores
 * a MatMul of [B·H, N, d] operands: scores and probabilities are [B·H, N, N], heads folded into the
 * batch axis).
 */
export type AttentionForm = 'eager' | 'sdpa' | 'clip';

/** What an UnsupportedModelError says: what was looked for, and what was found instead. */
export interface Refusal {
  lookedFor: string;
  found: string;
}

/**
 * Where one naming scheme puts a backbone's tensors in an Optimum export: the module scope, the
 * blocks' scope, each block's attention Softmax and key projection, the attention residual and the
 * MLP residual (DINOv2 scales each branch by its layer scale before adding it), the first block's
 * input, the initializer the width (and the token count) come from, and the scope of the final
 * LayerNorm. Names within a block are relative to the block's scope.
 */
export interface Scheme {
  /** The module scope (`/vit`, `/vision_model`), `''` for a bare backbone. */
  scope: string;
  /** The blocks' scope within it: block i is `${scope}${blocks}${i}`. */
  blocks: string;
  softmax: string;
  keys: string;
  residual: string;
  output: string;
  firstInput: string;
  /**
   * The initializer of the width: its name, the axis of its width, and the axis of its token count,
   * or how the token count is read elsewhere (from the model, the width and the module scope).
   */
  width: { name: string; hidden: number; tokens: number | ((model: ModelProto, hidden: number, scope: string) => number) };
  headScope: string;
  /**
   * Whether a graph whose Softmax names fit this scheme is this architecture (CLIP and SigLIP
   * share their names); absent: always.
   */
  accepts?: (index: GraphIndex) => boolean;
  /** Why a graph found by this scheme's names is refused after all (a bare ViT), or null. */
  refuse?: (index: GraphIndex) => Refusal | null;
}

/** Block i's scope in a scheme. */
export const blockScope = (scheme: Scheme, i: number): string => `${scheme.scope}${scheme.blocks}${i}`;

/** The block index of an attention Softmax named as `scheme` names them, or null. */
export function softmaxBlock(scheme: Scheme, name: string): number | null {
  const prefix = `${scheme.scope}${scheme.blocks}`;
  if (!name.startsWith(prefix)) return null;
  const m = /^(\d+)\/(.*)$/.exec(name.slice(prefix.length));
  return m && m[2] === scheme.softmax ? Number(m[1]) : null;
}

/** How an architecture's attention is confirmed by structure. */
export interface AttentionSpec {
  /** The axis of its Softmax over the keys (besides -1). */
  softmaxAxis: number;
  /** The form of the scores feeding a block's Softmax, or null when they are not confirmed. */
  form: (softmax: NodeProto, nodes: readonly NodeProto[], index: GraphIndex) => AttentionForm | null;
  /** What the refusal says it looked for. */
  expected: string;
}

/** One backbone this package reduces: everything specific to it. */
export interface ArchitectureSpec<Name extends string = string> {
  /** Its config.json `model_type`, and `GraphLayout.root`. */
  name: Name;
  /** Its naming schemes, the scoped one first. */
  schemes: readonly Scheme[];
  attention: AttentionSpec;
  /**
   * What the head reads: `'required'` a class token (and a distillation token) concatenated before
   * the patches; `'optional'` none as well (SigLIP: patches + positions). A pooling head attending
   * over every token gives its Softmax's name (the compiled graph biases it with the log sizes).
   */
  head: { classToken: 'required' | 'optional'; poolingSoftmax?: (nodes: readonly NodeProto[]) => string };
  /**
   * The graph's inputs and outputs: `'classifier'` one input `pixel_values` and one output (logits)
   * or per-token features; `'zero-shot'` `pixel_values` beside the text inputs (the text tower is
   * left as it is); `'dense'` one input `pixel_values` and one dense output (a depth map) made by a
   * neck that reads the token grid of some blocks (`GraphLayout.gridReadouts`).
   */
  io: 'classifier' | 'zero-shot' | 'dense';
  /** config.json → the cost model's sizes. */
  config: {
    /** The config of the reduced tower (a vision_config), with the model's `model_type`. */
    tower: (full: Record<string, unknown>) => Record<string, unknown>;
    /** The head's width in the cost model (classes, a projection). */
    classes: (full: Record<string, unknown>, tower: Record<string, unknown>, hidden: number, hint?: string) => number;
    /**
     * The head's multiply-accumulates as a constant, where it is not a linear layer of the width
     * (Depth Anything's DPT neck and depth head, for the tower's image size); absent: C · classes.
     */
    headMacs?: (full: Record<string, unknown>, tower: Record<string, unknown>, hint?: string) => number;
    /**
     * The images are the processor's crops (or its square size, where it does not crop), not
     * config.image_size (DINOv2 interpolates its position table to its input): the plan is made for
     * that size.
     */
    imageSizeFromCrop?: boolean;
  };
  /**
   * Its exports resize the position table to each input's patch grid (from the input's shape), so
   * an image of any whole number of patches runs, not only the planned size. Absent: false.
   */
  gridFromInput?: boolean;
  /** Which runners run it: the segments runner's refusal, or null when it runs it. */
  runners: { segments: Refusal | null };
}

/** A positive number of a config.json, or a typed error. */
export function configNumber(config: Record<string, unknown>, key: string, hint?: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UnsupportedModelError({
      lookedFor: `config.${key} (a positive number) in config.json`,
      found: JSON.stringify(v) ?? 'undefined',
      ...(hint ? { hint } : {}),
    });
  }
  return v;
}

/** A classifier's classes: the labels of its config. */
export const labelCount = (_full: Record<string, unknown>, tower: Record<string, unknown>): number =>
  Object.keys((tower.id2label as object | undefined) ?? {}).length;

/**
 * Eager attention (a Div or Mul by a constant of a MatMul) or exported SDPA (a MatMul of two Muls,
 * q and kᵀ each scaled by √scale), as Hugging Face's ViT-family blocks export; anything else is not
 * confirmed (null).
 */
export const EAGER_OR_SDPA: AttentionSpec = {
  softmaxAxis: 3,
  form(softmax, nodes, index) {
    const producer = (t: string | undefined) => (t === undefined ? undefined : nodes[index.producer.get(t) ?? -1]);
    const isConstant = (t: string | undefined) => t !== undefined && (index.initializers.has(t) || producer(t)?.opType === 'Constant');
    const scores = producer(softmax.input[0]);
    if (!scores) return null;
    if ((scores.opType === 'Div' || scores.opType === 'Mul') && producer(scores.input[0])?.opType === 'MatMul' && isConstant(scores.input[1])) return 'eager';
    if (scores.opType === 'MatMul' && scores.input.every((t) => producer(t)?.opType === 'Mul')) return 'sdpa';
    return null;
  },
  expected: 'Div(MatMul(q, kᵀ), √d) (eager) or MatMul(q·√s, kᵀ·√s) (SDPA)',
};
