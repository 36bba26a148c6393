import { JmpArgumentError } from './errors.js';
import { checkFinite, checkTensor, type Tensor } from './tensor.js';

/**
 * Token importance from full attention probabilities.
 *
 * `a[b, j] = mean over heads h and protected rows p < P of A[b, h, p, j]` (spec step 1).
 *
 * @param attention `A` `[B, H, N, N]`, softmax probabilities.
 * @param protectedTokens `P`: 1 (CLS) for ViT, 2 (CLS, distillation) for distilled DeiT.
 * @returns `[B, N]` (entries `j < P` are filled too but never used).
 */
export function importanceFromAttention(attention: Tensor, protectedTokens: number): Float32Array {
  const [B, H, N] = squareAttention(attention);
  checkProtected(protectedTokens, N);
  if (protectedTokens === 0) {
    throw new JmpArgumentError({
      argument: 'protectedTokens',
      expected: 'at least one protected token whose attention rows say what matters',
      found: 0,
      hint: 'A model without a class token (SigLIP): importanceFromReceived(attention) averages the attention each token receives.',
    });
  }
  return meanOverHeadsAndRows(attention, B, H, N, protectedTokens);
}

/**
 * Token importance for a model without a class token (SigLIP: its pooling head attends over every
 * token, so no row of the encoder's attention speaks for the output): the attention each token
 * **receives**, averaged over heads and over all query tokens.
 *
 * `a[b, j] = (1 / (H · N)) · Σ_h Σ_i A[b, h, i, j]`; each row of `A` sums to 1, so `Σ_j a[b, j] = 1`
 * and a token attended by no one scores 0, one that every token attends to fully scores 1.
 *
 * @param attention `A` `[B, H, N, N]`, softmax probabilities.
 * @returns `[B, N]`.
 */
export function importanceFromReceived(attention: Tensor): Float32Array {
  const [B, H, N] = squareAttention(attention);
  return meanOverHeadsAndRows(attention, B, H, N, N);
}

/** `out[b, j] = mean over heads h and query rows i < rows of A[b, h, i, j]`, `[B, N]`. */
function meanOverHeadsAndRows(attention: Tensor, B: number, H: number, N: number, rows: number): Float32Array {
  const out = new Float32Array(B * N);
  const a = attention.data;
  const scale = 1 / (H * rows);
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < rows; i++) {
        const row = ((b * H + h) * N + i) * N;
        for (let j = 0; j < N; j++) out[o + j]! += a[row + j]!;
      }
    }
    for (let j = 0; j < N; j++) out[o + j]! *= scale;
  }
  checkFinite('attention', out);
  return out;
}

/**
 * Token importance from attention rows already gathered (for instance the CLS and distillation rows,
 * averaged over heads inside the model graph): `a[b, j] = mean over r of rows[b, r, j]`.
 *
 * @param rows `[B, R, N]`.
 * @returns `[B, N]`.
 */
export function importanceFromRows(rows: Tensor): Float32Array {
  const [B, R, N] = checkTensor('rows', rows, ['B', 'R', 'N']) as [number, number, number];
  if (R < 1) throw new JmpArgumentError({ argument: 'rows.dims[1] (R)', expected: 'at least 1 row', found: R });
  const out = new Float32Array(B * N);
  const d = rows.data;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const row = (b * R + r) * N;
      for (let j = 0; j < N; j++) out[b * N + j]! += d[row + j]!;
    }
  }
  const scale = 1 / R;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  checkFinite('rows', out);
  return out;
}

/** `[B, H, N]` of an attention `[B, H, N, N]`; anything else is a `JmpArgumentError`. */
function squareAttention(attention: Tensor): [number, number, number] {
  const [B, H, N, N2] = checkTensor('attention', attention, ['B', 'H', 'N', 'N']) as [number, number, number, number];
  if (N2 !== N) {
    throw new JmpArgumentError({ argument: 'attention.dims', expected: 'a square attention [B, H, N, N]', found: attention.dims });
  }
  return [B, H, N];
}

export function checkProtected(protectedTokens: number, tokens: number, argument = 'protectedTokens'): void {
  if (!Number.isInteger(protectedTokens) || protectedTokens < 0 || protectedTokens > tokens) {
    throw new JmpArgumentError({
      argument,
      expected: `an integer in [0, ${tokens}] (1 for ViT's CLS, 2 for distilled DeiT)`,
      found: protectedTokens,
    });
  }
}
