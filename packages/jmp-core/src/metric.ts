import { JmpArgumentError } from './errors.js';
import { checkTensor, type Tensor } from './tensor.js';

/**
 * ToMe's similarity metric: attention keys averaged over heads.
 *
 * @param keys `[B, H, N, d]` per-head keys.
 * @returns `{ data, dims: [B, N, d] }`.
 */
export function headMeanKeys(keys: Tensor): Tensor {
  const [B, H, N, d] = checkTensor('keys', keys, ['B', 'H', 'N', 'd']) as [number, number, number, number];
  const out = new Float32Array(B * N * d);
  const k = keys.data;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const src = (b * H + h) * N * d;
      const dst = b * N * d;
      for (let i = 0; i < N * d; i++) out[dst + i]! += k[src + i]!;
    }
  }
  const scale = 1 / H;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return { data: out, dims: [B, N, d] };
}

/**
 * Head-mean keys from keys packed as the key projection outputs them, `[B, N, C]` with `C = H·d`
 * (head `h` owns channels `h·d … h·d + d − 1`), as in the ONNX graphs of Hugging Face ViTs.
 *
 * @returns `{ data, dims: [B, N, d] }`.
 */
export function headMeanKeysPacked(keys: Tensor, heads: number): Tensor {
  const [B, N, C] = checkTensor('keys', keys, ['B', 'N', 'C']) as [number, number, number];
  if (!Number.isInteger(heads) || heads < 1 || C % heads !== 0) {
    throw new JmpArgumentError({ argument: 'heads', expected: `a positive divisor of C = ${C}`, found: heads });
  }
  const d = C / heads;
  const out = new Float32Array(B * N * d);
  const k = keys.data;
  for (let t = 0; t < B * N; t++) {
    const src = t * C;
    const dst = t * d;
    for (let h = 0; h < heads; h++) {
      const o = src + h * d;
      for (let i = 0; i < d; i++) out[dst + i]! += k[o + i]!;
    }
    for (let i = 0; i < d; i++) out[dst + i]! /= heads;
  }
  return { data: out, dims: [B, N, d] };
}

/** Rows of `[T, D]` scaled to unit length (a zero row stays zero). Returns a new array. */
export function normalizeRows(data: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let t = 0; t < rows; t++) {
    const o = t * width;
    let ss = 0;
    for (let i = 0; i < width; i++) {
      const v = data[o + i]!;
      ss += v * v;
    }
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let i = 0; i < width; i++) out[o + i] = data[o + i]! * inv;
  }
  return out;
}
