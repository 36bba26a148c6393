import type { Tensor } from '@huggingface/transformers';
import type { ImageClassificationPipelineLike } from '@jmpjs/transformers-patch';

/** The classifier's model as the eval calls it: pixel values in, logits out. */
export type Model = ((inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>) & { config: Record<string, unknown> };

/** An image-classification pipeline as the eval uses it: its model, its processor and dispose. */
export type Classifier = ImageClassificationPipelineLike & {
  model: Model;
  processor: (images: unknown[]) => Promise<{ pixel_values: Tensor }>;
  dispose(): Promise<void>;
};
