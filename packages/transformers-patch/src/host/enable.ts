import { Tensor, pipeline } from '@huggingface/transformers';
import { JmpArgumentError, planTokens, resolveSchedule, type BlockTokens, type ModelShape } from '@jmpjs/core';
import { JmpStateError, UnsupportedModelError } from '../errors.js';
import { findLayout, type GraphLayout } from '../graph/layout.js';
import { shapeFromConfig } from '../graph/model-shape.js';
import { compileJMP } from '../graph/compile.js';
import { buildSegments, type Segment } from '../graph/segments.js';
import { decodeModel, encodeModel, type ModelProto } from '../onnx/proto.js';
import { defaultBlocks, methodsFor, resolveOptions, type JMPOptions, type ResolvedOptions } from '../options.js';
import { CompiledRunner } from '../runner/compiled-runner.js';
import { SegmentRunner, type CallRecord, type OrtTensorLike, type SessionLike } from '../runner/segment-runner.js';
import { platform } from '#platform';
import { createSession, rememberSource, sessionSource, trackSessions, type OrtModule, type SessionSource } from './sessions.js';
import { StatsCollector, type JMPStats } from './stats.js';

trackSessions(platform.ort());

/** What of a transformers.js model this package touches. */
interface HostModel {
  config: Record<string, unknown>;
  sessions: Record<string, SessionLike & { config?: { device?: string; dtype?: string } }>;
  forward: (inputs: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/** An image-classification pipeline of transformers.js (only `model` is used). */
export interface ImageClassificationPipelineLike {
  model: unknown;
}

/** The model as this package sees it, for `jmp.info`. */
export interface JMPModelInfo {
  /** `vit` or `deit`. */
  architecture: 'vit' | 'deit';
  depth: number;
  protectedTokens: number;
  /** 1-based blocks that reduce. */
  reductionBlocks: number[];
  /** Planned token counts per block at the model's image size. */
  plannedTokens: BlockTokens[];
  /** Sizes for the cost model (`countMacs(shape, blocks)` from `@jmpjs/core`). */
  shape: ModelShape;
  device: string;
  dtype: string;
  /** How the reduction runs: one compiled session, or segments with `@jmpjs/core` between them. */
  runner: 'compiled' | 'segments';
}

/** Handle returned by {@link enableJMP}. */
export interface JMPHandle {
  /** True while the pipeline runs with token reduction. */
  readonly enabled: boolean;
  /** What was found in the model; null when the pipeline was left unchanged (passthrough). */
  readonly info: JMPModelInfo | null;
  /** Totals since enable (or the last reset) and the last call in detail. */
  stats(): JMPStats;
  resetStats(): void;
  /** Restores the plain pipeline (the original session is re-created, the segments released). */
  disable(): Promise<void>;
  /** Turns token reduction on again after `disable()`, with the same options. */
  enable(): Promise<void>;
  /** Restores the plain pipeline if needed and releases everything; the handle can't be used afterwards. */
  dispose(): Promise<void>;
}

function hostModel(pipe: unknown): HostModel {
  const model = (pipe as ImageClassificationPipelineLike | undefined)?.model as Partial<HostModel> | undefined;
  if (!model || (typeof model !== 'object' && typeof model !== 'function') || !model.sessions || typeof model.forward !== 'function' || !model.config) {
    throw new JmpArgumentError({
      argument: 'pipeline',
      expected: "a transformers.js pipeline, e.g. await pipeline('image-classification', model)",
      found: pipe,
    });
  }
  if (!model.sessions.model) {
    throw new UnsupportedModelError({ lookedFor: "a model with one ONNX session named 'model'", found: `sessions [${Object.keys(model.sessions).join(', ')}]` });
  }
  return model as HostModel;
}

/** Everything built from the model and the options, before any session changes. */
interface Plan {
  layout: GraphLayout;
  shape: ModelShape;
  steps: { block: number; amount: number }[];
  planned: BlockTokens[];
  heads: number;
  /** The segment models (segments runner); encoded one at a time when their sessions are created. */
  segments: Segment[];
  /** The model with JMP compiled in (compiled runner); dropped once encoded. */
  compiled?: ModelProto;
  runner: 'compiled' | 'segments';
}

async function makePlan(model: HostModel, o: ResolvedOptions, source: SessionSource): Promise<Plan> {
  const config = model.config;
  const type = config.model_type;
  if (type !== 'vit' && type !== 'deit') {
    throw new UnsupportedModelError({ lookedFor: "a ViT-family model (config.model_type 'vit' or 'deit')", found: `model_type ${JSON.stringify(type)}` });
  }
  const proto = decodeModel(await platform.readSource(source.source));
  const layout = findLayout(proto);
  const depth = layout.blocks.length;
  const { shape, heads } = shapeFromConfig(config, layout);
  const blocks = o.blocks ?? defaultBlocks(o.method, depth);
  const schedule = o.method === 'tome' ? { blocks, r: o.r! } : { blocks, keep: o.keep };
  const steps = resolveSchedule(schedule, o.method, depth);
  const planned = planTokens({ schedule, method: o.method, depth, tokens: shape.patches + layout.protectedTokens, protectedTokens: layout.protectedTokens });
  // The compiled graph where it can be built (opset ≥ 13), else segments.
  const compiled =
    o.runner !== 'segments' && layout.opset >= 13
      ? compileJMP(proto, layout, {
          method: o.method,
          blocks,
          ...(o.method === 'tome' ? { rs: steps.map((s) => s.amount) } : { keeps: steps.map((s) => s.amount) }),
          strategy: o.strategy,
          ...(o.tau !== undefined ? { tau: o.tau } : {}),
          proportionalAttention: o.proportionalAttention,
          trackSources: o.trackSources,
          heads,
        })
      : undefined;
  if (o.runner === 'compiled' && !compiled) {
    throw new UnsupportedModelError({ lookedFor: 'opset 13 or newer (runner: compiled)', found: `opset ${layout.opset}`, hint: "Use runner: 'segments'." });
  }
  const segments = compiled ? [] : buildSegments(proto, layout, { blocks, proportionalAttention: o.proportionalAttention, heads });
  return {
    ...(compiled ? { compiled } : {}),
    runner: compiled ? 'compiled' : 'segments',
    layout,
    shape,
    steps,
    planned,
    heads,
    segments,
  };
}

/**
 * Turns JMP (or ToMe / EViT, for comparisons) on in an existing transformers.js
 * image-classification pipeline of a ViT or DeiT model. Pre- and post-processing and the output
 * format stay as they are; inside the model, the token count shrinks at the scheduled blocks.
 *
 * Bad options throw a `JmpArgumentError` before any work; an unrecognised model throws an
 * `UnsupportedModelError` (or, with `onUnsupported: 'passthrough'`, warns and leaves the pipeline unchanged).
 */
export async function enableJMP(pipe: ImageClassificationPipelineLike, options?: JMPOptions): Promise<JMPHandle> {
  const o = resolveOptions(options);
  const model = hostModel(pipe);
  if ((model.sessions.model as { [PATCHED]?: true })[PATCHED]) {
    throw new JmpStateError('JMP is already on for this pipeline: call disable() or dispose() on its handle first.');
  }
  const { source, env } = resolveSource(model, o);
  let plan: Plan;
  try {
    plan = await makePlan(model, o, source);
  } catch (e) {
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
export async function inspectJMP(pipe: ImageClassificationPipelineLike, options?: JMPOptions): Promise<JMPModelInfo> {
  const o = resolveOptions(options);
  const model = hostModel(pipe);
  const { source, env } = resolveSource(model, o);
  return planInfo(await makePlan(model, o, source), env);
}

/**
 * The onnxruntime that created the pipeline's session: its own class when it has `create` (so
 * this package's sessions come from the very same onnxruntime instance, even if the app bundles
 * two copies), else the platform's.
 */
function sessionClassOf(session: object): OrtModule {
  const ctor: unknown = (session as { constructor?: unknown }).constructor;
  const ownClass = typeof ctor === 'function' && ctor !== Object && typeof (ctor as { create?: unknown }).create === 'function';
  return ownClass ? { InferenceSession: ctor as unknown as OrtModule['InferenceSession'] } : platform.ort();
}

function resolveSource(model: HostModel, o: ResolvedOptions): { source: SessionSource; env: { device: string; dtype: string } } {
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

function planInfo(plan: Plan, env: { device: string; dtype: string }): JMPModelInfo {
  return {
    architecture: plan.layout.root,
    depth: plan.layout.blocks.length,
    protectedTokens: plan.layout.protectedTokens,
    reductionBlocks: plan.steps.map((s) => s.block),
    plannedTokens: plan.planned,
    shape: plan.shape,
    device: env.device,
    dtype: env.dtype,
    runner: plan.runner,
  };
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
  if (pipelineOptions.device === 'webgpu' && !(await platform.webgpuAvailable())) {
    // transformers.js itself would throw ("Unsupported device"): fall back to wasm, as documented
    o.warn("[jmp] WebGPU is not available here (no navigator.gpu adapter): the pipeline runs on device 'wasm' instead.");
    pipelineOptions = { ...pipelineOptions, device: 'wasm' };
  }
  const classifier = await pipeline('image-classification', model, pipelineOptions);
  try {
    const jmp = await enableJMP(classifier as unknown as ImageClassificationPipelineLike, jmpOptions);
    return { classifier, jmp };
  } catch (e) {
    await (classifier as unknown as { dispose?: () => Promise<void> }).dispose?.();
    throw e;
  }
}

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

/** Marks the session stand-in of a patched pipeline. */
const PATCHED = Symbol.for('jmpjs.patched-session');

/** What runs a patched forward: the compiled model or the segments. */
interface Runner {
  run(pixelValues: OrtTensorLike): Promise<{ logits: OrtTensorLike; record: CallRecord }>;
  release(): Promise<void>;
}

/** A float32 tensor of transformers.js's own onnxruntime (defined here, not as a closure, so it keeps nothing alive). */
function ortTensor(data: Float32Array, dims: number[]): OrtTensorLike {
  return (new Tensor('float32', data, dims) as unknown as { ort_tensor: OrtTensorLike }).ort_tensor;
}

/** The segment runner for a plan's sessions; keeps nothing of the plan but sizes and schedule. */
function makeRunner(plan: Plan, sessions: SessionLike[], o: ResolvedOptions): Runner {
  if (plan.runner === 'compiled') {
    return new CompiledRunner({
      session: sessions[0]!,
      method: o.method,
      steps: plan.steps,
      strategy: o.strategy,
      shape: plan.shape,
      heads: plan.heads,
      trackSources: o.trackSources,
    });
  }
  const methods = methodsFor(o, plan.steps);
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
  });
}

class Patch implements JMPHandle {
  private runner: Runner | null = null;
  private readonly collector = new StatsCollector();
  private disposed = false;
  private plan: Plan | null;
  readonly info: JMPModelInfo;

  constructor(
    private readonly model: HostModel,
    private readonly ort: OrtModule,
    plan: Plan,
    private readonly o: ResolvedOptions,
    private readonly source: SessionSource,
    env: { device: string; dtype: string },
  ) {
    this.plan = plan;
    this.info = planInfo(plan, env);
  }

  get enabled(): boolean {
    return this.runner !== null;
  }

  async start(): Promise<this> {
    await this.enable();
    return this;
  }

  stats(): JMPStats {
    return this.collector.snapshot();
  }

  resetStats(): void {
    this.collector.reset();
  }

  /** The plain session, as transformers.js created it. */
  private async createPlain(): Promise<SessionLike> {
    const session = (await createSession(this.ort, this.source.source, this.source.options)) as SessionLike;
    rememberSource(session, this.source); // so that enableJMP works on this pipeline again
    return session;
  }

  /** The compiled model's session: exactly the pipeline's own session options. */
  private createCompiled(bytes: Uint8Array): Promise<SessionLike> {
    return createSession(this.ort, bytes, this.source.options) as Promise<SessionLike>;
  }

  /** A segment session: the pipeline's own session options, tuned for several sessions in a row. */
  private createSegment(bytes: Uint8Array): Promise<SessionLike> {
    return createSession(this.ort, bytes, segmentSessionOptions(this.source.options)) as Promise<SessionLike>;
  }

  async enable(): Promise<void> {
    if (this.disposed) throw new JmpStateError('This JMP handle was disposed: call enableJMP again.');
    if (this.runner) return;
    let plan: Plan | null = this.plan ?? (await makePlan(this.model, this.o, this.source));
    this.plan = null;
    const original = this.model.sessions.model!;
    // Release the plain session first, then create the segments one by one (each segment's bytes
    // are encoded just before its session and dropped right after), so that peak memory stays
    // near the plain pipeline's.
    await original.release();
    const sessions: SessionLike[] = [];
    try {
      if (plan.compiled) {
        const bytes = encodeModel(plan.compiled);
        delete plan.compiled; // the decoded model (and the file bytes it points into) can go before ORT parses
        sessions.push(await this.createCompiled(bytes));
      }
      else for (const segment of plan.segments) sessions.push(await this.createSegment(encodeModel(segment.model)));
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release()));
      this.model.sessions.model = await this.createPlain();
      throw e;
    }
    const runner = makeRunner(plan, sessions, this.o);
    plan = null; // nothing below keeps the model bytes alive
    this.install(runner, original.config);
  }

  private install(runner: Runner, config: HostModel['sessions'][string]['config']): void {
    this.runner = runner;
    const collector = this.collector;
    this.model.forward = async (inputs: Record<string, unknown>) => {
      const pixels = inputs.pixel_values as { ort_tensor?: OrtTensorLike } | undefined;
      if (!pixels?.ort_tensor) {
        throw new JmpArgumentError({ argument: 'pixel_values', expected: 'a transformers.js Tensor [B, C, H, W]', found: inputs.pixel_values });
      }
      const { logits, record } = await runner.run(pixels.ort_tensor);
      collector.add(record);
      return { logits: new Tensor(logits as never) };
    };
    const facade = {
      [PATCHED]: true,
      run: async (feeds: Record<string, OrtTensorLike>) => ({ logits: (await runner.run(feeds.pixel_values!)).logits }),
      // pipeline.dispose() releases everything: the segments, without re-creating the plain session.
      release: () => this.releaseForGood(),
      config,
      inputNames: ['pixel_values'],
      outputNames: ['logits'],
    };
    rememberSource(facade, this.source); // inspectJMP keeps working on the patched pipeline
    this.model.sessions.model = facade as SessionLike;
  }

  async disable(): Promise<void> {
    const runner = this.runner;
    if (!runner) return;
    this.runner = null;
    delete (this.model as Partial<HostModel>).forward; // back to the prototype's forward
    await runner.release();
    this.model.sessions.model = await this.createPlain();
  }

  private async releaseForGood(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    this.disposed = true;
    delete (this.model as Partial<HostModel>).forward;
    await runner?.release();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.disable();
    this.disposed = true;
  }
}
