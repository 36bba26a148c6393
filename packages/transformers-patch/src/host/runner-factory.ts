// From a plan to what runs it: the sessions (and the session options they are created with), the
// runner over them (compiled or segments), and its feeds and outputs as the model's forward has them.
import { Tensor } from '@huggingface/transformers';
import { JmpArgumentError } from '@jmpjs/core';
import { encodeModel } from '../onnx/proto.js';
import { coreMethodsFor, graphMethod } from '../graph/methods/registry.js';
import type { ResolvedOptions } from '../options.js';
import { perHeadKeys, type Plan } from '../plan.js';
import { CompiledRunner } from '../runner/compiled-runner.js';
import { SegmentRunner, type CallRecord, type OrtTensorLike, type SessionLike } from '../runner/segment-runner.js';
import { createSession, type OrtModule } from './sessions.js';

/** What runs a patched forward: the compiled model or the segments. */
export interface Runner {
  /** The model's feeds (`pixel_values`; a CLIP model's text inputs too) to its own outputs. */
  run(feeds: Record<string, OrtTensorLike>): Promise<{ outputs: Record<string, OrtTensorLike>; record: CallRecord }>;
  release(): Promise<void>;
}

/**
 * Session options of the segments: the pipeline's own, plus two settings for running several
 * sessions back to back (each stays overridable through the pipeline's `session_options`):
 * - intra-op threads do not spin after a run: a finished segment's spinning threads would compete
 *   with the next segment's for the cores;
 * - no CPU memory arena: one arena per segment would keep each segment's peak activations for
 *   good (shrinking the arenas after each run did not bring RSS down in `bench/memory.bench.ts`).
 */
export function segmentSessionOptions(options: Record<string, unknown>): Record<string, unknown> {
  const extra = (options.extra ?? {}) as { session?: { intra_op?: Record<string, unknown> } };
  return {
    enableCpuMemArena: false,
    ...options,
    extra: {
      ...extra,
      session: { ...extra.session, intra_op: { allow_spinning: '0', ...extra.session?.intra_op } },
    },
  };
}

/**
 * The sessions of a plan, one by one, with the pipeline's own session options (the compiled
 * model: exactly those; a segment: {@link segmentSessionOptions}). Each segment's bytes are encoded
 * just before its session; none is left on failure.
 */
export async function createPlanSessions(ort: OrtModule, plan: Plan, options: Record<string, unknown>): Promise<SessionLike[]> {
  const sessions: SessionLike[] = [];
  try {
    if (plan.compiled) {
      const bytes = encodeModel(plan.compiled);
      delete plan.compiled; // the decoded model (and the file bytes it points into) can go before ORT parses
      sessions.push((await createSession(ort, bytes, options)) as SessionLike);
    } else
      for (const segment of plan.segments) sessions.push((await createSession(ort, encodeModel(segment.model), segmentSessionOptions(options))) as SessionLike);
    return sessions;
  } catch (e) {
    await Promise.all(sessions.map((s) => s.release()));
    throw e;
  }
}

/** A float32 tensor of transformers.js's own onnxruntime (defined here, not as a closure, so it keeps nothing alive). */
function ortTensor(data: Float32Array, dims: number[]): OrtTensorLike {
  return (new Tensor('float32', data, dims) as unknown as { ort_tensor: OrtTensorLike }).ort_tensor;
}

/** The runner for a plan's sessions; keeps nothing of the plan but sizes and schedule. */
export function makeRunner(plan: Plan, sessions: SessionLike[], o: ResolvedOptions): Runner {
  if (plan.runner === 'compiled') {
    return new CompiledRunner({
      session: sessions[0]!,
      method: o.method,
      steps: plan.steps,
      strategy: o.strategy,
      shape: plan.shape,
      heads: plan.heads,
      similarityDims: graphMethod(o.method).similarityDims(o, plan.shape.hidden, plan.heads),
      trackSources: o.trackSources,
      indexed: plan.indexed,
      headOnly: plan.headOnly,
    });
  }
  const methods = coreMethodsFor(o, plan.steps);
  return new SegmentRunner({
    segments: plan.segments.map((s, i) => ({
      session: sessions[i]!,
      takesBias: s.takesBias,
      first: s.first,
      last: s.last,
      ...(s.reductionBlock ? { reductionBlock: s.reductionBlock, method: methods[plan.steps.findIndex((st) => st.block === s.reductionBlock)]! } : {}),
    })),
    depth: plan.layout.blocks.length,
    protectedTokens: plan.layout.protectedTokens,
    shape: plan.shape,
    makeTensor: ortTensor,
    trackSources: o.trackSources,
    headOnly: plan.headOnly,
    ...(perHeadKeys(o) ? { perHeadKeys: plan.heads } : {}),
  });
}

/** The runner's feeds from the forward's inputs (transformers.js Tensors): pixel_values, and a CLIP model's text inputs. */
export function runnerFeeds(inputs: Record<string, unknown>, names: readonly string[]): Record<string, OrtTensorLike> {
  const feeds: Record<string, OrtTensorLike> = {};
  for (const name of names) {
    const t = inputs[name] as { ort_tensor?: OrtTensorLike } | undefined;
    if (!t?.ort_tensor) {
      throw new JmpArgumentError({
        argument: name,
        expected: name === 'pixel_values' ? 'a transformers.js Tensor [B, C, H, W]' : `a transformers.js Tensor (the model's input '${name}')`,
        found: inputs[name],
      });
    }
    feeds[name] = t.ort_tensor;
  }
  return feeds;
}

/** The runner's outputs as the forward returns them (transformers.js Tensors). */
export function forwardOutputs(outputs: Record<string, OrtTensorLike>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new Tensor(t as never)]));
}
