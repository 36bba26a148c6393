import { Tensor, pipeline } from '@huggingface/transformers';
import { JmpArgumentError, baselineMacs, countMacs, type BlockTokens, type JmpMatch, type ModelShape } from '@jmpjs/core';
import { JmpError, JmpStateError, UnsupportedModelError } from '../errors.js';
import { encodeModel } from '../onnx/proto.js';
import { methodsFor, resolveOptions, type JMPOptions, type JmpMetric, type ResolvedOptions } from '../options.js';
import { onWebGPU, perHeadKeys, planModel, type Plan } from '../plan.js';
import { CompiledRunner } from '../runner/compiled-runner.js';
import { checkPixelValues } from '../runner/input.js';
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
  /** The pipeline's processor: DINOv2's image size is its crop size (the config's is the position table's). */
  processor?: unknown;
}

/** The model as this package sees it, for `jmp.info`. */
export interface JMPModelInfo {
  /** `vit`, `deit` or `dinov2`. */
  architecture: 'vit' | 'deit' | 'dinov2' | 'clip' | 'siglip';
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
  /** The GMACs budget the schedule was planned for (a share of the plain model's), or null when keep / r were given. */
  budget: number | null;
  /** Keep rate (JMP, EViT) or r (ToMe) of each reduction block, as planned. */
  schedule: { block: number; amount: number }[];
  /** GMACs per image of the plain model and, as planned, with the reduction (cost model; the reductions' own similarity work apart). */
  gmacs: { plain: number; planned: number };
  /** Of the model's graph structure: what a plan from `calibrateJMP` is checked against. */
  fingerprint: string;
  /** The export's shape: its default-domain opset, and how its attention is written. */
  opset: number;
  attention: 'eager' | 'sdpa' | 'clip';
  /** The last block's MLP runs on the protected tokens only (`headOnly`). */
  headOnly: boolean;
  /**
   * JMP's similarity metric as it runs on this model (the default is `'keys-per-head'` on models with
   * at most `FEW_PATCHES` patches, else `'keys'`), and its τ (null for a strategy without τ); null for
   * ToMe and EViT.
   */
  metric: JmpMetric | null;
  tau: number | readonly number[] | null;
  /** How JMP with select 'redundancy' pairs the tokens (`'bipartite'` or `'nearest'`); null for select 'attention', ToMe and EViT. */
  match: JmpMatch | null;
}

/**
 * Handle returned by {@link enableJMP}. `enable()`, `disable()` and `dispose()` (and the
 * pipeline's own `dispose()`) run one after another and wait for the calls in flight: those finish
 * as they started, calls made meanwhile wait and run in the new state.
 */
export interface JMPHandle {
  /** True while the pipeline runs with token reduction. */
  readonly enabled: boolean;
  /** What was found in the model; null when the pipeline was left unchanged (passthrough). */
  readonly info: JMPModelInfo | null;
  /** Totals since enable (or the last reset) and the last call in detail. */
  stats(): JMPStats;
  resetStats(): void;
  /** Restores the plain pipeline (the original session is re-created, the segments released). Nothing to do when off. */
  disable(): Promise<void>;
  /** Turns token reduction on again after `disable()`, with the same options. Nothing to do when on; a `JmpStateError` after `dispose()`. */
  enable(): Promise<void>;
  /** Restores the plain pipeline if needed and releases everything; `enable()` is a `JmpStateError` afterwards. */
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
  planConfigs.set(model as HostModel, planConfig(pipe, model.config));
  return model as HostModel;
}

/** The config each model is planned with (see {@link planConfig}). */
const planConfigs = new WeakMap<HostModel, Record<string, unknown>>();
const configOf = (model: HostModel) => planConfigs.get(model) ?? model.config;

/**
 * The model's config for planning. DINOv2 interpolates its position table to the input, and its
 * config's image_size is the table's (518 for the hub's checkpoints), not the images the pipeline
 * makes (its processor's crop, 224): the plan and the GMACs are for the crop size.
 */
function planConfig(pipe: unknown, config: Record<string, unknown>): Record<string, unknown> {
  if (config.model_type !== 'dinov2') return config;
  const processor = (pipe as { processor?: { image_processor?: unknown } } | undefined)?.processor;
  const image = (processor?.image_processor ?? processor) as { crop_size?: unknown; config?: { crop_size?: unknown } } | undefined;
  const crop = image?.crop_size ?? image?.config?.crop_size;
  const side = typeof crop === 'number' ? crop : crop && typeof crop === 'object' && (crop as { height?: unknown }).height === (crop as { width?: unknown }).width ? (crop as { height?: unknown }).height : undefined;
  return typeof side === 'number' && side > 0 ? { ...config, image_size: side } : config;
}



/**
 * Turns JMP (or ToMe / EViT, for comparisons) on in an existing transformers.js
 * pipeline: image-classification (ViT, DeiT, DINOv2), zero-shot-image-classification (CLIP, SigLIP)
 * or image-feature-extraction (CLIP, SigLIP, DINOv2). Pre- and post-processing and the output
 * format stay as they are; inside the model, the token count shrinks at the scheduled blocks.
 *
 * Bad options throw a `JmpArgumentError` before any work; an unrecognised model throws an
 * `UnsupportedModelError` (or, with `onUnsupported: 'passthrough'`, warns and leaves the pipeline unchanged).
 */
export async function enableJMP(pipe: ImageClassificationPipelineLike, options?: JMPOptions): Promise<JMPHandle> {
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
export async function inspectJMP(pipe: ImageClassificationPipelineLike, options?: JMPOptions): Promise<JMPModelInfo> {
  const o = resolveOptions(options);
  const model = hostModel(pipe);
  const { source, env } = resolveSource(model, o);
  return planInfo(await planModel(configOf(model), o, source), env);
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
    budget: plan.budget,
    schedule: plan.steps.map((s) => ({ ...s })),
    gmacs: { plain: baselineMacs(plan.shape).gmacs, planned: countMacs(plan.shape, plan.planned).gmacs },
    fingerprint: plan.fingerprint,
    opset: plan.layout.opset,
    attention: plan.layout.attention,
    headOnly: plan.headOnly,
    metric: plan.options.method === 'jmp' ? plan.options.metric : null,
    tau: plan.options.method === 'jmp' ? (plan.options.tau ?? null) : null,
    match: plan.options.method === 'jmp' && plan.options.select === 'redundancy' ? plan.options.match : null,
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


/** The same session options on the wasm execution provider (outputs on the CPU). */
function onWasm(options: Record<string, unknown>): Record<string, unknown> {
  const { preferredOutputLocation: _location, ...rest } = options;
  return { ...rest, executionProviders: ['wasm'] };
}

/** Marks the session stand-in of a patched pipeline. */
const PATCHED = Symbol.for('jmpjs.patched-session');

/** What runs a patched forward: the compiled model or the segments. */
interface Runner {
  /** The model's feeds (`pixel_values`; a CLIP model's text inputs too) to its own outputs. */
  run(feeds: Record<string, OrtTensorLike>): Promise<{ outputs: Record<string, OrtTensorLike>; record: CallRecord }>;
  release(): Promise<void>;
}

/** A float32 tensor of transformers.js's own onnxruntime (defined here, not as a closure, so it keeps nothing alive). */
function ortTensor(data: Float32Array, dims: number[]): OrtTensorLike {
  return (new Tensor('float32', data, dims) as unknown as { ort_tensor: OrtTensorLike }).ort_tensor;
}

/** Dimensions of the rows the compiled graph compares (CompiledRunnerOptions.similarityDims). */
function similarityDims(o: ResolvedOptions, hidden: number, heads: number): number {
  if (o.method === 'evit' || (o.method === 'jmp' && o.select === 'attention' && o.strategy === 'prune')) return 0;
  return o.method === 'jmp' && o.metric !== 'keys' ? hidden : hidden / heads;
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
      similarityDims: similarityDims(o, plan.shape.hidden, plan.heads),
      trackSources: o.trackSources,
      indexed: plan.indexed,
      headOnly: plan.headOnly,
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
    headOnly: plan.headOnly,
    ...(perHeadKeys(o) ? { perHeadKeys: plan.heads } : {}),
  });
}

/**
 * Which pipeline models have a JMP handle: one at a time per pipeline. `'starting'` is set
 * synchronously when enableJMP begins (so two concurrent enableJMP calls cannot both patch), and
 * `'disposed'` once the pipeline itself was disposed with JMP set up on it.
 */
const handles = new WeakMap<object, 'starting' | 'disposed' | Patch>();

/** Claims a pipeline for a new handle, or throws a {@link JmpStateError} saying why not. */
function claimPipeline(model: HostModel): void {
  const current = handles.get(model);
  if (current === 'disposed') {
    throw new JmpStateError({ operation: 'enable JMP', expected: 'a pipeline that was not disposed', found: 'a pipeline disposed with pipeline.dispose()', hint: 'Create the pipeline again.' });
  }
  if (current) {
    throw new JmpStateError({
      operation: 'enable JMP',
      expected: 'a pipeline without a JMP handle',
      found: current === 'starting' ? 'JMP already being turned on for this pipeline (another enableJMP call)' : `JMP already ${current.enabled ? 'on' : 'set up (now off)'} for this pipeline`,
      hint: 'Use that handle (enable() / disable()), or call dispose() on it first.',
    });
  }
  handles.set(model, 'starting');
}

/** Gives a claim back after enableJMP failed or passed the pipeline through. */
function unclaimPipeline(model: HostModel): void {
  if (handles.get(model) === 'starting') handles.delete(model);
}


/** Resolves after the tasks already queued (onnxruntime-node runs each session run in its own `setImmediate`). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => (typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * One pipeline with JMP set up on it. From `start()` until `dispose()` the model's `forward` is
 * this handle's router: with JMP on it validates `pixel_values` and runs the runner, with JMP off
 * it calls the model's own forward. Every call is counted while in flight, so that
 * enable / disable / dispose / pipeline.dispose() (run one after another) never release a session
 * under a running call: they close a gate (calls arriving meanwhile wait for the switch, then run
 * in the new state), wait for the calls in flight, switch the sessions and open the gate again.
 */
class Patch implements JMPHandle {
  private runner: Runner | null = null;
  private readonly collector = new StatsCollector();
  private mode: 'off' | 'on' | 'disposed' = 'off';
  /** Why the handle is disposed, for the errors of later calls (what was found). */
  private disposedBy: { found: string; expected: string; hint: string } | null = null;
  private plan: Plan | null;
  /** Open while sessions are switched: calls arriving wait for it. */
  private gate: Promise<void> | null = null;
  /** enable / disable / dispose / pipeline.dispose(), one after another. */
  private queue: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** The runner's calls in the browser, one after another (see oneAtATime). */
  private runQueue: Promise<void> = Promise.resolve();
  private drainWaiters: (() => void)[] = [];
  /** The plain session while JMP is off; its `release` is watched (pipeline.dispose() calls it). */
  private plain: { session: SessionLike; release: () => Promise<void>; restore: () => void } | null = null;
  /** The model's own `forward` property, if it had one (else the prototype's is used). */
  private readonly ownForward: PropertyDescriptor | undefined;
  /** sessions.model while JMP is on, and after pipeline.dispose(). */
  private readonly facade: SessionLike;
  /**
   * What the plain session is re-created from: the file the pipeline's own session was created
   * from where it is known (so that a `modelSource` never replaces the pipeline's model after
   * disable()), else the model JMP runs.
   */
  private plainSource: SessionSource;
  readonly info: JMPModelInfo;
  /** With a WebGPU session: says whether onnxruntime's WebGPU device was lost (then JMP goes on on wasm). */
  private webgpuLost: (() => boolean) | null = null;
  /** The switch to wasm after a lost WebGPU device, shared by the calls that saw it. */
  private recovery: Promise<void> | null = null;

  constructor(
    private readonly model: HostModel,
    private readonly ort: OrtModule,
    plan: Plan,
    private readonly o: ResolvedOptions,
    private source: SessionSource,
    env: { device: string; dtype: string },
  ) {
    this.plan = plan;
    this.info = planInfo(plan, env);
    this.collector.plan(this.info.gmacs);
    this.ownForward = Object.getOwnPropertyDescriptor(model, 'forward');
    this.plainSource = sessionSource(model.sessions.model!) ?? source;
    this.facade = {
      [PATCHED]: true,
      run: (feeds: Record<string, OrtTensorLike>) => this.runFacade(feeds),
      // pipeline.dispose() releases everything: the segments, without re-creating the plain session.
      release: () => this.serial(() => this.pipelineDisposed()),
      // what transformers.js v3's pipeline.dispose() calls instead of release()
      handler: { dispose: () => this.serial(() => this.pipelineDisposed()) },
      config: model.sessions.model!.config,
      // the model's own inputs and outputs (pixel_values → logits; CLIP: the text inputs too, and its four outputs)
      inputNames: [...(model.sessions.model!.inputNames ?? ['pixel_values'])],
      outputNames: [...(model.sessions.model!.outputNames ?? ['logits'])],
    } as SessionLike;
    rememberSource(this.facade, source); // inspectJMP keeps working on the patched pipeline
  }

  get enabled(): boolean {
    return this.mode === 'on';
  }

  async start(): Promise<this> {
    this.watchPlain(this.model.sessions.model!);
    this.model.forward = this.route;
    try {
      await this.enable();
    } catch (e) {
      this.restorePipeline();
      unclaimPipeline(this.model);
      throw e;
    }
    handles.set(this.model, this);
    return this;
  }

  stats(): JMPStats {
    return this.collector.snapshot();
  }

  resetStats(): void {
    this.collector.reset();
  }

  enable(): Promise<void> {
    return this.serial(() => this.switchOn());
  }

  disable(): Promise<void> {
    return this.serial(() => this.switchOff());
  }

  dispose(): Promise<void> {
    return this.serial(() => this.close());
  }

  // ---- calls ----------------------------------------------------------------------------------

  /** The model's forward while this handle exists. */
  private readonly route = (inputs: Record<string, unknown>): Promise<Record<string, unknown>> => {
    if (this.gate) return this.gate.then(() => this.model.forward(inputs));
    if (this.mode === 'on') return this.track(() => this.forwardJMP(inputs));
    return this.track(() => this.plainForward(inputs));
  };

  private async forwardJMP(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    // the session's inputs from the forward's (transformers.js Tensors): pixel_values, and a CLIP model's text inputs
    const feeds: Record<string, OrtTensorLike> = {};
    for (const name of this.facade.inputNames ?? ['pixel_values']) {
      const t = inputs[name] as { ort_tensor?: OrtTensorLike } | undefined;
      if (!t?.ort_tensor) {
        throw new JmpArgumentError({ argument: name, expected: name === 'pixel_values' ? 'a transformers.js Tensor [B, C, H, W]' : `a transformers.js Tensor (the model's input '${name}')`, found: inputs[name] });
      }
      feeds[name] = t.ort_tensor;
    }
    const outputs = await this.runChecked(feeds);
    return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new Tensor(t as never)]));
  }

  /** sessions.model.run, for code that runs the session directly. */
  private runFacade(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>> {
    if (this.gate) return this.gate.then(() => this.model.sessions.model!.run(feeds));
    if (this.mode === 'disposed') return Promise.reject(this.disposedError('run the pipeline'));
    if (this.mode === 'off') return this.model.sessions.model!.run(feeds);
    return this.track(async () => {
      if (!feeds.pixel_values) throw new JmpArgumentError({ argument: 'feeds.pixel_values', expected: 'an onnxruntime Tensor [B, C, H, W]', found: undefined });
      return this.runChecked(feeds);
    });
  }

  /** Checks the input, runs the runner, records the call; errors are typed. */
  private async runChecked(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>> {
    const pixelValues = feeds.pixel_values!;
    checkPixelValues(pixelValues, this.info.shape);
    // a device already known to be lost: straight to wasm (onnxruntime-web 1.22's JSEP, under
    // transformers.js v3, never settles a run on a lost device, so waiting for its error would hang)
    if (this.webgpuLost?.()) await this.goOnWasm();
    const runner = this.runner!;
    let result: Awaited<ReturnType<Runner['run']>>;
    try {
      result = await this.oneAtATime(() => runner.run(feeds));
    } catch (e) {
      if (JmpError.isInstance(e)) throw e;
      if (this.webgpuLost?.() || this.recovery) {
        // The documented fallback: the WebGPU device is gone, JMP goes on on wasm.
        await this.goOnWasm();
        // once, on the rebuilt runner (a failure of the wasm runner itself is reported below)
        if (this.runner !== runner) return this.runChecked(feeds);
      }
      throw new JmpError(
        `JMP's forward failed inside onnxruntime (${e instanceof Error ? e.message : String(e)}) on a checked input of dims [${pixelValues.dims.join(', ')}]. ` +
          'This is not expected: please report it with the model and options; jmp.disable() gives the plain pipeline back.',
        { cause: e },
      );
    }
    this.collector.add(result.record);
    return result.outputs;
  }

  /**
   * In the browser, the runner's calls one after another: an onnxruntime-web session runs one call
   * at a time ('Session already started' otherwise). transformers.js v4 queues its own session
   * runs; v3 does not, and the forward override is called outside v4's queue.
   */
  private oneAtATime<T>(run: () => Promise<T>): Promise<T> {
    if (platform.name !== 'web') return run();
    const result = this.runQueue.then(run);
    this.runQueue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private plainForward(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const forward = (this.ownForward?.value ?? Object.getPrototypeOf(this.model).forward) as HostModel['forward'];
    return forward.call(this.model, inputs);
  }

  /** Runs a call, counted while in flight. */
  private track<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    const done = () => {
      if (--this.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
    };
    let result: Promise<T>;
    try {
      result = run();
    } catch (e) {
      done();
      return Promise.reject(e);
    }
    return result.finally(done);
  }

  // ---- switching ------------------------------------------------------------------------------

  /** Runs lifecycle operations one after another (a failed one does not block the next). */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.queue.then(op);
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * Makes calls arriving from now on wait, then waits for the calls in flight (and for session
   * runs already queued by calls that started before enableJMP). Returns what opens it again.
   */
  private async closeGate(): Promise<() => void> {
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await nextTask();
    return () => {
      this.gate = null;
      open();
    };
  }

  private async switchOn(): Promise<void> {
    if (this.mode === 'disposed') throw this.disposedError('enable()');
    if (this.mode === 'on') return;
    // Planning (decoding, compiling) happens while calls still run on the plain session.
    let plan: Plan | null = this.plan ?? (await planModel(configOf(this.model), this.o, this.source));
    this.plan = null;
    const open = await this.closeGate();
    try {
      // Release the plain session first, then create the new sessions one by one (each segment's
      // bytes are encoded just before its session and dropped right after), so that peak memory
      // stays near the plain pipeline's.
      await this.plain!.release();
      this.plain = null;
      let sessions: SessionLike[];
      try {
        sessions = await this.createSessions(plan);
      } catch (e) {
        this.watchPlain(await this.createPlain());
        if (JmpError.isInstance(e)) throw e;
        throw new UnsupportedModelError({
          lookedFor: `onnxruntime to load the ${plan.runner === 'compiled' ? 'compiled' : 'segment'} model built from this model`,
          found: `an error (${e instanceof Error ? e.message : String(e)})`,
          hint: `The plain pipeline was restored. Try runner: '${plan.runner === 'compiled' ? 'segments' : 'compiled'}', and please report this with the model.`,
          cause: e,
        });
      }
      this.runner = makeRunner(plan, sessions, plan.options);
      plan = null; // nothing below keeps the model bytes alive
      this.webgpuLost = onWebGPU(this.source.options) ? await platform.watchWebGPUDevice() : null;
      this.model.sessions.model = this.facade;
      this.mode = 'on';
    } finally {
      open();
    }
  }

  private async switchOff(): Promise<void> {
    if (this.mode !== 'on') return;
    const open = await this.closeGate();
    try {
      const runner = this.runner!;
      this.runner = null;
      this.mode = 'off';
      await runner.release();
      let plain: SessionLike;
      try {
        plain = await this.createPlain();
      } catch (e) {
        // Nothing to run the pipeline with: later calls get a typed error too.
        const found = `a plain session that onnxruntime could not create again (${e instanceof Error ? e.message : String(e)})`;
        await this.retire({ found, expected: 'a pipeline that can run', hint: 'Create the pipeline again.' });
        throw new JmpStateError({ operation: 'disable()', expected: 'the plain session to be created again', found, hint: 'The pipeline cannot run any more: create it again.', cause: e });
      }
      this.watchPlain(plain);
    } finally {
      open();
    }
  }

  /** jmp.dispose(): the plain pipeline, exactly as it was without this handle. */
  private async close(): Promise<void> {
    await this.switchOff();
    if (this.mode === 'disposed') return;
    this.restorePipeline();
    this.plain = null;
    this.mode = 'disposed';
    this.disposedBy = { found: 'a disposed handle', expected: 'a JMP handle that was not disposed', hint: 'Call enableJMP(pipeline, options) again for a new handle.' };
    handles.delete(this.model);
  }

  /** pipeline.dispose() (it releases sessions.model, the facade or the watched plain session). */
  private async pipelineDisposed(): Promise<void> {
    if (this.mode === 'disposed') return;
    const open = await this.closeGate();
    try {
      const runner = this.runner;
      this.runner = null;
      await runner?.release();
      await this.retire({ found: 'a pipeline disposed with pipeline.dispose()', expected: 'a pipeline that was not disposed', hint: 'Create the pipeline again (then enableJMP on it).' });
    } finally {
      open();
    }
  }

  /**
   * The pipeline cannot run any more (disposed): releases the plain session (if any) and leaves
   * the facade as sessions.model, whose run() then throws a typed error.
   */
  private async retire(why: NonNullable<Patch['disposedBy']>): Promise<void> {
    const plain = this.plain;
    this.plain = null;
    this.model.sessions.model = this.facade;
    this.restoreForward();
    this.mode = 'disposed';
    this.disposedBy = why;
    handles.set(this.model, 'disposed');
    await plain?.release();
  }

  private disposedError(operation: string): JmpStateError {
    const why = this.disposedBy ?? { found: 'a disposed handle', expected: 'a JMP handle that was not disposed', hint: 'Call enableJMP(pipeline, options) again.' };
    return new JmpStateError({ operation, ...why });
  }

  // ---- sessions -------------------------------------------------------------------------------

  /** Makes `session` the pipeline's plain session; pipeline.dispose() calling its release disposes this handle. */
  private watchPlain(session: SessionLike): void {
    // pipeline.dispose(): transformers.js v4 calls session.release(), v3 session.handler.dispose()
    const disposed = () => this.serial(() => this.pipelineDisposed());
    const release = session.release;
    const restoreRelease = hookMethod(session, 'release', disposed);
    const handler = (session as { handler?: { dispose?: unknown } }).handler;
    const restoreHandler = handler && typeof handler.dispose === 'function' ? hookMethod(handler as { dispose: () => Promise<void> }, 'dispose', disposed) : () => {};
    const restore = () => {
      restoreRelease();
      restoreHandler();
    };
    this.plain = {
      session,
      release: () => {
        restore();
        return release.call(session);
      },
      restore,
    };
    this.model.sessions.model = session;
  }

  /** Gives the pipeline its own forward back, and its plain session its own release. */
  private restorePipeline(): void {
    this.restoreForward();
    this.plain?.restore();
  }

  private restoreForward(): void {
    if (this.model.forward !== this.route) return;
    if (this.ownForward) Object.defineProperty(this.model, 'forward', this.ownForward);
    else delete (this.model as Partial<HostModel>).forward; // back to the prototype's forward
  }

  /** The plain session, as transformers.js created it. */
  private async createPlain(): Promise<SessionLike> {
    const session = (await createSession(this.ort, this.plainSource.source, this.plainSource.options)) as SessionLike;
    rememberSource(session, this.plainSource); // so that enableJMP works on this pipeline again
    return session;
  }

  /** The sessions of a plan, one by one (each segment's bytes encoded just before its session); none left on failure. */
  private async createSessions(plan: Plan): Promise<SessionLike[]> {
    const sessions: SessionLike[] = [];
    try {
      if (plan.compiled) {
        const bytes = encodeModel(plan.compiled);
        delete plan.compiled; // the decoded model (and the file bytes it points into) can go before ORT parses
        sessions.push(await this.createCompiled(bytes));
      } else for (const segment of plan.segments) sessions.push(await this.createSegment(encodeModel(segment.model)));
      return sessions;
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release()));
      throw e;
    }
  }

  /**
   * After onnxruntime's WebGPU device was lost: warns once, rebuilds the JMP sessions on wasm (and
   * the plain session will be re-created on wasm by disable()). Calls that saw the loss wait for it.
   */
  /** {@link recoverOnWasm}, its failure typed. */
  private async goOnWasm(): Promise<void> {
    try {
      await this.recoverOnWasm();
    } catch (failure) {
      throw new JmpError(
        `The WebGPU device was lost and JMP could not go on with device 'wasm' (${failure instanceof Error ? failure.message : String(failure)}). Create the pipeline again.`,
        { cause: failure },
      );
    }
  }

  private recoverOnWasm(): Promise<void> {
    this.recovery ??= (async () => {
      this.o.warn("[jmp] The WebGPU device was lost: JMP goes on with device 'wasm' (the same results, more slowly).");
      this.webgpuLost = null;
      this.source = { ...this.source, options: onWasm(this.source.options) };
      this.plainSource = { ...this.plainSource, options: onWasm(this.plainSource.options) };
      const plan = await planModel(configOf(this.model), this.o, this.source);
      const sessions = await this.createSessions(plan);
      const lost = this.runner;
      this.runner = makeRunner(plan, sessions, plan.options);
      this.info.device = 'wasm';
      await lost?.release().catch(() => {}); // sessions of a lost device may not release cleanly
    })();
    return this.recovery;
  }

  /** The compiled model's session: exactly the pipeline's own session options. */
  private createCompiled(bytes: Uint8Array): Promise<SessionLike> {
    return createSession(this.ort, bytes, this.source.options) as Promise<SessionLike>;
  }

  /** A segment session: the pipeline's own session options, tuned for several sessions in a row. */
  private createSegment(bytes: Uint8Array): Promise<SessionLike> {
    return createSession(this.ort, bytes, segmentSessionOptions(this.source.options)) as Promise<SessionLike>;
  }
}

/** Replaces `obj[key]` with `fn`; the function returned puts the original back (own property or prototype's). */
function hookMethod<K extends string>(obj: { [k in K]: () => Promise<void> }, key: K, fn: () => Promise<void>): () => void {
  const own = Object.getOwnPropertyDescriptor(obj, key);
  obj[key] = fn as (typeof obj)[K];
  return () => {
    if (own) Object.defineProperty(obj, key, own);
    else delete (obj as Partial<typeof obj>)[key];
  };
}
