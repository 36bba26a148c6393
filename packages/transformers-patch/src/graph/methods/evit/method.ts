// EViT in the graph's registry: the K most attended tokens stay, the others fuse into one.
import { criticalCount } from '@jmpjs/core';
import { DEFAULT_KEEP_EVIT } from '../../../defaults.js';
import type { GraphMethod } from '../method.js';
import { scaledBlocks } from '../schedules.js';
import { emitEvit } from './emit.js';

export const evit: GraphMethod = {
  amount: 'keep',
  reduces: (keep) => keep < 1,
  emit: (g, x, { amount: keep }) => emitEvit(g, x, keep),
  kept: (keep, n, P) => criticalCount(keep, n, P),
  decision: 'fuse',
  defaultBudget: undefined,
  defaultKeep: DEFAULT_KEEP_EVIT,
  /** 4, 7 and 10 (scaled to the depth). */
  defaultBlocks: ({ depth }) => scaledBlocks(depth),
  proportionalAttention: false,
  similarityDims: () => 0,
  coreMethod: (_o, { amount }) => ({ method: 'evit', keep: amount }),
};
