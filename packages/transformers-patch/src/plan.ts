// How a model is planned: options + the model → the schedule (blocks, keep rates or r, τ), the
// runner, and the compiled graph or segments. enableJMP, calibrateJMP (through enableJMP),
// compileJMPModel and the jmp CLI all plan here; host/patch.ts keeps the handle and its lifecycle.
import { JmpArgumentError, planBudget, planTokens, resolveSchedule, type BlockTokens, type ModelShape, type Schedule, type ScheduleStep } from '@jmpjs/core';
import { platform } from '#platform';
import { JmpError, UnsupportedModelError } from './errors.js';
import { architecture, isArchitecture, SUPPORTED_MODEL_TYPES_TEXT, whyRefused } from './graph/architectures/index.js';
import { compileJMP, jmpIndexForm } from './graph/compile.js';
import { graphMethod } from './graph/methods/registry.js';
import { findLayout, type GraphLayout } from './graph/layout.js';
import { shapeFromConfig } from './graph/model-shape.js';
import { buildSegments, type Segment } from './graph/segments.js';
import type { SessionSource } from './host/sessions.js';
import { decodeModel, type ModelProto } from './onnx/proto.js';
import { defaultBlocks, optionsForModel, type ResolvedOptions } from './options.js';
import { graphFingerprint } from './plan-file.js';

/** Where and how much a model reduces, for its depth and token count. */
export interface SchedulePlan {
  blocks: number[];
  /** Keep rate (JMP, EViT) or r (ToMe) per block. */
  steps: ScheduleStep[];
  /** Token counts into and out of every block. */
  planned: BlockTokens[];
  /** The GMACs budget the schedule was planned for (a share of the plain model's), or null for an explicit keep / r. */
  budget: number | null;
}

/**
 * The schedule of the options for a model: the blocks (given, or the method's default), and the
 * keep rates or r given, or planned from the budget by `@jmpjs/core`'s `planBudget`.
 */
export function planSchedule(
  o: Pick<ResolvedOptions, 'method' | 'keep' | 'r' | 'blocks' | 'select' | 'budget' | 'defaultBudget' | 'warn' | 'tau'> & { headOnly: boolean },
  shape: ModelShape,
): SchedulePlan {
  const depth = shape.depth;
  const headOnly = o.headOnly ? { headOnly: true } : {};
  const blocks = [...(o.blocks ?? defaultBlocks(o.method, depth, o.select, o.headOnly, shape.patches))];
  if (Array.isArray(o.tau) && o.tau.length !== blocks.length) {
    throw new JmpArgumentError({
      argument: 'options.tau',
      expected: `one τ, or one per reduction block (${blocks.length}: blocks ${blocks.join(', ')})`,
      found: o.tau,
    });
  }
  const select = o.method === 'jmp' ? o.select : undefined;
  // what the schedule gives per block: a keep rate, or ToMe's r (graph/methods/registry.ts)
  const amount = graphMethod(o.method).amount;
  let schedule: Schedule;
  if (o.budget !== undefined) {
    resolveSchedule({ blocks, [amount]: amount === 'r' ? 0 : 1 }, o.method, depth); // the blocks' own errors first
    const plan = (tolerance?: number) =>
      planBudget({
        budget: o.budget!,
        shape,
        method: o.method,
        blocks,
        ...(select ? { select } : {}),
        ...headOnly,
        ...(tolerance !== undefined ? { tolerance } : {}),
      });
    try {
      schedule = plan().schedule;
    } catch (e) {
      if (!JmpArgumentError.isInstance(e) || e.argument !== 'budget') throw e;
      if (!o.defaultBudget)
        throw new JmpArgumentError({ argument: 'options.budget', expected: e.expected, found: o.budget, ...(e.hint ? { hint: e.hint } : {}) });
      // the default budget, out of reach at these blocks (a shallow model, few tokens): the closest plan
      const closest = plan(Number.POSITIVE_INFINITY);
      o.warn(
        `[jmp] The default budget (${o.budget} of the plain GMACs) is out of reach at blocks ${blocks.join(', ')}: JMP runs the closest plan, ${closest.share.toFixed(3)}. Pass budget, keep or blocks to choose.`,
      );
      schedule = closest.schedule;
    }
  } else schedule = amount === 'r' ? { blocks, r: o.r! } : { blocks, keep: o.keep! };
  const steps = resolveSchedule(schedule, o.method, depth);
  const planned = planTokens({
    schedule,
    method: o.method,
    depth,
    tokens: shape.patches + shape.protectedTokens,
    protectedTokens: shape.protectedTokens,
    ...(select ? { select } : {}),
    ...headOnly,
  });
  return { blocks, steps, planned, budget: o.budget ?? null };
}

/** Everything built from the model and the options, before any session changes. */
export interface Plan {
  layout: GraphLayout;
  shape: ModelShape;
  steps: { block: number; amount: number }[];
  planned: BlockTokens[];
  budget: number | null;
  fingerprint: string;
  heads: number;
  /** The segment models (segments runner); encoded one at a time when their sessions are created. */
  segments: Segment[];
  /** The model with JMP compiled in (compiled runner); dropped once encoded. */
  compiled?: ModelProto;
  runner: 'compiled' | 'segments';
  /** The compiled JMP is in index form (CPU and wasm execution providers, select 'redundancy'). */
  indexed: boolean;
  /** The last block's MLP runs on the protected tokens only. */
  headOnly: boolean;
  /** The options as they run on this model (`optionsForModel`: the default metric and τ by patch count). */
  options: ResolvedOptions;
}

async function makePlan(config: Record<string, unknown>, given: ResolvedOptions, source: SessionSource): Promise<Plan> {
  let o = given;
  const type = config.model_type;
  if (!isArchitecture(type)) {
    const why = whyRefused(type);
    throw new UnsupportedModelError({
      lookedFor: SUPPORTED_MODEL_TYPES_TEXT,
      found: `model_type ${JSON.stringify(type)}`,
      ...(why ? { hint: `${why} Use onUnsupported: 'passthrough' to leave such pipelines unchanged.` } : {}),
    });
  }
  const proto = decodeModel(await platform.readSource(source.source));
  const layout = findLayout(proto);
  const fingerprint = graphFingerprint(proto);
  if (o.planFingerprint !== undefined && o.planFingerprint !== fingerprint) {
    throw new JmpArgumentError({
      argument: 'options.plan',
      expected: `a plan made for this model (graph fingerprint ${fingerprint})`,
      found: `a plan for graph ${o.planFingerprint}`,
      hint: 'Calibrate again on this model (a plan is for one model file and dtype).',
    });
  }
  const { shape, heads } = shapeFromConfig(config, layout);
  o = optionsForModel(o, shape.patches);
  const headOnly = resolveHeadOnly(o.headOnly, layout);
  const { blocks, steps, planned, budget } = planSchedule({ ...o, headOnly }, shape);
  // index ops where onnxruntime has them (CPU, wasm); float masks on WebGPU
  const indexOps = !onWebGPU(source.options);
  // The compiled graph where it can be built (opset ≥ 11), else segments.
  const compiled =
    o.runner !== 'segments' && layout.opset >= 11
      ? compileJMP(proto, layout, {
          method: o.method,
          blocks,
          ...(graphMethod(o.method).amount === 'r' ? { rs: steps.map((s) => s.amount) } : { keeps: steps.map((s) => s.amount) }),
          strategy: o.strategy,
          select: o.select,
          match: o.match,
          ...(o.tau !== undefined ? { tau: o.tau } : {}),
          metric: o.metric,
          proportionalAttention: o.proportionalAttention,
          trackSources: o.trackSources,
          heads,
          indexOps,
          headOnly,
          // where a dense neck reads the grid: each token keeps its own difference from the token it ended in
          // (AbsRel to the plain model halved on photo-depth's calibration scenes: docs/depth.md)
          gridRestore: 'residual',
        })
      : undefined;
  const refusal = compiled ? null : segmentsRefusal(layout);
  if (refusal) {
    throw new UnsupportedModelError({
      lookedFor: `${refusal.lookedFor} for the segments runner (runner: 'segments', importanceWeight or sizeWeight)`,
      found: refusal.found,
      hint: `Use the compiled runner (the default: runner 'auto' without importanceWeight or sizeWeight)${refusal.more ?? ''}.`,
    });
  }
  if (o.runner === 'compiled' && !compiled) {
    throw new UnsupportedModelError({ lookedFor: 'opset 11 or newer (runner: compiled)', found: `opset ${layout.opset}`, hint: "Use runner: 'segments'." });
  }
  const segments = compiled
    ? []
    : buildSegments(proto, layout, { blocks, proportionalAttention: o.proportionalAttention, heads, headOnly, packedKeys: perHeadKeys(o) });
  return {
    ...(compiled ? { compiled } : {}),
    runner: compiled ? 'compiled' : 'segments',
    indexed: !!compiled && jmpIndexForm({ ...o, indexOps }),
    layout,
    shape,
    steps,
    planned,
    budget,
    fingerprint,
    heads,
    segments,
    headOnly,
    options: o,
  };
}

/**
 * Why the segments runner cannot run a model (its segments exchange the token states and end in
 * `logits`), or null: per-token outputs need the token grid given back, CLIP's and SigLIP's
 * zero-shot models have text inputs and four outputs, DINOv2's head needs the sizes for its mean.
 */
function segmentsRefusal(layout: GraphLayout): { lookedFor: string; found: string; more?: string } | null {
  if (layout.perTokenOutput) {
    return {
      lookedFor: 'a model without per-token outputs',
      found: `a per-token output (${layout.perTokenOutput}): the compiled runner gives its full token grid back, the segments runner does not`,
      more: "; JMP never returns fewer tokens than the model's grid",
    };
  }
  // the architecture's own (CLIP's and SigLIP's zero-shot models)
  const own = architecture(layout.root).runners.segments;
  if (own) return own;
  if (layout.patchMean) {
    return {
      lookedFor: 'a head that reads the class token only',
      found: `a head that averages the patch tokens (${layout.root}): the compiled runner weights that mean by the merged tokens' sizes, the segments runner does not`,
    };
  }
  return null;
}

/** The segments give packed keys, and the runner per-head unit keys: JMP with metric 'keys-per-head'. */
export function perHeadKeys(o: Pick<ResolvedOptions, 'method' | 'metric'>): boolean {
  return o.method === 'jmp' && o.metric === 'keys-per-head';
}

/**
 * `headOnly` for a model: the user's choice, else on where the head reads only the protected tokens
 * and the graph is not dynamically quantized (q8: there the slice changes the quantization ranges
 * of that MLP's inputs, so keep = 1 would no longer give the plain logits exactly).
 */
export function resolveHeadOnly(headOnly: boolean | undefined, layout: GraphLayout): boolean {
  if (headOnly === true && !layout.headReadsProtectedOnly) {
    throw new UnsupportedModelError({
      lookedFor: 'a head that reads only the class (and distillation) token of the last block (options.headOnly: true)',
      found: 'a graph whose last block output is read otherwise (a graph output, or more tokens)',
      hint: 'Leave headOnly out (it is then off for this model), or set it to false.',
    });
  }
  return headOnly ?? (layout.headReadsProtectedOnly && !layout.dynamicQuantization);
}

/** Whether session options put the model on WebGPU. */
export function onWebGPU(options: Record<string, unknown>): boolean {
  const providers = options.executionProviders;
  return (
    Array.isArray(providers) && providers.some((p) => p === 'webgpu' || (typeof p === 'object' && p !== null && (p as { name?: unknown }).name === 'webgpu'))
  );
}

/**
 * {@link makePlan} with every failure typed: an unreadable file given as `modelSource` is a
 * {@link JmpArgumentError}; anything else that is not already a {@link JmpError} (an unreadable
 * file of the pipeline, an unexpected error while planning) an {@link UnsupportedModelError}
 * that keeps the original as `cause` (so `onUnsupported: 'passthrough'` covers it too).
 */
export async function planModel(config: Record<string, unknown>, o: ResolvedOptions, source: SessionSource): Promise<Plan> {
  try {
    return await makePlan(config, o, source);
  } catch (e) {
    if (JmpError.isInstance(e)) throw e;
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (typeof (e as { code?: unknown } | null)?.code === 'string' && typeof source.source === 'string') {
      // Reading the file failed (ENOENT, EISDIR, EACCES…).
      if (o.modelSource !== undefined) {
        throw new JmpArgumentError({
          argument: 'options.modelSource',
          expected: 'the path of a readable ONNX file, or its bytes',
          found: o.modelSource,
          hint: `Reading it failed (${message}).`,
        });
      }
      throw new UnsupportedModelError({
        lookedFor: `the pipeline's ONNX file ${source.source}`,
        found: `a file that could not be read (${message})`,
        hint: 'Pass the model as modelSource (its path or bytes).',
        cause: e,
      });
    }
    throw new UnsupportedModelError({
      lookedFor: 'a model this package can read and plan',
      found: `an error while planning (${message})`,
      hint: "This is probably a bug in @jmpjs/transformers-patch: please report it with the model. onUnsupported: 'passthrough' leaves such pipelines unchanged.",
      cause: e,
    });
  }
}
