// DINOv2 (Dinov2ForImageClassification, and the bare Dinov2Model for image-feature-extraction):
// ViT's names under `/dinov2`, layer scale on both residual branches (the MLP residual is `Add_1`),
// a position table interpolated to the input, and a head reading the class token beside the mean
// of the patch tokens (`GraphLayout.patchMean`, found by structure).
import { UnsupportedModelError } from '../../errors.js';
import { toNumber, type ModelProto } from '../../onnx/proto.js';
import { bareBackbone } from './bare.js';
import type { ArchitectureSpec, Scheme } from './spec.js';
import { hfVitClassifier, hfVitScheme } from './vit.js';

/**
 * DINOv2 interpolates its position table to the input's patch grid (a Resize in the embeddings):
 * the table's own size, `[1, n, C]` without the class token's row, is the largest initializer of
 * width C read in the module's `embeddings/` (`/dinov2/embeddings/`, bare: `/embeddings/`); n + 1 tokens.
 */
export function positionTableTokens(model: ModelProto, hidden: number, moduleScope: string): number {
  const scope = `${moduleScope}/embeddings/`;
  const inEmbeddings = new Set(model.graph.node.filter((n) => (n.name ?? '').startsWith(scope)).flatMap((n) => n.input));
  let n = 0;
  for (const t of model.graph.initializer) {
    if (!inEmbeddings.has(t.name ?? '') || t.dims.length !== 3 || toNumber(t.dims[2]) !== hidden) continue;
    n = Math.max(n, toNumber(t.dims[1]));
  }
  if (n < 1) throw new UnsupportedModelError({ lookedFor: `DINOv2's position table (an initializer [1, n, C] read in ${scope})`, found: 'none' });
  return n + 1;
}

/**
 * A DINOv2 backbone under the module scope `/${root}` (`dinov2`; Depth Anything's `backbone`): ViT's
 * names, the MLP residual `Add_1`, the width from the class token [1, 1, C], the tokens from the
 * position table.
 */
export const dinov2Scheme = (root: string): Scheme => ({
  ...hfVitScheme(root),
  output: 'Add_1',
  width: { name: `${root}.embeddings.cls_token`, tokens: positionTableTokens, hidden: 2 },
});

const DINOV2 = dinov2Scheme('dinov2');

const classifier = hfVitClassifier('dinov2', [DINOV2, bareBackbone(DINOV2, 'DINOv2')]);

export const dinov2: ArchitectureSpec<'dinov2'> = {
  ...classifier,
  // config.image_size is the position table's (518 for the hub's checkpoints), not the processor's crop (224)
  config: { ...classifier.config, imageSizeFromCrop: true },
};
