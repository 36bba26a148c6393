// JMP in the graph's registry: its emitters (float form, index form), how the compiled runner reads
// its statistics outputs, and its defaults.
import { criticalCount } from '@jmpjs/core';
import type { CompileOptions } from '../../compile-options.js';
import { DEFAULT_BUDGET, FEW_PATCHES } from '../../../defaults.js';
import type { GraphMethod } from '../method.js';
import { leaveOutLast, scaledBlocks } from '../schedules.js';
import { emitJmpIndexed } from './emit-indexed.js';
import { emitJmp } from './emit.js';

/**
 * Whether JMP compiles to its index form (emit-indexed.ts): index ops asked for, select 'redundancy'
 * with ToMe's split. The compiled runner's overhead statistics read the same answer.
 */
export function jmpIndexForm(o: Pick<CompileOptions, 'method' | 'indexOps' | 'select' | 'match'>): boolean {
  return (o.method ?? 'jmp') === 'jmp' && !!o.indexOps && o.select === 'redundancy' && (o.match ?? 'bipartite') === 'bipartite';
}

export const jmp: GraphMethod = {
  amount: 'keep',
  reduces: (keep) => keep < 1,
  emit(g, x, { amount: keep, tau }, o) {
    const strategy = o.strategy ?? 'adaptive';
    const metric = o.metric ?? 'keys';
    if (jmpIndexForm(o)) return emitJmpIndexed(g, x, { keep, strategy, tau, select: 'redundancy', match: 'bipartite', metric });
    return emitJmp(g, x, { keep, strategy, tau, select: o.select ?? 'attention', match: o.match ?? 'bipartite', metric });
  },
  kept: (keep, n, P) => criticalCount(keep, n, P),
  decision: undefined,
  defaultBudget: DEFAULT_BUDGET,
  defaultKeep: undefined,
  /**
   * Select 'redundancy': every second block (2, 4, …, 12 of 12), or every block from the second
   * (2, 3, …, 12) on models with at most FEW_PATCHES patches; select 'attention': 4, 7 and 10 (scaled
   * to the depth). With headOnly the former leave out the last block.
   */
  defaultBlocks({ depth, patches, headOnly, select }) {
    if (select !== 'redundancy') return scaledBlocks(depth);
    if (depth < 2) return [1];
    if (patches <= FEW_PATCHES)
      return leaveOutLast(
        Array.from({ length: depth - 1 }, (_, i) => i + 2),
        depth,
        headOnly,
      );
    return leaveOutLast(
      Array.from({ length: Math.floor(depth / 2) }, (_, i) => 2 * (i + 1)),
      depth,
      headOnly,
    );
  },
  proportionalAttention: true,
  similarityDims: (o, hidden, heads) => (o.select === 'attention' && o.strategy === 'prune' ? 0 : o.metric !== 'keys' ? hidden : hidden / heads),
  coreMethod: (o, { amount, tau }) => ({
    method: 'jmp',
    keep: amount,
    ...(o.strategy !== undefined ? { strategy: o.strategy } : {}),
    // the core reads 'keys-per-head' like 'keys': the runner computes signals.metric per head
    metric: o.metric === 'hidden' ? 'hidden' : 'keys',
    ...(o.select !== undefined ? { select: o.select } : {}),
    ...(o.match !== undefined ? { match: o.match } : {}),
    importanceWeight: o.importanceWeight,
    sizeWeight: o.sizeWeight,
    ...(tau !== undefined ? { tau } : {}),
  }),
};
