// Argument checks the methods share: keep rates, the critical count, select 'redundancy''s bound,
// and the signals measured in the model.
import { JmpArgumentError } from '../errors.js';
import { checkFinite, checkTensor, type Tensor } from '../tensor.js';
import { bipartiteSplit } from './shared.js';

/** `K = ceil(keep · (N − P))`, the number of critical tokens. */
export function criticalCount(keep: number, tokens: number, protectedTokens: number): number {
  // Guard against keep·M landing a hair above an integer through float rounding (0.7·196 = 137.2 is fine,
  // but e.g. 0.5·(N−P) must not become one more than half).
  return Math.min(tokens - protectedTokens, Math.ceil(keep * (tokens - protectedTokens) - 1e-9));
}

/** With select 'redundancy', at most the tokens of ToMe's set A can leave: `N − P − K ≤ |A|`. */
export function checkRedundancyKeep(argument: string, keep: number, N: number, P: number, K: number): void {
  const { nA } = bipartiteSplit(N, P);
  if (N - P - K > nA) {
    throw new JmpArgumentError({
      argument,
      expected: `a keep rate that removes at most ${nA} of the ${N - P} unprotected tokens (ToMe's set A) with select 'redundancy'`,
      found: keep,
      hint: "Reduce at more blocks with a higher keep rate, or use select: 'attention'.",
    });
  }
}

export function checkKeep(argument: string, keep: unknown): number {
  if (typeof keep !== 'number' || !(keep > 0 && keep <= 1)) {
    throw new JmpArgumentError({ argument, expected: 'a keep rate in (0, 1]', found: keep });
  }
  return keep;
}

export function checkImportance(importance: Float32Array | undefined, B: number, N: number): Float32Array {
  if (importance === undefined) {
    throw new JmpArgumentError({
      argument: 'signals.importance',
      expected: 'a Float32Array [B, N] of token importances',
      found: importance,
      hint: 'Compute it with importanceFromAttention or importanceFromRows.',
    });
  }
  checkTensor('signals.importance', { data: importance, dims: [B, N] }, ['B', 'N']);
  checkFinite('signals.importance', importance);
  return importance;
}

export function checkMetric(metric: Tensor | undefined, B: number, N: number): Tensor {
  if (metric === undefined) {
    throw new JmpArgumentError({
      argument: 'signals.metric',
      expected: 'a tensor [B, N, D] (head-mean keys)',
      found: metric,
      hint: "Compute it with headMeanKeys / headMeanKeysPacked, or use metric: 'hidden'.",
    });
  }
  checkTensor('signals.metric', metric, ['B', 'N', 'D'], [B, N]);
  checkFinite('signals.metric', metric.data);
  return metric;
}
