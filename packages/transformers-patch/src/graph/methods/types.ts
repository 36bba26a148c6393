import type { GraphLayout } from '../layout.js';

/** What every method's emitter gets at one reduction point (patch tokens only, after the protected ones). */
export interface ReductionInput {
  block: GraphLayout['blocks'][number];
  /** Shape of the block's attention residual [B, N, C] (int64). */
  shapeX: string;
  /** Patch tokens [B, M0, C] in float32. */
  Xp: string;
  /** Their sizes [B, M0]. */
  sp: string;
  /** M0 = N − P, int64 [1]. */
  M0: string;
}

export interface ReductionOutput {
  /** The reduced patch tokens [B, K, C] float32 and their sizes [B, K]. */
  reduced: string;
  S: string;
  /** The `dest` encoding of compiledOutputs, per input patch token. */
  dest: string;
  /** Tokens appended after the reduced ones (EViT's fused token), in the model's float type, and their sizes. */
  tail?: { tokens: string; sizes: string };
  /** JMP's statistics outputs: σ [B] and merged tokens [B]. */
  stats?: { sigma: string; merged: string };
}
