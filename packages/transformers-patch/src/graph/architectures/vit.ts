// ViT (ViTForImageClassification): the Hugging Face ViT naming that DeiT and DINOv2 share.
import { EAGER_OR_SDPA, labelCount, type ArchitectureSpec, type Scheme } from './spec.js';

/**
 * A Hugging Face ViT-family classifier as Optimum exports it, module scope `/${root}`: blocks
 * `encoder/layer.{i}` with `attention/attention/…`, the attention residual `Add` and the MLP
 * residual `output/Add`, the embeddings' `Add` before the first block, the width (and the tokens)
 * from the position embeddings [1, N, C], the head through `layernorm`.
 */
export const hfVitScheme = (root: string): Scheme => ({
  scope: `/${root}`,
  blocks: '/encoder/layer.',
  softmax: 'attention/attention/Softmax',
  keys: 'attention/attention/key/Add_output_0',
  residual: 'Add',
  output: 'output/Add',
  firstInput: `/${root}/embeddings/Add_output_0`,
  width: { name: `${root}.embeddings.position_embeddings`, tokens: 1, hidden: 2 },
  headScope: `/${root}/layernorm/`,
});

/** A pixel_values → logits classifier of the Hugging Face ViT family: both runners run it. */
export const hfVitClassifier = <Name extends string>(name: Name, schemes: readonly Scheme[]): ArchitectureSpec<Name> => ({
  name,
  schemes,
  attention: EAGER_OR_SDPA,
  // the embeddings concatenate CLS (+ distillation) with the patch tokens; the head reads them
  head: { classToken: 'required' },
  io: 'classifier',
  config: { tower: (full) => full, classes: labelCount },
  runners: { segments: null },
});

export const vit = hfVitClassifier('vit', [hfVitScheme('vit')]);
