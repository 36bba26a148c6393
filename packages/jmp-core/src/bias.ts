import { checkFinite } from './tensor.js';
import { JmpArgumentError } from './errors.js';

/**
 * Proportional attention (spec step 6): `log s_j`, to be added to every attention logit
 * `[b, h, i, j]` before the softmax in the blocks after the first reduction (broadcast as `[B, 1, 1, N]`).
 *
 * @param sizes `[B, N]` token sizes (positive).
 * @returns a new `[B, N]` array.
 */
export function logSizeBias(sizes: Float32Array): Float32Array {
  if (!(sizes instanceof Float32Array)) {
    throw new JmpArgumentError({ argument: 'sizes', expected: 'a Float32Array [B, N]', found: sizes });
  }
  checkFinite('sizes', sizes);
  const out = new Float32Array(sizes.length);
  for (let i = 0; i < sizes.length; i++) {
    const s = sizes[i]!;
    if (!(s > 0)) throw new JmpArgumentError({ argument: `sizes[${i}]`, expected: 'a positive token size', found: s });
    out[i] = Math.log(s);
  }
  return out;
}
