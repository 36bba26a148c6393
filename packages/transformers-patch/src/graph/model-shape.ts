import type { ModelShape } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import { architecture } from './architectures/index.js';
import { configNumber } from './architectures/spec.js';
import type { GraphLayout } from './layout.js';

/**
 * The cost-model sizes and attention heads of a ViT-family model from its config.json (Hugging Face
 * field names, as its architecture reads them) and the graph layout (depth, protected tokens).
 */
export function shapeFromConfig(full: Record<string, unknown>, layout: GraphLayout, hint?: string): { shape: ModelShape; heads: number } {
  // the reduced tower's config (CLIP's and SigLIP's vision_config)
  const spec = architecture(layout.root);
  const config = spec.config.tower(full);
  const patchSize = configNumber(config, 'patch_size', hint);
  const imageSize = configNumber(config, 'image_size', hint);
  const hidden = configNumber(config, 'hidden_size', hint);
  // The graph must be the model config.json describes (a modelSource of another model would
  // otherwise run silently, with the other model's weights and labels).
  const mismatch = "The ONNX graph is not the model config.json describes (enableJMP's modelSource must be the pipeline's own model).";
  if (typeof config.model_type === 'string' && config.model_type !== layout.root) {
    throw new UnsupportedModelError({
      lookedFor: `a graph of model_type '${config.model_type}' (config.json)`,
      found: `a /${layout.root}/… graph`,
      hint: mismatch,
    });
  }
  if (layout.hidden !== hidden) {
    throw new UnsupportedModelError({
      lookedFor: `a graph of width config.hidden_size = ${hidden}`,
      found: `width ${layout.hidden} (embeddings)`,
      hint: mismatch,
    });
  }
  if (typeof config.num_hidden_layers === 'number' && config.num_hidden_layers !== layout.blocks.length) {
    throw new UnsupportedModelError({
      lookedFor: `a graph of config.num_hidden_layers = ${config.num_hidden_layers} blocks`,
      found: `${layout.blocks.length} blocks`,
      hint: mismatch,
    });
  }
  return {
    shape: {
      hidden,
      depth: layout.blocks.length,
      patches: (imageSize / patchSize) ** 2,
      // DINOv2 gives the MLP's width as a ratio of the hidden width
      intermediate:
        typeof config.intermediate_size === 'number' || typeof config.mlp_ratio !== 'number'
          ? configNumber(config, 'intermediate_size', hint)
          : Math.round(configNumber(config, 'mlp_ratio', hint) * hidden),
      channels: typeof config.num_channels === 'number' ? config.num_channels : 3,
      patchSize,
      // the head's width: the classes, CLIP's projection, SigLIP's pooled width
      classes: spec.config.classes(full, config, hidden, hint),
      // classifier inputs of width C: CLS (+ distillation), or DINOv2's CLS and patch mean
      heads: layout.patchMean ? layout.protectedTokens + 1 : layout.protectedTokens,
      protectedTokens: layout.protectedTokens,
      // a dense head (Depth Anything's neck and depth head) as a constant
      ...(spec.config.headMacs ? { headMacs: spec.config.headMacs(full, config, hint) } : {}),
    },
    heads: configNumber(config, 'num_attention_heads', hint),
  };
}
