import type { JmpMatch, JmpSelect, ReductionMethod, Strategy } from '@jmpjs/core';
import type { JmpMetric } from '../option-values.js';

/** What the compiled graph reduces, at the given blocks (1-based, strictly increasing). */
export interface CompileOptions {
  /** JMP (all four strategies), or the baselines ToMe and EViT. Default 'jmp'. */
  method?: ReductionMethod['method'];
  blocks: readonly number[];
  /** Keep rate per block (JMP, EViT). */
  keeps?: readonly number[];
  /** Tokens merged per block (ToMe). */
  rs?: readonly number[];
  /** JMP strategy. */
  strategy?: Strategy;
  /** JMP: how the non-critical tokens are chosen. Default 'attention'. */
  select?: JmpSelect;
  /** JMP with select 'redundancy': ToMe's split or nearest neighbours. Default 'bipartite'. */
  match?: JmpMatch;
  /** Required by the adaptive strategies: one τ, or one per block. */
  tau?: number | readonly number[];
  /** JMP's similarity metric. Default 'keys' (head-mean keys; ToMe always uses them). */
  metric?: JmpMetric;
  proportionalAttention: boolean;
  heads: number;
  /** Add an output per reduction with what happened to each patch token (see {@link compiledOutputs}). Default false. */
  trackSources?: boolean;
  /**
   * Build masks from int64 indices (ScatterElements) where that takes fewer nodes: for onnxruntime's
   * CPU and wasm execution providers. Off (the default) keeps every added op a float elementwise op,
   * which the WebGPU provider needs. The outputs are the same either way.
   */
  indexOps?: boolean;
  /**
   * Run the last block's MLP on the protected tokens only (the graph's head must read nothing
   * else: `layout.headReadsProtectedOnly`). Default false.
   */
  headOnly?: boolean;
  /**
   * How the token grid is restored where a dense neck reads it (`GraphLayout.gridReadouts`):
   * `'copy'` each original token takes the state of the token it ended in; `'residual'` that state
   * plus the token's own difference from it when it left (its state minus the merged or matched
   * token's, summed over the reductions it went through), which keeps what told the tokens apart.
   * Default 'copy' (what the PyTorch reference's cases check); the host plans 'residual'.
   */
  gridRestore?: 'copy' | 'residual';
}
