import { JmpError } from '@jmpjs/core';

export { JmpError, JmpArgumentError } from '@jmpjs/core';

const UNSUPPORTED_MARKER = Symbol.for('jmpjs.error.unsupported-model');

/**
 * The model is not a ViT-family image classifier whose ONNX graph this package recognises.
 * Says what was looked for and what was found; `onUnsupported: 'passthrough'` turns it into a
 * warning and leaves the pipeline unchanged.
 */
export class UnsupportedModelError extends JmpError {
  private readonly [UNSUPPORTED_MARKER] = true;
  override readonly name: string = 'UnsupportedModelError';
  readonly lookedFor: string;
  readonly found: string;

  constructor(params: { lookedFor: string; found: string; hint?: string }) {
    super(
      `Unsupported model for JMP: looked for ${params.lookedFor}, found ${params.found}. ` +
        (params.hint ?? "Use onUnsupported: 'passthrough' to leave such pipelines unchanged."),
    );
    this.lookedFor = params.lookedFor;
    this.found = params.found;
  }

  static override isInstance(error: unknown): error is UnsupportedModelError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[UNSUPPORTED_MARKER] === true;
  }
}

const STATE_MARKER = Symbol.for('jmpjs.error.state');

/** A call that the patch's current state does not allow (e.g. after dispose). */
export class JmpStateError extends JmpError {
  private readonly [STATE_MARKER] = true;
  override readonly name: string = 'JmpStateError';

  static override isInstance(error: unknown): error is JmpStateError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[STATE_MARKER] === true;
  }
}
