// EViT in the registry: the K most attended tokens stay, the others fuse into one extra token.
import { checkImportance, checkKeep, criticalCount } from '../checks.js';
import type { CoreMethod, EvitMethod } from '../types.js';
import { reduceEvit } from './reduce.js';

export const evit: CoreMethod<EvitMethod> = {
  amount: 'keep',
  reduce(state, [B, N, C], signals, method) {
    const keep = checkKeep('method.keep', method.keep);
    const importance = checkImportance(signals.importance, B, N);
    return reduceEvit(state, [B, N, C], importance, criticalCount(keep, N, state.protectedTokens));
  },
  tokensAfter(keep, n, P) {
    const K = criticalCount(keep, n, P);
    return P + K + (K < n - P ? 1 : 0);
  },
};
