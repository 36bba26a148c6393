// What a patched pipeline sees in place of its own parts: the session stand-in (sessions.model while
// JMP is on) and the model's forward, swapped for the handle's router and given back.
import type { OrtTensorLike, SessionLike } from '../runner/segment-runner.js';
import type { HostModel } from './host-model.js';
import { rememberSource, type SessionSource } from './sessions.js';

/** Marks the session stand-in of a patched pipeline. */
const PATCHED = Symbol.for('jmpjs.patched-session');

/**
 * The session stand-in: the model's own inputs and outputs (pixel_values → logits; CLIP: the text
 * inputs too, and its four outputs), `run` through the handle, and the two ways transformers.js
 * disposes a pipeline (`release()`, v3's `handler.dispose()`) reported to it.
 */
export function makeFacade(
  plain: HostModel['sessions']['model'] & object,
  source: SessionSource,
  on: { run: (feeds: Record<string, OrtTensorLike>) => Promise<Record<string, OrtTensorLike>>; pipelineDisposed: () => Promise<void> },
): SessionLike {
  const facade = {
    [PATCHED]: true,
    run: on.run,
    release: on.pipelineDisposed,
    handler: { dispose: on.pipelineDisposed },
    config: plain.config,
    inputNames: [...(plain.inputNames ?? ['pixel_values'])],
    outputNames: [...(plain.outputNames ?? ['logits'])],
  } as SessionLike;
  rememberSource(facade, source); // inspectJMP keeps working on the patched pipeline
  return facade;
}

/** The model's `forward`, replaced by a router and given back as it was (its own property, or the prototype's). */
export class ForwardSwap {
  /** The model's own `forward` property, if it had one (else the prototype's is used). */
  private readonly own: PropertyDescriptor | undefined;

  constructor(
    private readonly model: HostModel,
    private readonly route: HostModel['forward'],
  ) {
    this.own = Object.getOwnPropertyDescriptor(model, 'forward');
  }

  install(): void {
    this.model.forward = this.route;
  }

  /** The forward the model had: its own, or the prototype's. */
  original(): HostModel['forward'] {
    return (this.own?.value ?? Object.getPrototypeOf(this.model).forward) as HostModel['forward'];
  }

  restore(): void {
    if (this.model.forward !== this.route) return;
    if (this.own) Object.defineProperty(this.model, 'forward', this.own);
    else delete (this.model as Partial<HostModel>).forward; // back to the prototype's forward
  }
}
