// The handle's lifecycle: one pipeline with JMP set up on it, from enableJMP to dispose.
import { JmpArgumentError } from '@jmpjs/core';
import { JmpError, JmpStateError, UnsupportedModelError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { planModel, type Plan } from '../plan.js';
import { checkPixelValues, type InputShape } from '../runner/input.js';
import { architecture } from '../graph/architectures/index.js';
import type { OrtTensorLike, SessionLike } from '../runner/segment-runner.js';
import { platform } from '#platform';
import { CallGate, SerialQueue } from './call-gate.js';
import { configOf, type HostModel } from './host-model.js';
import { planInfo, type JMPModelInfo } from './model-info.js';
import { createPlainSession, watchSession, type WatchedSession } from './plain-session.js';
import { markPipelineDisposed, pipelineState, registerHandle, releasePipeline, unclaimPipeline, type RegisteredHandle } from './registry.js';
import { createPlanSessions, forwardOutputs, makeRunner, runnerFeeds, type Runner } from './runner-factory.js';
import { sessionSource, type OrtModule, type SessionSource } from './sessions.js';
import { ForwardSwap, makeFacade } from './facade.js';
import { StatsCollector, type JMPStats } from './stats.js';
import type { JMPHandle } from './types.js';
import { WebGPUFallback, onWasm } from './webgpu-fallback.js';
import { HANDLE_DISPOSED, PIPELINE_DISPOSED, PIPELINE_TAKEN, type DisposedBy } from './disposed.js';

/**
 * One pipeline with JMP set up on it. From `start()` until `dispose()` the model's `forward` is
 * this handle's router: with JMP on it validates `pixel_values` and runs the runner, with JMP off
 * it calls the model's own forward. Every call is counted while in flight, so that
 * enable / disable / dispose / pipeline.dispose() (run one after another) never release a session
 * under a running call: they close a gate (calls arriving meanwhile wait for the switch, then run
 * in the new state), wait for the calls in flight, switch the sessions and open the gate again.
 */
export class Patch implements JMPHandle, RegisteredHandle {
  private runner: Runner | null = null;
  private readonly collector = new StatsCollector();
  private mode: 'off' | 'on' | 'disposed' = 'off';
  /** Why the handle is disposed, for the errors of later calls (what was found). */
  private disposedBy: DisposedBy | null = null;
  private plan: Plan | null;
  /** Calls in flight, and the gate that holds new calls while sessions are switched. */
  private readonly calls = new CallGate();
  /** enable / disable / dispose / pipeline.dispose(), one after another. */
  private readonly queue = new SerialQueue();
  /** The runner's calls in the browser, one after another (see oneAtATime). */
  private readonly runQueue = new SerialQueue();
  /** The plain session while JMP is off; its `release` is watched (pipeline.dispose() calls it). */
  private plain: WatchedSession | null = null;
  /** The model's forward, swapped for {@link route} from start() until dispose(). */
  private readonly forward: ForwardSwap;
  /** sessions.model while JMP is on, and after pipeline.dispose(). */
  private readonly facade: SessionLike;
  /**
   * What the plain session is re-created from: the file the pipeline's own session was created
   * from where it is known (so that a `modelSource` never replaces the pipeline's model after
   * disable()), else the model JMP runs.
   */
  private plainSource: SessionSource;
  readonly info: JMPModelInfo;
  /** What each call's pixel_values are checked against (planned once). */
  private readonly input: InputShape;
  /** With a WebGPU session: the watch on its device, and the switch to wasm once it is lost. */
  private readonly webgpu: WebGPUFallback;

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
    this.input = { ...this.info.shape, anyGrid: architecture(this.info.architecture).gridFromInput ?? false };
    this.collector.plan(this.info.gmacs);
    this.forward = new ForwardSwap(model, this.route);
    this.plainSource = sessionSource(model.sessions.model!) ?? source;
    this.webgpu = new WebGPUFallback(
      (message) => o.warn(message),
      () => this.rebuildOnWasm(),
    );
    this.facade = makeFacade(model.sessions.model!, source, {
      run: (feeds) => this.runFacade(feeds),
      // pipeline.dispose() releases everything: the segments, without re-creating the plain session.
      pipelineDisposed: () => this.serial(() => this.pipelineDisposed()),
    });
  }

  get enabled(): boolean {
    return this.mode === 'on';
  }

  async start(): Promise<this> {
    this.watchPlain(this.model.sessions.model!);
    this.forward.install();
    try {
      await this.enable();
    } catch (e) {
      this.restorePipeline();
      unclaimPipeline(this.model);
      throw e;
    }
    registerHandle(this.model, this);
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

  /**
   * While off: takes this handle off the pipeline (its own forward and plain session, free for
   * enableJMP, as if the handle were not there), runs `run`, then puts the handle back on the
   * pipeline's plain session of then, still off. Queued with enable / disable / dispose: those
   * called meanwhile wait for `run`. While on, a {@link JmpStateError} saying to call disable().
   */
  detachedWhile<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return this.serial(async () => {
      if (this.mode === 'on') {
        throw new JmpStateError({
          operation,
          expected: 'a pipeline with JMP off (it is measured against its plain outputs)',
          found: 'JMP on for this pipeline',
          hint: 'Call jmp.disable() first: the pipeline is then calibrated as if the handle were not there, and the handle stays off (jmp.enable() turns it on again).',
        });
      }
      if (this.mode === 'disposed') return run(); // the pipeline is plain (dispose()), or disposed (its own typed errors)
      this.restorePipeline();
      this.plain = null;
      releasePipeline(this.model);
      try {
        return await run();
      } finally {
        this.reattach();
      }
    });
  }

  /** Back on the pipeline after {@link detachedWhile}, off, on its plain session of now. */
  private reattach(): void {
    const state = pipelineState(this.model);
    if (state === 'free') {
      this.watchPlain(this.model.sessions.model!);
      this.model.forward = this.route;
      registerHandle(this.model, this);
      return;
    }
    this.mode = 'disposed';
    this.disposedBy = state === 'disposed' ? PIPELINE_DISPOSED : PIPELINE_TAKEN;
  }

  // ---- calls ----------------------------------------------------------------------------------

  /** The model's forward while this handle exists. */
  private readonly route = (inputs: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const closed = this.calls.closed;
    if (closed) return closed.then(() => this.model.forward(inputs));
    if (this.mode === 'on') return this.calls.track(() => this.forwardJMP(inputs));
    return this.calls.track(() => this.plainForward(inputs));
  };

  private async forwardJMP(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    return forwardOutputs(await this.runChecked(runnerFeeds(inputs, this.facade.inputNames ?? ['pixel_values'])));
  }

  /** sessions.model.run, for code that runs the session directly. */
  private runFacade(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>> {
    const closed = this.calls.closed;
    if (closed) return closed.then(() => this.model.sessions.model!.run(feeds));
    if (this.mode === 'disposed') return Promise.reject(this.disposedError('run the pipeline'));
    if (this.mode === 'off') return this.model.sessions.model!.run(feeds);
    return this.calls.track(async () => {
      if (!feeds.pixel_values) throw new JmpArgumentError({ argument: 'feeds.pixel_values', expected: 'an onnxruntime Tensor [B, C, H, W]', found: undefined });
      return this.runChecked(feeds);
    });
  }

  /** Checks the input, runs the runner, records the call; errors are typed. */
  private async runChecked(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>> {
    const pixelValues = feeds.pixel_values!;
    checkPixelValues(pixelValues, this.input);
    // a device already known to be lost: straight to wasm (onnxruntime-web 1.22's JSEP, under
    // transformers.js v3, never settles a run on a lost device, so waiting for its error would hang)
    if (this.webgpu.deviceLost) await this.webgpu.goOnWasm();
    const runner = this.runner!;
    let result: Awaited<ReturnType<Runner['run']>>;
    try {
      result = await this.oneAtATime(() => runner.run(feeds));
    } catch (e) {
      if (JmpError.isInstance(e)) throw e;
      if (this.webgpu.explainsFailure) {
        // The documented fallback: the WebGPU device is gone, JMP goes on on wasm.
        await this.webgpu.goOnWasm();
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
    return platform.name !== 'web' ? run() : this.runQueue.run(run);
  }

  private plainForward(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.forward.original().call(this.model, inputs);
  }

  // ---- switching ------------------------------------------------------------------------------

  /** Runs lifecycle operations one after another (a failed one does not block the next). */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    return this.queue.run(op);
  }

  private async switchOn(): Promise<void> {
    if (this.mode === 'disposed') throw this.disposedError('enable()');
    if (this.mode === 'on') return;
    // Planning (decoding, compiling) happens while calls still run on the plain session.
    let plan: Plan | null = this.plan ?? (await planModel(configOf(this.model), this.o, this.source));
    this.plan = null;
    const open = await this.calls.close();
    try {
      // Release the plain session first, then create the new sessions one by one (each segment's
      // bytes are encoded just before its session and dropped right after), so that peak memory
      // stays near the plain pipeline's.
      await this.plain!.release();
      this.plain = null;
      let sessions: SessionLike[];
      try {
        sessions = await createPlanSessions(this.ort, plan, this.source.options);
      } catch (e) {
        this.watchPlain(await createPlainSession(this.ort, this.plainSource));
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
      await this.webgpu.watch(this.source.options);
      this.model.sessions.model = this.facade;
      this.mode = 'on';
    } finally {
      open();
    }
  }

  private async switchOff(): Promise<void> {
    if (this.mode !== 'on') return;
    const open = await this.calls.close();
    try {
      const runner = this.runner!;
      this.runner = null;
      this.mode = 'off';
      await runner.release();
      let plain: SessionLike;
      try {
        plain = await createPlainSession(this.ort, this.plainSource);
      } catch (e) {
        // Nothing to run the pipeline with: later calls get a typed error too.
        const found = `a plain session that onnxruntime could not create again (${e instanceof Error ? e.message : String(e)})`;
        await this.retire({ found, expected: 'a pipeline that can run', hint: 'Create the pipeline again.' });
        throw new JmpStateError({
          operation: 'disable()',
          expected: 'the plain session to be created again',
          found,
          hint: 'The pipeline cannot run any more: create it again.',
          cause: e,
        });
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
    this.disposedBy = HANDLE_DISPOSED;
    releasePipeline(this.model);
  }

  /** pipeline.dispose() (it releases sessions.model, the facade or the watched plain session). */
  private async pipelineDisposed(): Promise<void> {
    if (this.mode === 'disposed') return;
    const open = await this.calls.close();
    try {
      const runner = this.runner;
      this.runner = null;
      await runner?.release();
      await this.retire(PIPELINE_DISPOSED);
    } finally {
      open();
    }
  }

  /**
   * The pipeline cannot run any more (disposed): releases the plain session (if any) and leaves
   * the facade as sessions.model, whose run() then throws a typed error.
   */
  private async retire(why: DisposedBy): Promise<void> {
    const plain = this.plain;
    this.plain = null;
    this.model.sessions.model = this.facade;
    this.forward.restore();
    this.mode = 'disposed';
    this.disposedBy = why;
    markPipelineDisposed(this.model);
    await plain?.release();
  }

  private disposedError(operation: string): JmpStateError {
    return new JmpStateError({ operation, ...(this.disposedBy ?? HANDLE_DISPOSED) });
  }

  // ---- sessions -------------------------------------------------------------------------------

  /** Makes `session` the pipeline's plain session; pipeline.dispose() calling its release disposes this handle. */
  private watchPlain(session: SessionLike): void {
    this.plain = watchSession(session, () => this.serial(() => this.pipelineDisposed()));
    this.model.sessions.model = session;
  }

  /** Gives the pipeline its own forward back, and its plain session its own release. */
  private restorePipeline(): void {
    this.forward.restore();
    this.plain?.restore();
  }

  /**
   * After onnxruntime's WebGPU device was lost: rebuilds the JMP sessions on wasm (and the plain
   * session will be re-created on wasm by disable()). Run once, by {@link WebGPUFallback}.
   */
  private async rebuildOnWasm(): Promise<void> {
    this.source = { ...this.source, options: onWasm(this.source.options) };
    this.plainSource = { ...this.plainSource, options: onWasm(this.plainSource.options) };
    const plan = await planModel(configOf(this.model), this.o, this.source);
    const sessions = await createPlanSessions(this.ort, plan, this.source.options);
    const lost = this.runner;
    this.runner = makeRunner(plan, sessions, plan.options);
    this.info.device = 'wasm';
    await lost?.release().catch(() => {}); // sessions of a lost device may not release cleanly
  }
}
