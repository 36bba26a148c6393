import { JmpArgumentError } from './errors.js';
import { coreMethod, methodNames } from './methods/registry.js';
import type { ReductionMethod, ReductionResult, ReductionSignals } from './methods/types.js';
import { checkTokenState, type TokenState } from './state.js';

/**
 * One token reduction (JMP, ToMe or EViT) on a batch of token states.
 *
 * Protected tokens pass through bit-identical; the others keep their spatial order. Every sample
 * ends with the same token count, so the batch stays rectangular:
 * `P + K` (JMP), `P + K + 1` (EViT, `K < N − P`), `N − r` (ToMe).
 *
 * Each method's checks and reducer are in its folder, `methods/<name>/`; `methods/registry.ts` lists them.
 */
export function reduceTokens(state: TokenState, signals: ReductionSignals, method: ReductionMethod): ReductionResult {
  const dims = checkTokenState(state);
  if (!method || typeof method !== 'object') {
    throw new JmpArgumentError({ argument: 'method', expected: `an object with method ${methodNames()}`, found: method });
  }
  if (!signals || typeof signals !== 'object') {
    throw new JmpArgumentError({ argument: 'signals', expected: 'an object { importance?, metric? }', found: signals });
  }
  const entry = coreMethod(method.method);
  if (!entry) {
    throw new JmpArgumentError({ argument: 'method.method', expected: methodNames(), found: (method as { method: unknown }).method });
  }
  return entry.reduce(state, dims, signals, method);
}
