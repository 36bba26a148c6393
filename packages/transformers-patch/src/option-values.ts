// The values an option can take, below every layer that reads them (graph, runners, host): what
// the graph compiles against, with no defaults and no validation (those are in options.ts and
// defaults.ts).

/** The reduction methods: JMP, and the baselines ToMe and EViT. */
export const METHODS = ['jmp', 'tome', 'evit'] as const;
export type Method = (typeof METHODS)[number];

/** JMP's similarity metrics (see `JMPOptions.metric`). */
export const JMP_METRICS = ['keys-per-head', 'keys', 'hidden'] as const;
export type JmpMetric = (typeof JMP_METRICS)[number];

/** How the reduction runs (see `JMPOptions.runner`). */
export const RUNNERS = ['auto', 'compiled', 'segments'] as const;
export type RunnerChoice = (typeof RUNNERS)[number];

/** What enableJMP does with a model it does not support. */
export const ON_UNSUPPORTED = ['throw', 'passthrough'] as const;
export type OnUnsupported = (typeof ON_UNSUPPORTED)[number];

/** τ of reduction k (0-based): the one τ, or the k-th of one per block. */
export function tauAt(tau: number | readonly number[] | undefined, k: number): number | undefined {
  return typeof tau === 'number' || tau === undefined ? tau : tau[k];
}
