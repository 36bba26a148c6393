import type { GraphLayout } from '../layout.js';

/** What every method's emitter gets at one reduction point (patch tokens only, after the protected ones). */
export interface ReductionInput {
  block: GraphLayout['blocks'][number];
  /** Shape of the block's attention residual [B, N, C] (int64). */
  shapeX: string;
  /** All tokens [B, N, C] in the model's float type, protected ones first. */
  X: string;
  /** Their sizes [B, N] float32. */
  s: string;
  /** Patch tokens [B, M0, C] in float32 (emitted on first use). */
  readonly Xp: string;
  /** Their sizes [B, M0] (emitted on first use). */
  readonly sp: string;
  /** M0 = N − P, int64 [1]. */
  M0: string;
}

export interface ReductionOutput {
  /** The reduced patch tokens [B, K, C] float32 and their sizes [B, K] (unless `full` is given). */
  reduced?: string;
  S?: string;
  /** Or all tokens after the reduction, protected ones first: [B, P + K, C] in the model's float type, and their sizes [B, P + K]. */
  full?: { tokens: string; sizes: string };
  /** Emits the `dest` encoding of compiledOutputs, per input patch token (only called with `trackSources`). */
  dest: () => string;
  /**
   * Emits, per input patch token [B, M0] float, the output patch position its state is restored
   * from when the full token grid is given back (`last_hidden_state`): its own if it stays, its
   * match's if it merged or was pruned, the fused token's (EViT). Only called when restoring.
   */
  restore: () => string;
  /** Tokens appended after the reduced ones (EViT's fused token), in the model's float type, and their sizes. */
  tail?: { tokens: string; sizes: string };
  /** JMP's statistics outputs: σ [B] and merged tokens [B]. */
  stats?: { sigma: string; merged: string };
}
