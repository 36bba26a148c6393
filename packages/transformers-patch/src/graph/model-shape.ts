import type { ModelShape } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import type { GraphLayout } from './layout.js';

function configNumber(config: Record<string, unknown>, key: string, hint?: string): number {
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

/**
 * The cost-model sizes and attention heads of a ViT / DeiT from its config.json (Hugging Face
 * field names) and the graph layout (depth, protected tokens).
 */
export function shapeFromConfig(full: Record<string, unknown>, layout: GraphLayout, hint?: string): { shape: ModelShape; heads: number } {
  // CLIP: the vision tower's sizes are in vision_config; its head is the projection
  const config =
    (layout.root === 'clip' || layout.root === 'siglip') && full.vision_config && typeof full.vision_config === 'object'
      ? { ...(full.vision_config as Record<string, unknown>), model_type: full.model_type }
      : full;
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
      // CLIP: the projection; SigLIP: its pooled width (no projection)
      classes:
        layout.root === 'clip'
          ? configNumber(full, 'projection_dim', hint)
          : layout.root === 'siglip'
            ? hidden
            : Object.keys((config.id2label as object | undefined) ?? {}).length,
      // classifier inputs of width C: CLS (+ distillation), or DINOv2's CLS and patch mean
      heads: layout.patchMean ? layout.protectedTokens + 1 : layout.protectedTokens,
      protectedTokens: layout.protectedTokens,
    },
    heads: configNumber(config, 'num_attention_heads', hint),
  };
}
