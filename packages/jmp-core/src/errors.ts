/**
 * Base class of every error this project throws on purpose. Recognise it, and each subclass, with
 * `isInstance` (`JmpError.isInstance(e)`, `JmpArgumentError.isInstance(e)`), which also works across
 * two installed copies of the package: every instance carries the `Symbol.for` marker of its class
 * and of each class above it (a subclass names its own in `static marker`).
 */
export class JmpError extends Error {
  /** The `Symbol.for` key of this class's marker. */
  protected static readonly marker: string = 'jmpjs.error';
  override readonly name: string = 'JmpError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    for (let c: unknown = new.target; c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c as object, 'marker')) (this as unknown as Record<symbol, boolean>)[Symbol.for((c as typeof JmpError).marker)] = true;
    }
  }

  /**
   * Whether `error` is an instance of the class this is called on (by its marker: from any copy of
   * the package). A subclass narrows the type: `static override isInstance(e): e is X { return super.isInstance(e); }`.
   */
  static isInstance(error: unknown): error is JmpError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[Symbol.for(this.marker)] === true;
  }
}

/** A bad argument: names the argument, what was expected and what was found. */
export class JmpArgumentError extends JmpError {
  protected static override readonly marker: string = 'jmpjs.error.argument';
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
    return super.isInstance(error);
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
