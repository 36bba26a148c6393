// JMP in the registry: its defaults in the core, its checks, and the tokens a reduction leaves.
import { JmpArgumentError } from '../../errors.js';
import { checkImportance, checkKeep, checkMetric, checkRedundancyKeep, criticalCount } from '../checks.js';
import { JMP_MATCHES, JMP_SELECTS, STRATEGIES, type CoreMethod, type JmpMethod } from '../types.js';
import { reduceJmp } from './reduce.js';

/** What `reduceTokens` assumes for the fields of a {@link JmpMethod} left out. */
export const JMP_CORE_DEFAULTS = Object.freeze({
  strategy: 'adaptive',
  metric: 'keys',
  select: 'attention',
  match: 'bipartite',
  importanceWeight: 0,
  sizeWeight: 0,
} as const);

export const jmp: CoreMethod<JmpMethod> = {
  amount: 'keep',
  reduce(state, [B, N, C], signals, method) {
    const P = state.protectedTokens;
    const keep = checkKeep('method.keep', method.keep);
    const strategy = method.strategy ?? JMP_CORE_DEFAULTS.strategy;
    if (!STRATEGIES.includes(strategy)) {
      throw new JmpArgumentError({ argument: 'method.strategy', expected: `one of ${STRATEGIES.join(', ')}`, found: strategy });
    }
    const needsTau = strategy === 'adaptive' || strategy === 'adaptive-token';
    if (needsTau && (typeof method.tau !== 'number' || Number.isNaN(method.tau))) {
      throw new JmpArgumentError({
        argument: 'method.tau',
        expected: `a number (the similarity threshold of strategy '${strategy}')`,
        found: method.tau,
        hint: 'τ is per model: calibrate it on held-out images, never on test data.',
      });
    }
    const metricKind = method.metric ?? JMP_CORE_DEFAULTS.metric;
    if (metricKind !== 'keys' && metricKind !== 'hidden') {
      throw new JmpArgumentError({ argument: 'method.metric', expected: "'keys' or 'hidden'", found: metricKind });
    }
    const select = method.select ?? JMP_CORE_DEFAULTS.select;
    if (!JMP_SELECTS.includes(select)) {
      throw new JmpArgumentError({ argument: 'method.select', expected: `one of ${JMP_SELECTS.join(', ')}`, found: select });
    }
    const match = method.match ?? JMP_CORE_DEFAULTS.match;
    if (!JMP_MATCHES.includes(match)) {
      throw new JmpArgumentError({ argument: 'method.match', expected: `one of ${JMP_MATCHES.join(', ')}`, found: match });
    }
    if (match !== 'bipartite' && select !== 'redundancy') {
      throw new JmpArgumentError({ argument: 'method.match', expected: "'bipartite' unless select is 'redundancy'", found: match });
    }
    const K = criticalCount(keep, N, P);
    if (select === 'redundancy') checkRedundancyKeep('method.keep', keep, N, P, K);
    const importanceWeight = method.importanceWeight ?? JMP_CORE_DEFAULTS.importanceWeight;
    const sizeWeight = method.sizeWeight ?? JMP_CORE_DEFAULTS.sizeWeight;
    for (const [name, v] of [
      ['importanceWeight', importanceWeight],
      ['sizeWeight', sizeWeight],
    ] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new JmpArgumentError({ argument: `method.${name}`, expected: 'a finite number ≥ 0', found: v });
      if (v > 0 && select !== 'redundancy') throw new JmpArgumentError({ argument: `method.${name}`, expected: "0 unless select is 'redundancy'", found: v });
      if (v > 0 && match !== 'bipartite') throw new JmpArgumentError({ argument: `method.${name}`, expected: "0 unless match is 'bipartite'", found: v });
    }
    const importance = select === 'attention' || importanceWeight > 0 ? checkImportance(signals.importance, B, N) : undefined;
    const needsMetric = N - P - K > 0 && (strategy !== 'prune' || select === 'redundancy');
    const metric = needsMetric ? (metricKind === 'hidden' ? { data: state.tokens, dims: state.dims } : checkMetric(signals.metric, B, N)) : undefined;
    return reduceJmp(state, [B, N, C], { importance, metric, K, strategy, tau: needsTau ? method.tau! : 0, select, match, importanceWeight, sizeWeight });
  },
  tokensAfter(keep, n, P, block, { select }) {
    const K = criticalCount(keep, n, P);
    if (select === 'redundancy') checkRedundancyKeep(`schedule.keep (block ${block})`, keep, n, P, K);
    return P + K;
  },
};
