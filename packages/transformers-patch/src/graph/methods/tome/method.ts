// ToMe in the graph's registry: r tokens merge at every scheduled block.
import type { GraphMethod } from '../method.js';
import { leaveOutLast } from '../schedules.js';
import { emitTome } from './emit.js';

export const tome: GraphMethod = {
  amount: 'r',
  reduces: (r) => r > 0,
  emit: (g, x, { amount: r }) => emitTome(g, x, r),
  kept: (r, n, P) => n - P - r,
  decision: 'merge',
  defaultBudget: undefined,
  defaultKeep: undefined,
  /** Every block (with headOnly: but the last). */
  defaultBlocks: ({ depth, headOnly }) =>
    leaveOutLast(
      Array.from({ length: depth }, (_, i) => i + 1),
      depth,
      headOnly,
    ),
  proportionalAttention: true,
  // ToMe always compares the head-mean keys
  similarityDims: (_o, hidden, heads) => hidden / heads,
  coreMethod: (_o, { amount }) => ({ method: 'tome', r: amount }),
};
