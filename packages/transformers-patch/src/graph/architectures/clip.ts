// CLIP's vision tower (CLIPModel, zero-shot-image-classification): the text tower is left as it is.
import type { NodeProto } from '../../onnx/proto.js';
import type { GraphIndex } from '../graph-index.js';
import { configNumber, type ArchitectureSpec, type Refusal, type Scheme } from './spec.js';

/**
 * CLIP's names: module scope `/vision_model`, blocks `encoder/layers.{i}` with `self_attn`, the
 * embeddings through `pre_layrnorm` before the first block, the width (and the tokens) from the
 * position embedding table [N, C], the head reading the class token through `post_layernorm`.
 */
export const CLIP_VISION: Scheme = {
  scope: '/vision_model',
  blocks: '/encoder/layers.',
  softmax: 'self_attn/Softmax',
  keys: 'self_attn/k_proj/Add_output_0',
  residual: 'Add',
  output: 'Add_1',
  firstInput: '/vision_model/pre_layrnorm/Add_1_output_0',
  width: { name: 'vision_model.embeddings.position_embedding.weight', tokens: 0, hidden: 1 },
  headScope: '/vision_model/post_layernorm/',
};

/** CLIP and SigLIP share their names: CLIP has the pre-LayerNorm. */
export const hasPreLayerNorm = (index: GraphIndex): boolean => index.byName.has('/vision_model/pre_layrnorm/Add_1');

/** The vision tower's sizes are in vision_config (with the model's model_type); else the config itself. */
export const visionTower = (full: Record<string, unknown>): Record<string, unknown> =>
  full.vision_config && typeof full.vision_config === 'object' ? { ...(full.vision_config as Record<string, unknown>), model_type: full.model_type } : full;

/** The segments runner's refusal of a zero-shot model (its segments end in logits). */
export const zeroShotRefusal = (owner: string): Refusal => ({
  lookedFor: 'a pixel_values → logits model',
  found: `${owner} zero-shot model (text inputs beside pixel_values, four outputs): the compiled runner runs it, the segments runner does not`,
});

export const clip: ArchitectureSpec<'clip'> = {
  name: 'clip',
  schemes: [{ ...CLIP_VISION, accepts: hasPreLayerNorm }],
  attention: {
    // scores and probabilities [B·H, N, N]: heads folded into the batch axis
    softmaxAxis: 2,
    // MatMul(q, kᵀ) of [B·H, N, d] operands, q scaled by a constant before its reshapes into heads
    form(softmax: NodeProto, nodes: readonly NodeProto[], index: GraphIndex) {
      const producer = (t: string | undefined) => (t === undefined ? undefined : nodes[index.producer.get(t) ?? -1]);
      const isConstant = (t: string | undefined) => t !== undefined && (index.initializers.has(t) || producer(t)?.opType === 'Constant');
      const scores = producer(softmax.input[0]);
      if (!scores || scores.opType !== 'MatMul') return null;
      let q = producer(scores.input[0]);
      while (q && (q.opType === 'Reshape' || q.opType === 'Transpose')) q = producer(q.input[0]);
      return q?.opType === 'Mul' && q.input.some(isConstant) ? 'clip' : null;
    },
    expected: "CLIP's MatMul((q·s) [B·H, N, d], kᵀ)",
  },
  head: { classToken: 'required' },
  io: 'zero-shot',
  // the head is the projection
  config: { tower: visionTower, classes: (full, _tower, _hidden, hint) => configNumber(full, 'projection_dim', hint) },
  runners: { segments: zeroShotRefusal("CLIP's") },
};
