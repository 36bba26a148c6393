import { JmpError } from '@jmpjs/core';

export { JmpError, JmpArgumentError } from '@jmpjs/core';

/*
 * The errors of this package form one small hierarchy, all recognisable across copies of the
 * package by a `Symbol.for` marker (`isInstance`, from JmpError), each message naming what was
 * expected, what was found and what to do:
 *
 *   JmpError                  (from @jmpjs/core) base class
 *   ├─ JmpArgumentError       (from @jmpjs/core) a bad option, argument or input tensor
 *   ├─ UnsupportedModelError  the model is not one this package can read or recognise
 *   └─ JmpStateError          a call the handle's or the pipeline's state does not allow
 */

/**
 * The model is not a ViT-family image classifier whose ONNX graph this package recognises — or
 * its bytes are not a readable ONNX model at all (corrupt, truncated). Says what was looked for
 * and what was found; `onUnsupported: 'passthrough'` turns it into a warning and leaves the
 * pipeline unchanged.
 */
export class UnsupportedModelError extends JmpError {
  protected static override readonly marker: string = 'jmpjs.error.unsupported-model';
  override readonly name: string = 'UnsupportedModelError';
  readonly lookedFor: string;
  readonly found: string;

  constructor(params: { lookedFor: string; found: string; hint?: string; cause?: unknown }) {
    super(
      `Unsupported model for JMP: looked for ${params.lookedFor}, found ${params.found}. ` +
        (params.hint ?? "Use onUnsupported: 'passthrough' to leave such pipelines unchanged."),
      { cause: params.cause },
    );
    this.lookedFor = params.lookedFor;
    this.found = params.found;
  }

  static override isInstance(error: unknown): error is UnsupportedModelError {
    return super.isInstance(error);
  }
}

/**
 * A call that the current state of a JMP handle or of its pipeline does not allow: enabling JMP
 * on a pipeline that has it already, `enable()` after `dispose()`, running a pipeline after
 * `pipeline.dispose()`. Names the operation, the state it needs and the state found.
 */
export class JmpStateError extends JmpError {
  protected static override readonly marker: string = 'jmpjs.error.state';
  override readonly name: string = 'JmpStateError';
  /** What was attempted, e.g. `enable()`. */
  readonly operation: string;
  readonly expected: string;
  readonly found: string;

  constructor(params: { operation: string; expected: string; found: string; hint: string; cause?: unknown }) {
    super(`Cannot ${params.operation}: expected ${params.expected}, found ${params.found}. ${params.hint}`, { cause: params.cause });
    this.operation = params.operation;
    this.expected = params.expected;
    this.found = params.found;
  }

  static override isInstance(error: unknown): error is JmpStateError {
    return super.isInstance(error);
  }
}
