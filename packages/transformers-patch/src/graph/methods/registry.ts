// The graph's methods, one line each: adding a method is its folder and a line here (and one in
// @jmpjs/core's methods/registry.ts).
import type { ReductionMethod } from '@jmpjs/core';
import { tauAt } from '../../option-values.js';
import { evit } from './evit/method.js';
import { jmp } from './jmp/method.js';
import type { CoreMethodOptions, GraphMethod, ModelFacts } from './method.js';
import { tome } from './tome/method.js';

export const GRAPH_METHODS: Readonly<Record<ReductionMethod['method'], GraphMethod>> = Object.freeze({
  jmp,
  tome,
  evit,
});

/** The registry's entry for a method name (JMP where none is given, as the compile options default). */
export function graphMethod(name: ReductionMethod['method'] | undefined): GraphMethod {
  const entry = Object.prototype.hasOwnProperty.call(GRAPH_METHODS, name ?? 'jmp') ? GRAPH_METHODS[name ?? 'jmp'] : undefined;
  if (!entry) throw new Error(`internal error: no method '${String(name)}' in the graph's registry`);
  return entry;
}

/** The default reduction blocks of `method` on a model (each method's `defaultBlocks`). */
export function defaultBlocksOf(method: ReductionMethod['method'], facts: ModelFacts): number[] {
  return graphMethod(method).defaultBlocks(facts);
}

/** `@jmpjs/core`'s reduction of each scheduled block, in order (the segments runner's), τ per block. */
export function coreMethodsFor(
  o: CoreMethodOptions & { method: ReductionMethod['method']; tau: number | readonly number[] | undefined },
  steps: readonly { block: number; amount: number }[],
): ReductionMethod[] {
  const entry = graphMethod(o.method);
  return steps.map(({ amount }, k) => entry.coreMethod(o, { amount, tau: tauAt(o.tau, k) }));
}
