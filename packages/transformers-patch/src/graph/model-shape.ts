import type { ModelShape } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import type { GraphLayout } from './layout.js';

function configNumber(config: Record<string, unknown>, key: string, hint?: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UnsupportedModelError({ lookedFor: `config.${key} (a positive number) in config.json`, found: JSON.stringify(v) ?? 'undefined', ...(hint ? { hint } : {}) });
  }
  return v;
}

/**
 * The cost-model sizes and attention heads of a ViT / DeiT from its config.json (Hugging Face
 * field names) and the graph layout (depth, protected tokens).
 */
export function shapeFromConfig(config: Record<string, unknown>, layout: GraphLayout, hint?: string): { shape: ModelShape; heads: number } {
  const patchSize = configNumber(config, 'patch_size', hint);
  const imageSize = configNumber(config, 'image_size', hint);
  return {
    shape: {
      hidden: configNumber(config, 'hidden_size', hint),
      depth: layout.blocks.length,
      patches: (imageSize / patchSize) ** 2,
      intermediate: configNumber(config, 'intermediate_size', hint),
      channels: typeof config.num_channels === 'number' ? config.num_channels : 3,
      patchSize,
      classes: Object.keys((config.id2label as object | undefined) ?? {}).length,
      heads: layout.protectedTokens,
      protectedTokens: layout.protectedTokens,
    },
    heads: configNumber(config, 'num_attention_heads', hint),
  };
}
