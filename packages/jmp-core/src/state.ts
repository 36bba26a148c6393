import { JmpArgumentError } from './errors.js';
import { checkProtected } from './importance.js';
import { checkFinite, checkTensor, type Tensor } from './tensor.js';

/**
 * Which original tokens each current token stands for (spec step 7), kept compact:
 * an assignment of every original token to a current token, and each current token's anchor.
 */
export interface SourceMap {
  /** Token count before any reduction (`N0`). */
  readonly originalTokens: number;
  /** `[B, N0]`: index of the current token original token `o` belongs to, or −1 if it was pruned. */
  readonly assignment: Int32Array;
  /**
   * `[B, N]`: the original token each current token grew from (it was kept at every reduction);
   * −1 for a token made by fusion (EViT's extra token).
   */
  readonly anchors: Int32Array;
}

/** Token states between blocks. Reductions return a new state and never mutate their input. */
export interface TokenState {
  /** `X` `[B, N, C]`. */
  readonly tokens: Float32Array;
  /** `[B, N, C]`. */
  readonly dims: readonly [number, number, number];
  /** `s` `[B, N]`: how many original tokens each token stands for (1 at the start). */
  readonly sizes: Float32Array;
  /** `P`: tokens at the front that are never merged, pruned or moved (CLS, distillation). */
  readonly protectedTokens: number;
  /** Present when source tracking is on. */
  readonly sources?: SourceMap;
}

export interface CreateStateOptions {
  /** `P`: 1 for ViT (CLS), 2 for distilled DeiT (CLS, distillation). */
  protectedTokens: number;
  /** `[B, N]` sizes; default all ones. Copied. */
  sizes?: Float32Array;
  /** Track which original tokens each token stands for (for visualisations). Default false. */
  trackSources?: boolean;
}

/**
 * Wraps token states `[B, N, C]` before the first reduction. `tokens` is referenced, not copied
 * (reductions never write to it).
 */
export function createTokenState(tokens: Tensor, options: CreateStateOptions): TokenState {
  const [B, N, C] = checkTensor('tokens', tokens, ['B', 'N', 'C']) as [number, number, number];
  if (!options || typeof options !== 'object') {
    throw new JmpArgumentError({ argument: 'options', expected: 'an object with protectedTokens', found: options });
  }
  checkProtected(options.protectedTokens, N, 'options.protectedTokens');
  let sizes: Float32Array;
  if (options.sizes !== undefined) {
    checkTensor('options.sizes', { data: options.sizes, dims: [B, N] }, ['B', 'N']);
    checkFinite('options.sizes', options.sizes);
    for (let i = 0; i < options.sizes.length; i++) {
      if (!(options.sizes[i]! > 0)) {
        throw new JmpArgumentError({ argument: `options.sizes[${i}]`, expected: 'a positive size', found: options.sizes[i] });
      }
    }
    sizes = options.sizes.slice();
  } else {
    sizes = new Float32Array(B * N).fill(1);
  }
  const state: TokenState = { tokens: tokens.data, dims: [B, N, C], sizes, protectedTokens: options.protectedTokens };
  if (!options.trackSources) return state;
  const assignment = new Int32Array(B * N);
  for (let b = 0; b < B; b++) for (let o = 0; o < N; o++) assignment[b * N + o] = o;
  return { ...state, sources: { originalTokens: N, assignment, anchors: assignment.slice() } };
}

/** Checks a state given by a caller (dims, sizes, sources consistent). */
export function checkTokenState(state: TokenState): [number, number, number] {
  if (!state || typeof state !== 'object') {
    throw new JmpArgumentError({ argument: 'state', expected: 'a TokenState (see createTokenState)', found: state });
  }
  const [B, N, C] = checkTensor('state.tokens', { data: state.tokens, dims: state.dims }, ['B', 'N', 'C']) as [number, number, number];
  checkTensor('state.sizes', { data: state.sizes, dims: [B, N] }, ['B', 'N']);
  checkProtected(state.protectedTokens, N, 'state.protectedTokens');
  if (state.sources) {
    const { assignment, anchors, originalTokens } = state.sources;
    if (assignment.length !== B * originalTokens || anchors.length !== B * N) {
      throw new JmpArgumentError({
        argument: 'state.sources',
        expected: `assignment of length B·N0 = ${B * originalTokens} and anchors of length B·N = ${B * N}`,
        found: `${assignment.length} and ${anchors.length}`,
      });
    }
  }
  return [B, N, C];
}

/**
 * For sample `b`, the original tokens each current token stands for: `lists[t]` is sorted
 * ascending. Pruned originals appear in no list.
 */
export function sourceLists(sources: SourceMap, b: number, tokens: number): number[][] {
  const lists: number[][] = Array.from({ length: tokens }, () => []);
  const base = b * sources.originalTokens;
  for (let o = 0; o < sources.originalTokens; o++) {
    const t = sources.assignment[base + o]!;
    if (t >= 0) lists[t]!.push(o);
  }
  return lists;
}

/** What happened to an original token, for pictures of a reduction. */
export type TokenFate = { fate: 'kept'; token: number } | { fate: 'merged'; token: number; into: number } | { fate: 'pruned' };

/**
 * The fate of every original token of sample `b`: kept (it is the anchor of its current token),
 * merged (into the current token `token`, whose anchor is original token `into`, −1 for a fused
 * token), or pruned.
 */
export function tokenFates(sources: SourceMap, b: number, tokens: number): TokenFate[] {
  const out: TokenFate[] = [];
  const base = b * sources.originalTokens;
  for (let o = 0; o < sources.originalTokens; o++) {
    const t = sources.assignment[base + o]!;
    if (t < 0) out.push({ fate: 'pruned' });
    else {
      const anchor = sources.anchors[b * tokens + t]!;
      out.push(anchor === o ? { fate: 'kept', token: t } : { fate: 'merged', token: t, into: anchor });
    }
  }
  return out;
}
