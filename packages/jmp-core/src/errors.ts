const MARKER = Symbol.for('jmpjs.error');

/**
 * Base class of every error this project throws on purpose. Recognise it with
 * {@link JmpError.isInstance}, which also works across two installed copies of the package.
 */
export class JmpError extends Error {
  private readonly [MARKER] = true;
  override readonly name: string = 'JmpError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  static isInstance(error: unknown): error is JmpError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

const ARGUMENT_MARKER = Symbol.for('jmpjs.error.argument');

/** A bad argument: names the argument, what was expected and what was found. */
export class JmpArgumentError extends JmpError {
  private readonly [ARGUMENT_MARKER] = true;
  override readonly name: string = 'JmpArgumentError';
  /** Dotted path of the argument, e.g. `options.keep` or `input.tokens`. */
  readonly argument: string;
  readonly expected: string;
  readonly found: string;
  /** What to do about it, when known. */
  readonly hint: string | undefined;

  constructor(params: { argument: string; expected: string; found: unknown; hint?: string }) {
    const found = describe(params.found);
    super(`Invalid ${params.argument}: expected ${params.expected}, found ${found}.` + (params.hint ? ` ${params.hint}` : ''));
    this.argument = params.argument;
    this.expected = params.expected;
    this.found = found;
    this.hint = params.hint;
  }

  static override isInstance(error: unknown): error is JmpArgumentError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[ARGUMENT_MARKER] === true;
  }
}

/** Short human description of a found value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? JSON.stringify(value.slice(0, 57) + '...') : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    return value.length <= 8 ? `[${value.map(describe).join(', ')}]` : `an array of length ${value.length}`;
  }
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  }
  if (typeof value === 'function') return 'a function';
  return `an object (${
    Object.keys(value as object)
      .slice(0, 6)
      .join(', ') || 'no keys'
  })`;
}
