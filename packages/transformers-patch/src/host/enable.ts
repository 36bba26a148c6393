// The public functions of the host API: enableJMP, inspectJMP, createJMPPipeline.
import { pipeline } from '@huggingface/transformers';
import { UnsupportedModelError } from '../errors.js';
import { resolveOptions, type JMPOptions } from '../options.js';
import { planModel, type Plan } from '../plan.js';
import { configOf, hostModel, resolveSource, sessionClassOf } from './host-model.js';
import { planInfo, type JMPModelInfo } from './model-info.js';
import { Patch } from './patch.js';
import { claimPipeline, unclaimPipeline } from './registry.js';
import { StatsCollector } from './stats.js';
import type { JMPHandle, VisionPipelineLike } from './types.js';
import { wasmWithoutWebGPU } from './webgpu-fallback.js';

/**
 * Turns JMP (or ToMe / EViT, for comparisons) on in an existing transformers.js
 * pipeline: image-classification (ViT, DeiT, DINOv2), zero-shot-image-classification (CLIP, SigLIP)
 * or image-feature-extraction (CLIP, SigLIP, DINOv2). Pre- and post-processing and the output
 * format stay as they are; inside the model, the token count shrinks at the scheduled blocks.
 *
 * Bad options throw a `JmpArgumentError` before any work; an unrecognised model throws an
 * `UnsupportedModelError` (or, with `onUnsupported: 'passthrough'`, warns and leaves the pipeline unchanged).
 */
export async function enableJMP(pipe: VisionPipelineLike, options?: JMPOptions): Promise<JMPHandle> {
  const o = resolveOptions(options);
  const model = hostModel(pipe);
  const { source, env } = resolveSource(model, o);
  claimPipeline(model); // before any await: a second enableJMP on this pipeline is a JmpStateError
  let plan: Plan;
  try {
    plan = await planModel(configOf(model), o, source);
  } catch (e) {
    unclaimPipeline(model);
    if (UnsupportedModelError.isInstance(e) && o.onUnsupported === 'passthrough') {
      o.warn(`[jmp] ${e.message} The pipeline is left unchanged.`);
      return passthroughHandle();
    }
    throw e;
  }
  return new Patch(model, sessionClassOf(model.sessions.model!), plan, o, source, env).start();
}

/**
 * What {@link enableJMP} would find and plan for this pipeline and options — blocks, protected
 * tokens, token counts per block, cost-model sizes — without changing the pipeline.
 */
export async function inspectJMP(pipe: VisionPipelineLike, options?: JMPOptions): Promise<JMPModelInfo> {
  const o = resolveOptions(options);
  const model = hostModel(pipe);
  const { source, env } = resolveSource(model, o);
  return planInfo(await planModel(configOf(model), o, source), env);
}

/**
 * Builds an image-classification pipeline with JMP on, in one call.
 *
 * @returns the pipeline (use it as usual) and the JMP handle.
 */
export async function createJMPPipeline(
  model: string,
  jmpOptions: JMPOptions,
  pipelineOptions: Record<string, unknown> = {},
): Promise<{ classifier: Awaited<ReturnType<typeof pipeline<'image-classification'>>>; jmp: JMPHandle }> {
  const o = resolveOptions(jmpOptions);
  // transformers.js itself would throw on an unavailable WebGPU ("Unsupported device"): fall back to wasm, as documented
  pipelineOptions = await wasmWithoutWebGPU(pipelineOptions, (message) => o.warn(message));
  const classifier = await pipeline('image-classification', model, pipelineOptions);
  try {
    const jmp = await enableJMP(classifier as unknown as VisionPipelineLike, jmpOptions);
    return { classifier, jmp };
  } catch (e) {
    await (classifier as unknown as { dispose?: () => Promise<void> }).dispose?.();
    throw e;
  }
}

/** The handle of a pipeline left unchanged (`onUnsupported: 'passthrough'`). */
function passthroughHandle(): JMPHandle {
  const empty = new StatsCollector();
  return {
    enabled: false,
    info: null,
    stats: () => empty.snapshot(),
    resetStats: () => {},
    disable: async () => {},
    enable: async () => {},
    dispose: async () => {},
  };
}
