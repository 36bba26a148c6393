import { describe, expect, it } from 'vitest';
import {
  JmpArgumentError,
  headMeanKeys,
  headMeanKeysPacked,
  perHeadUnitKeys,
  perHeadUnitKeysPacked,
  importanceFromAttention,
  importanceFromReceived,
  importanceFromRows,
  logSizeBias,
} from '../src/index.js';

const TOL = 1e-7;

describe('importance and metric', () => {
  it('importance is the mean over heads and protected rows of the attention', () => {
    // B=1, H=2, N=3; P=2: rows 0 and 1 of both heads.
    const A = Float32Array.from([
      0.2, 0.3, 0.5, /* h0 r0 */ 0.1, 0.1, 0.8, /* h0 r1 */ 0.6, 0.2, 0.2 /* h0 r2 (ignored) */, 0.4, 0.4, 0.2, /* h1 r0 */ 0.3, 0.3, 0.4, /* h1 r1 */ 0.0, 0.0,
      1.0 /* h1 r2 (ignored) */,
    ]);
    const imp = importanceFromAttention({ data: A, dims: [1, 2, 3, 3] }, 2);
    const expected = [(0.2 + 0.1 + 0.4 + 0.3) / 4, (0.3 + 0.1 + 0.4 + 0.3) / 4, (0.5 + 0.8 + 0.2 + 0.4) / 4];
    expected.forEach((v, j) => expect(Math.abs(imp[j]! - v)).toBeLessThan(TOL));
    const rows = importanceFromRows({ data: Float32Array.from([0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.4, 0.4, 0.2, 0.3, 0.3, 0.4]), dims: [1, 4, 3] });
    expected.forEach((v, j) => expect(Math.abs(rows[j]! - v)).toBeLessThan(TOL));
  });

  it('without a class token: the attention each token receives, over heads and all query rows (worked by hand)', () => {
    // the same A: every row of both heads, column by column, / (H · N) = / 6
    const A = Float32Array.from([0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.6, 0.2, 0.2, 0.4, 0.4, 0.2, 0.3, 0.3, 0.4, 0.0, 0.0, 1.0]);
    const imp = importanceFromReceived({ data: A, dims: [1, 2, 3, 3] });
    const expected = [(0.2 + 0.1 + 0.6 + 0.4 + 0.3 + 0.0) / 6, (0.3 + 0.1 + 0.2 + 0.4 + 0.3 + 0.0) / 6, (0.5 + 0.8 + 0.2 + 0.2 + 0.4 + 1.0) / 6];
    expected.forEach((v, j) => expect(Math.abs(imp[j]! - v)).toBeLessThan(TOL));
    // rows sum to 1, so the importances do too
    expect(Math.abs(imp.reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-6);
    // and importanceFromAttention says where to go when there is no protected row
    expect(() => importanceFromAttention({ data: A, dims: [1, 2, 3, 3] }, 0)).toThrow(JmpArgumentError);
    expect(() => importanceFromAttention({ data: A, dims: [1, 2, 3, 3] }, 0)).toThrow(/importanceFromReceived/);
    expect(() => importanceFromReceived({ data: A, dims: [1, 3, 3, 2] })).toThrow(JmpArgumentError);
  });

  it('head-mean keys agree between [B, H, N, d] and packed [B, N, H·d]', () => {
    const B = 2,
      H = 3,
      N = 4,
      d = 2;
    const perHead = new Float32Array(B * H * N * d).map((_, i) => Math.sin(i));
    const packed = new Float32Array(B * N * H * d);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let n = 0; n < N; n++)
          for (let k = 0; k < d; k++) {
            packed[((b * N + n) * H + h) * d + k] = perHead[((b * H + h) * N + n) * d + k]!;
          }
    const a = headMeanKeys({ data: perHead, dims: [B, H, N, d] });
    const p = headMeanKeysPacked({ data: packed, dims: [B, N, H * d] }, H);
    expect(a.dims).toEqual([B, N, d]);
    expect(p.dims).toEqual([B, N, d]);
    for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i]! - p.data[i]!)).toBeLessThan(1e-6);
    const first = (perHead[0]! + perHead[N * d]! + perHead[2 * N * d]!) / 3;
    expect(Math.abs(a.data[0]! - first)).toBeLessThan(1e-6);
  });

  it('per-head unit keys: their dot product is the mean over heads of the key cosines (worked by hand)', () => {
    // one image, two heads, two tokens, d = 2. Head 0: k0 = (3, 4), k1 = (4, 3) -> cosine 24/25 = 0.96.
    // Head 1: k0 = (10, 0), k1 = (0, 0.1) -> cosine 0. Mean over heads: 0.48.
    // Head-mean keys would give (6.5, 2) and (2, 1.55): cosine 0.8628 — the long keys of head 1 dominate.
    const perHead = Float32Array.from([3, 4, 4, 3, 10, 0, 0, 0.1]); // [1, 2, 2, 2]: [b][h][n][k]
    const u = perHeadUnitKeys({ data: perHead, dims: [1, 2, 2, 2] });
    expect(u.dims).toEqual([1, 2, 4]);
    const s = Math.SQRT1_2;
    const want = [0.6 * s, 0.8 * s, 1 * s, 0, 0.8 * s, 0.6 * s, 0, 1 * s];
    want.forEach((v, i) => expect(Math.abs(u.data[i]! - v)).toBeLessThan(1e-6));
    const dot = (i: number, j: number) => [0, 1, 2, 3].reduce((a, k) => a + u.data[i * 4 + k]! * u.data[j * 4 + k]!, 0);
    expect(Math.abs(dot(0, 1) - 0.48)).toBeLessThan(1e-6);
    expect(Math.abs(dot(0, 0) - 1)).toBeLessThan(1e-6);
    // packed [B, N, H·d] (the key projection's layout) gives the same rows; a zero key stays zero
    const packed = Float32Array.from([3, 4, 10, 0, 4, 3, 0, 0.1]);
    const p = perHeadUnitKeysPacked({ data: packed, dims: [1, 2, 4] }, 2);
    for (let i = 0; i < 8; i++) expect(Math.abs(p.data[i]! - u.data[i]!)).toBeLessThan(1e-6);
    const z = perHeadUnitKeysPacked({ data: Float32Array.from([0, 0, 1, 0]), dims: [1, 1, 4] }, 2);
    expect([...z.data].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0, 0.707107, 0]);
    expect(() => perHeadUnitKeysPacked({ data: packed, dims: [1, 2, 4] }, 3)).toThrow(JmpArgumentError);
  });

  it('log-size bias is log s', () => {
    expect([...logSizeBias(Float32Array.from([1, 2, 4]))].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0.693147, 1.386294]);
  });
});
