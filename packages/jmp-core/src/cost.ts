import { JmpArgumentError } from './errors.js';
import type { BlockTokens } from './schedule.js';

/** The sizes of a ViT that its cost depends on. */
export interface ModelShape {
  /** Width `C`. */
  hidden: number;
  /** Number of blocks. */
  depth: number;
  /** MLP width (4·C for ViT/DeiT). */
  intermediate: number;
  /** Patch tokens (196 for 224/16). */
  patches: number;
  /** Input channels (3). */
  channels: number;
  /** Patch side (16). */
  patchSize: number;
  /** Classes per classifier head. */
  classes: number;
  /** Classifier heads: 1 (ViT), 2 (distilled DeiT with teacher head). */
  heads: number;
  /** Protected tokens `P` (1 or 2). */
  protectedTokens: number;
  /**
   * The head's MACs as a constant, where the head is not a linear layer of width `C` (a dense
   * prediction neck and head, such as Depth Anything's); absent: `C · classes · heads`.
   */
  headMacs?: number;
}

/** DeiT-S (and ViT-S): 224/16, width 384, 12 blocks, 6 heads, 1000 classes. */
export const DEIT_SMALL: ModelShape = Object.freeze({
  hidden: 384,
  depth: 12,
  intermediate: 1536,
  patches: 196,
  channels: 3,
  patchSize: 16,
  classes: 1000,
  heads: 1,
  protectedTokens: 1,
});

/** Multiply-accumulates of one image through the model, split by part (all in MACs, not GMACs). */
export interface CostReport {
  /** Everything but the reduction overhead, in GMACs. */
  gmacs: number;
  embedding: number;
  blocks: number[];
  head: number;
  /** Similarity computations of the reductions (reported apart, not in `gmacs`). */
  reductionOverhead: number;
}

/**
 * MACs of one block with `tokensIn` tokens entering and `tokensOut` after its reduction:
 * `4·N_in·C² + 2·N_in²·C + 2·N_out·C·I` (QKV and projection, attention, MLP of width I; with I = 4C the
 * last term is the spec's `8·N_mid·C²`).
 */
export function blockMacs(shape: Pick<ModelShape, 'hidden' | 'intermediate'>, tokensIn: number, tokensOut: number): number {
  const C = shape.hidden;
  return 4 * tokensIn * C * C + 2 * tokensIn * tokensIn * C + 2 * tokensOut * C * shape.intermediate;
}

/**
 * Cost per image from the token counts a run really had (or a plan). `blocks` has one entry per
 * block of the model.
 *
 * @param overheadMacs similarity MACs per image spent by the reductions (reported apart).
 */
export function countMacs(shape: ModelShape, blocks: readonly BlockTokens[], overheadMacs = 0): CostReport {
  if (!Array.isArray(blocks) || blocks.length !== shape.depth) {
    throw new JmpArgumentError({
      argument: 'blocks',
      expected: `${shape.depth} entries (one per block of the model)`,
      found: Array.isArray(blocks) ? `${blocks.length} entries` : blocks,
    });
  }
  const embedding = shape.patches * shape.hidden * shape.channels * shape.patchSize * shape.patchSize;
  const perBlock = blocks.map((b) => blockMacs(shape, b.tokensIn, b.tokensOut));
  const head = shape.headMacs ?? shape.hidden * shape.classes * shape.heads;
  const total = embedding + perBlock.reduce((a, b) => a + b, 0) + head;
  return { gmacs: total / 1e9, embedding, blocks: perBlock, head, reductionOverhead: overheadMacs };
}

/** Cost of the model without any reduction. */
export function baselineMacs(shape: ModelShape): CostReport {
  const n = shape.patches + shape.protectedTokens;
  return countMacs(
    shape,
    Array.from({ length: shape.depth }, (_, i) => ({ block: i + 1, tokensIn: n, tokensOut: n })),
  );
}
