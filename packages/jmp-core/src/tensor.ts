import { JmpArgumentError } from './errors.js';

/** A dense row-major float32 tensor: `data.length` equals the product of `dims`. */
export interface Tensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Checks that `t` is a float32 tensor of the given rank whose known dims match; returns its dims. */
export function checkTensor(argument: string, t: Tensor | undefined, names: readonly string[], expected: readonly (number | undefined)[] = []): number[] {
  const shape = `[${names.join(', ')}]`;
  if (!t || typeof t !== 'object') {
    throw new JmpArgumentError({ argument, expected: `a tensor { data: Float32Array, dims: ${shape} }`, found: t });
  }
  if (!(t.data instanceof Float32Array)) {
    throw new JmpArgumentError({ argument: `${argument}.data`, expected: 'a Float32Array', found: t.data });
  }
  const dims = t.dims;
  if (!Array.isArray(dims) || dims.length !== names.length || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new JmpArgumentError({
      argument: `${argument}.dims`,
      expected: `${names.length} non-negative integers ${shape}`,
      found: dims,
    });
  }
  for (let i = 0; i < names.length; i++) {
    const want = expected[i];
    if (want !== undefined && dims[i] !== want) {
      throw new JmpArgumentError({
        argument: `${argument}.dims[${i}] (${names[i]})`,
        expected: String(want),
        found: dims[i],
        hint: 'All inputs of one reduction must describe the same batch and token count.',
      });
    }
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new JmpArgumentError({
      argument: `${argument}.data.length`,
      expected: `${size} (the product of dims ${shape} = [${dims.join(', ')}])`,
      found: t.data.length,
    });
  }
  return [...dims];
}

/** Throws if any value is NaN or ±Infinity. */
export function checkFinite(argument: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      throw new JmpArgumentError({
        argument: `${argument}.data[${i}]`,
        expected: 'a finite number',
        found: v,
        hint: 'Non-finite values usually come from an overflowing fp16 model or NaN pixels in the input.',
      });
    }
  }
}
