// Which pipelines have a JMP handle: one at a time per pipeline.
import { JmpStateError } from '../errors.js';

/** What the registry (and calibrateJMP) knows of a handle; the handle class implements it. */
export interface RegisteredHandle {
  readonly enabled: boolean;
  /**
   * Runs `run` with this handle, while it is off, taken off the pipeline (the pipeline as without
   * it), then puts it back, still off. A `JmpStateError` while it is on.
   */
  detachedWhile<T>(operation: string, run: () => Promise<T>): Promise<T>;
}

/**
 * The handle of each pipeline model. `'starting'` is set synchronously when enableJMP begins (so
 * two concurrent enableJMP calls cannot both patch), and `'disposed'` once the pipeline itself was
 * disposed with JMP set up on it.
 */
const handles = new WeakMap<object, 'starting' | 'disposed' | RegisteredHandle>();

/** Claims a pipeline for a new handle, or throws a {@link JmpStateError} saying why not. */
export function claimPipeline(model: object): void {
  const current = handles.get(model);
  if (current === 'disposed') {
    throw new JmpStateError({
      operation: 'enable JMP',
      expected: 'a pipeline that was not disposed',
      found: 'a pipeline disposed with pipeline.dispose()',
      hint: 'Create the pipeline again.',
    });
  }
  if (current) {
    throw new JmpStateError({
      operation: 'enable JMP',
      expected: 'a pipeline without a JMP handle',
      found:
        current === 'starting'
          ? 'JMP already being turned on for this pipeline (another enableJMP call)'
          : `JMP already ${current.enabled ? 'on' : 'set up (now off)'} for this pipeline`,
      hint: 'Use that handle (enable() / disable()), or call dispose() on it first.',
    });
  }
  handles.set(model, 'starting');
}

/** Gives a claim back after enableJMP failed or passed the pipeline through. */
export function unclaimPipeline(model: object): void {
  if (handles.get(model) === 'starting') handles.delete(model);
}

/** The pipeline's handle from now on (its claim fulfilled, or the handle put back after {@link RegisteredHandle.detachedWhile}). */
export function registerHandle(model: object, handle: RegisteredHandle): void {
  handles.set(model, handle);
}

/** The handle is gone (disposed, or taken off the pipeline for a while): the pipeline is free. */
export function releasePipeline(model: object): void {
  handles.delete(model);
}

/** The pipeline was disposed with JMP set up on it: enableJMP on it is a {@link JmpStateError} from now on. */
export function markPipelineDisposed(model: object): void {
  handles.set(model, 'disposed');
}

/** What holds the pipeline model now: nothing, a claim in progress, a handle, or its disposal. */
export function pipelineState(model: object): 'free' | 'starting' | 'disposed' | RegisteredHandle {
  return handles.get(model) ?? 'free';
}

/** The handle of a pipeline (given as the pipeline, not its model), if it has one. */
export function handleOf(pipe: unknown): RegisteredHandle | undefined {
  const model = (pipe as { model?: unknown } | null | undefined)?.model;
  if (!model || (typeof model !== 'object' && typeof model !== 'function')) return undefined;
  const current = handles.get(model);
  return typeof current === 'object' ? current : undefined;
}
