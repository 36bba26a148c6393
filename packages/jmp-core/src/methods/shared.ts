// What the reductions share: choosing the critical set by importance, writing size-weighted merges,
// following sources, and best matches by dot product.
import type { SourceMap, TokenState } from '../state.js';
import type { ReductionMethod, ReductionResult, ReductionStats, Strategy } from './types.js';

/**
 * Fills `order` with the unprotected token indices sorted by importance (descending, ties: lower
 * index first) and marks the first `K` in `critical`.
 */
export function selectCritical(importance: Float32Array, offset: number, N: number, P: number, K: number, order: Int32Array, critical: Uint8Array): void {
  for (let j = P; j < N; j++) order[j - P] = j;
  order.sort((a, b) => {
    const d = importance[offset + b]! - importance[offset + a]!;
    return d !== 0 ? d : a - b;
  });
  critical.fill(0);
  for (let i = 0; i < P; i++) critical[i] = 1;
  for (let i = 0; i < K; i++) critical[order[i]!] = 1;
}

/**
 * Writes sample `b`'s output: token `j` goes to output position `target[j]` (−1: dropped); tokens
 * sharing a position are averaged weighted by size, sizes add up. A position filled by one token
 * copies it bit for bit.
 */
export class Merger {
  readonly outTokens: Float32Array;
  readonly outSizes: Float32Array;
  private readonly acc: Float64Array;
  private readonly accSize: Float64Array;
  private readonly count: Int32Array;
  private readonly owner: Int32Array;

  constructor(
    readonly B: number,
    readonly N: number,
    readonly C: number,
    readonly Nout: number,
  ) {
    this.outTokens = new Float32Array(B * Nout * C);
    this.outSizes = new Float32Array(B * Nout);
    this.acc = new Float64Array(Nout * C);
    this.accSize = new Float64Array(Nout);
    this.count = new Int32Array(Nout);
    this.owner = new Int32Array(Nout);
  }

  write(b: number, tokens: Float32Array, sizes: Float32Array, target: Int32Array, positions: number): void {
    const { N, C, Nout, acc, accSize, count, owner } = this;
    count.fill(0, 0, positions);
    accSize.fill(0, 0, positions);
    for (let j = 0; j < N; j++) {
      const t = target[j]!;
      if (t < 0) continue;
      count[t]!++;
      owner[t] = j;
      accSize[t]! += sizes[b * N + j]!;
    }
    const xb = b * N * C;
    const ob = b * Nout * C;
    // Positions with one token copy it; the others accumulate size-weighted sums in float64.
    for (let t = 0; t < positions; t++) {
      if (count[t] === 1) {
        const j = owner[t]!;
        this.outTokens.set(tokens.subarray(xb + j * C, xb + j * C + C), ob + t * C);
        this.outSizes[b * Nout + t] = sizes[b * N + j]!;
      } else if (count[t]! > 1) acc.fill(0, t * C, t * C + C);
    }
    for (let j = 0; j < N; j++) {
      const t = target[j]!;
      if (t < 0 || count[t] === 1) continue;
      const s = sizes[b * N + j]!;
      const src = xb + j * C;
      const dst = t * C;
      for (let c = 0; c < C; c++) acc[dst + c]! += s * tokens[src + c]!;
    }
    for (let t = 0; t < positions; t++) {
      if (count[t]! <= 1) continue;
      const inv = 1 / accSize[t]!;
      const dst = ob + t * C;
      for (let c = 0; c < C; c++) this.outTokens[dst + c] = acc[t * C + c]! * inv;
      this.outSizes[b * Nout + t] = accSize[t]!;
    }
  }
}

/** Updates source tracking: original tokens follow their token to `target` (−1 drops them). */
export class SourceUpdater {
  readonly assignment: Int32Array;
  readonly anchors: Int32Array;

  constructor(
    private readonly sources: SourceMap,
    private readonly N: number,
    private readonly Nout: number,
    B: number,
  ) {
    this.assignment = sources.assignment.slice();
    this.anchors = new Int32Array(B * Nout).fill(-1);
  }

  /** `keptAt[t]` = input token that survives as output `t` (−1 for fused tokens). */
  update(b: number, target: Int32Array, keptAt: Int32Array, positions: number): void {
    const N0 = this.sources.originalTokens;
    for (let o = 0; o < N0; o++) {
      const t = this.assignment[b * N0 + o]!;
      if (t >= 0) this.assignment[b * N0 + o] = target[t]!;
    }
    for (let t = 0; t < positions; t++) {
      const j = keptAt[t]!;
      this.anchors[b * this.Nout + t] = j >= 0 ? this.sources.anchors[b * this.N + j]! : -1;
    }
  }

  result(): SourceMap {
    return { originalTokens: this.sources.originalTokens, assignment: this.assignment, anchors: this.anchors };
  }
}

export function emptyStats(method: ReductionMethod['method'], tokensIn: number, tokensOut: number, overheadMacs: number, strategy?: Strategy): ReductionStats {
  return { method, ...(strategy ? { strategy } : {}), tokensIn, tokensOut, decisions: [], sigma: [], merged: [], pruned: [], overheadMacs };
}

export function finish(
  state: TokenState,
  dims: [number, number, number],
  merger: Merger,
  sources: SourceUpdater | undefined,
  stats: ReductionStats,
): ReductionResult {
  const next: TokenState = {
    tokens: merger.outTokens,
    dims,
    sizes: merger.outSizes,
    protectedTokens: state.protectedTokens,
    ...(sources ? { sources: sources.result() } : {}),
  };
  return { state: next, stats };
}

const found = { score: 0, index: 0 };

/**
 * Best row of `rows` `[R, D]` for the vector at `unit[offset…]` by dot product; ties go to the
 * lower row. Returns a shared object (no allocation per token).
 */
export function bestMatch(unit: Float32Array, offset: number, rows: Float32Array, R: number, D: number): { score: number; index: number } {
  let m = -Infinity;
  let arg = -1;
  const D4 = D - (D % 4);
  for (let i = 0; i < R; i++) {
    const o = i * D;
    let d0 = 0,
      d1 = 0,
      d2 = 0,
      d3 = 0;
    let d = 0;
    for (; d < D4; d += 4) {
      d0 += unit[offset + d]! * rows[o + d]!;
      d1 += unit[offset + d + 1]! * rows[o + d + 1]!;
      d2 += unit[offset + d + 2]! * rows[o + d + 2]!;
      d3 += unit[offset + d + 3]! * rows[o + d + 3]!;
    }
    for (; d < D; d++) d0 += unit[offset + d]! * rows[o + d]!;
    const dot = d0 + d1 + d2 + d3;
    if (dot > m) {
      m = dot;
      arg = i;
    }
  }
  found.score = m;
  found.index = arg;
  return found;
}

/**
 * ToMe's split of the tokens by absolute position, as in its bipartite_soft_matching: set A is the
 * even positions, set B the odd ones. Protected tokens take part in neither: the class token
 * (position 0, in A) is never merged, and nothing merges into a distillation token (position 1,
 * in B). A token `a` of A is at `firstA + 2a`, a token `k` of B at `firstB + 2k`.
 */
export function bipartiteSplit(N: number, P: number): { firstA: number; firstB: number; nA: number; nB: number } {
  const firstA = P + (P % 2); // first even position ≥ P
  const firstB = P + 1 - (P % 2); // first odd position ≥ P
  return { firstA, firstB, nA: Math.max(0, Math.ceil((N - firstA) / 2)), nB: Math.max(0, Math.ceil((N - firstB) / 2)) };
}

/**
 * For sample `b`, each A token's best B token (cosine on unit rows; ties: lower position): writes the
 * score to `score[a]` and the B token's position to `match[a]`. `setB` is scratch of nB·D floats.
 */
export function matchAtoB(
  unit: Float32Array,
  b: number,
  N: number,
  D: number,
  split: { firstA: number; firstB: number; nA: number; nB: number },
  setB: Float32Array,
  score: Float64Array,
  match: Int32Array,
): void {
  const { firstA, firstB, nA, nB } = split;
  for (let k = 0; k < nB; k++) {
    const src = (b * N + firstB + 2 * k) * D;
    setB.set(unit.subarray(src, src + D), k * D);
  }
  for (let a = 0; a < nA; a++) {
    const { score: m, index } = bestMatch(unit, (b * N + firstA + 2 * a) * D, setB, nB, D);
    score[a] = m;
    match[a] = firstB + 2 * index;
  }
}

/** `order` = 0…n−1 sorted by `score` descending; ties: lower index first. */
export function rankDescending(score: Float64Array, order: Int32Array): void {
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((x, y) => {
    const d = score[y]! - score[x]!;
    return d !== 0 ? d : x - y;
  });
}
