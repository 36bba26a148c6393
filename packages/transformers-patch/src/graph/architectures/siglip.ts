// SigLIP's vision tower (SiglipModel, zero-shot-image-classification): CLIP's names, no class token,
// no pre-LayerNorm, 4-D eager attention scaled after q·kᵀ, and a pooling head attending over every token.
import { UnsupportedModelError } from '../../errors.js';
import type { NodeProto } from '../../onnx/proto.js';
import { CLIP_VISION, hasPreLayerNorm, visionTower, zeroShotRefusal } from './clip.js';
import { EAGER_OR_SDPA, type ArchitectureSpec } from './spec.js';

/** SigLIP's pooling-head attention Softmax (`/vision_model/head/…/Softmax`): exactly one, or an error. */
function poolingSoftmax(nodes: readonly NodeProto[]): string {
  const found = nodes.filter((n) => n.opType === 'Softmax' && (n.name ?? '').startsWith('/vision_model/head/'));
  if (found.length !== 1) {
    throw new UnsupportedModelError({ lookedFor: "SigLIP's pooling head: one attention Softmax under '/vision_model/head/'", found: `${found.length}` });
  }
  return found[0]!.name ?? '';
}

export const siglip: ArchitectureSpec<'siglip'> = {
  name: 'siglip',
  schemes: [{ ...CLIP_VISION, firstInput: '/vision_model/embeddings/Add_output_0', accepts: (index) => !hasPreLayerNorm(index) }],
  attention: EAGER_OR_SDPA,
  // no class token (patches + positions); the probe's attention over every token gets the log-size bias
  head: { classToken: 'optional', poolingSoftmax },
  io: 'zero-shot',
  // its pooled width (no projection)
  config: { tower: visionTower, classes: (_full, _tower, hidden) => hidden },
  runners: { segments: zeroShotRefusal("SigLIP's") },
};
