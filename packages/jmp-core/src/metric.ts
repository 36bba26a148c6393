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
  const d = headWidth(C, heads);
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

/**
 * Per-head unit keys, for the similarity averaged over heads: each token's key in each head scaled to
 * unit length (a zero key stays zero), the heads side by side, scaled by `1/√H`. The dot product of
 * two rows is then the mean over heads of the cosines of their keys:
 *
 * `sim(i, j) = (1/H) · Σ_h k̂_{h,i} · k̂_{h,j}`
 *
 * Unlike the cosine of head-mean keys ({@link headMeanKeys}), a head whose keys are long cannot
 * outvote the others. Pass it as `signals.metric` (JMP's metric `'keys-per-head'` in
 * `@jmpjs/transformers-patch`).
 *
 * @param keys `[B, H, N, d]` per-head keys.
 * @returns `{ data, dims: [B, N, H·d] }`, rows of unit length (or zero).
 */
export function perHeadUnitKeys(keys: Tensor): Tensor {
  const [B, H, N, d] = checkTensor('keys', keys, ['B', 'H', 'N', 'd']) as [number, number, number, number];
  const C = H * d;
  const out = new Float32Array(B * N * C);
  const k = keys.data;
  const scale = 1 / Math.sqrt(H);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < N; t++) {
        unitInto(k, ((b * H + h) * N + t) * d, out, (b * N + t) * C + h * d, d, scale);
      }
    }
  }
  return { data: out, dims: [B, N, C] };
}

/**
 * {@link perHeadUnitKeys} from keys packed as the key projection outputs them, `[B, N, C]` with
 * `C = H·d` (head `h` owns channels `h·d … h·d + d − 1`).
 *
 * @returns `{ data, dims: [B, N, C] }`.
 */
export function perHeadUnitKeysPacked(keys: Tensor, heads: number): Tensor {
  const [B, N, C] = checkTensor('keys', keys, ['B', 'N', 'C']) as [number, number, number];
  const d = headWidth(C, heads);
  const out = new Float32Array(B * N * C);
  const scale = 1 / Math.sqrt(heads);
  for (let t = 0; t < B * N; t++) {
    for (let h = 0; h < heads; h++) unitInto(keys.data, t * C + h * d, out, t * C + h * d, d, scale);
  }
  return { data: out, dims: [B, N, C] };
}

/** Channels per head `d = C / heads`, or a JmpArgumentError when `heads` does not divide `C`. */
function headWidth(C: number, heads: number): number {
  if (!Number.isInteger(heads) || heads < 1 || C % heads !== 0) {
    throw new JmpArgumentError({ argument: 'heads', expected: `a positive divisor of C = ${C}`, found: heads });
  }
  return C / heads;
}

/** `out[o …]` = `scale` · the unit vector of `src[s … s + d − 1]` (zero stays zero). */
function unitInto(src: Float32Array, s: number, out: Float32Array, o: number, d: number, scale: number): void {
  let ss = 0;
  for (let i = 0; i < d; i++) ss += src[s + i]! * src[s + i]!;
  const inv = ss > 0 ? scale / Math.sqrt(ss) : 0;
  for (let i = 0; i < d; i++) out[o + i] = src[s + i]! * inv;
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
