// The transformers.js model inside a pipeline, as this package adapts to it: the parts it touches,
// the config it plans with (DINOv2's crop size: graph/architectures), and the file and onnxruntime its session came from.
import { JmpArgumentError } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import { architecture, isArchitecture } from '../graph/architectures/index.js';
import type { ResolvedOptions } from '../options.js';
import type { SessionLike } from '../runner/segment-runner.js';
import { platform } from '#platform';
import { sessionSource, type OrtModule, type SessionSource } from './sessions.js';
import type { VisionPipelineLike } from './types.js';

/** What of a transformers.js model this package touches. */
export interface HostModel {
  config: Record<string, unknown>;
  sessions: Record<string, SessionLike & { config?: { device?: string; dtype?: string } }>;
  forward: (inputs: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/** The pipeline's model, checked; a typed error when it is not one this package can patch. */
export function hostModel(pipe: unknown): HostModel {
  const model = (pipe as VisionPipelineLike | undefined)?.model as Partial<HostModel> | undefined;
  if (!model || (typeof model !== 'object' && typeof model !== 'function') || !model.sessions || typeof model.forward !== 'function' || !model.config) {
    throw new JmpArgumentError({
      argument: 'pipeline',
      expected: "a transformers.js pipeline, e.g. await pipeline('image-classification', model)",
      found: pipe,
    });
  }
  if (!model.sessions.model) {
    throw new UnsupportedModelError({
      lookedFor: "a model with one ONNX session named 'model'",
      found: `sessions [${Object.keys(model.sessions).join(', ')}]`,
    });
  }
  planConfigs.set(model as HostModel, planConfig(pipe, model.config));
  return model as HostModel;
}

/** The config each model is planned with (see {@link planConfig}). */
const planConfigs = new WeakMap<HostModel, Record<string, unknown>>();

/** The config `model` is planned with (set by {@link hostModel}). */
export const configOf = (model: HostModel): Record<string, unknown> => planConfigs.get(model) ?? model.config;

/**
 * The model's config for planning. An architecture whose images are the processor's crops
 * (`imageSizeFromCrop`: DINOv2 interpolates its position table to the input, and its config's
 * image_size is the table's, 518 for the hub's checkpoints, not the pipeline's 224) is planned for
 * the crop size (or, where the processor does not crop, its square size: Depth Anything's DPT
 * processor): the plan and the GMACs are for the images the pipeline makes.
 */
function planConfig(pipe: unknown, config: Record<string, unknown>): Record<string, unknown> {
  if (!isArchitecture(config.model_type) || !architecture(config.model_type).config.imageSizeFromCrop) return config;
  const processor = (pipe as { processor?: { image_processor?: unknown } } | undefined)?.processor;
  const image = (processor?.image_processor ?? processor) as
    { crop_size?: unknown; size?: unknown; do_center_crop?: unknown; config?: { crop_size?: unknown; size?: unknown } } | undefined;
  // the crop, else (a processor that does not crop: DPT's, for Depth Anything) its size
  const crop = image?.crop_size ?? image?.config?.crop_size ?? image?.size ?? image?.config?.size;
  const side =
    typeof crop === 'number'
      ? crop
      : crop && typeof crop === 'object' && (crop as { height?: unknown }).height === (crop as { width?: unknown }).width
        ? (crop as { height?: unknown }).height
        : undefined;
  return typeof side === 'number' && side > 0 ? { ...config, image_size: side } : config;
}

/**
 * The onnxruntime that created the pipeline's session: its own class when it has `create` (so
 * this package's sessions come from the very same onnxruntime instance, even if the app bundles
 * two copies), else the platform's.
 */
export function sessionClassOf(session: object): OrtModule {
  const ctor: unknown = (session as { constructor?: unknown }).constructor;
  const ownClass = typeof ctor === 'function' && ctor !== Object && typeof (ctor as { create?: unknown }).create === 'function';
  return ownClass ? { InferenceSession: ctor as unknown as OrtModule['InferenceSession'] } : platform.ort();
}

/** What the model's session was created from (or `modelSource`), and the device and dtype it runs with. */
export function resolveSource(model: HostModel, o: ResolvedOptions): { source: SessionSource; env: { device: string; dtype: string } } {
  const original = model.sessions.model!;
  const recorded = sessionSource(original);
  const device = original.config?.device ?? 'cpu';
  const dtype = original.config?.dtype ?? 'fp32';
  const source: SessionSource | undefined =
    o.modelSource !== undefined ? { source: o.modelSource, options: recorded?.options ?? { executionProviders: [device] } } : recorded;
  if (!source) {
    throw new JmpArgumentError({
      argument: 'options.modelSource',
      expected: "the model's ONNX file path or bytes",
      found: undefined,
      hint:
        sessionClassOf(original).InferenceSession !== platform.ort().InferenceSession
          ? `The pipeline's onnxruntime is not the one this package imported (${platform.name === 'web' ? 'onnxruntime-web' : 'onnxruntime-node'}): the app has two copies. Install the version @huggingface/transformers depends on, or pass modelSource.`
          : 'The pipeline was created before @jmpjs/transformers-patch was imported, so its model file is unknown: import this package first, or pass modelSource.',
    });
  }
  return { source, env: { device, dtype } };
}
