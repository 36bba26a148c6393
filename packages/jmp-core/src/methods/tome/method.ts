// ToMe in the registry: r at most half of the unprotected tokens, the r best A→B pairs merge.
import { JmpArgumentError } from '../../errors.js';
import { checkMetric } from '../checks.js';
import type { CoreMethod, ToMeMethod } from '../types.js';
import { reduceTome } from './reduce.js';

export const tome: CoreMethod<ToMeMethod> = {
  amount: 'r',
  reduce(state, [B, N, C], signals, method) {
    const P = state.protectedTokens;
    const max = Math.floor((N - P) / 2);
    if (!Number.isInteger(method.r) || method.r < 0 || method.r > max) {
      throw new JmpArgumentError({
        argument: 'method.r',
        expected: `an integer in [0, ${max}] (at most half of the ${N - P} unprotected tokens)`,
        found: method.r,
        hint: 'Lower r or reduce at fewer blocks.',
      });
    }
    const metric = method.r > 0 ? checkMetric(signals.metric, B, N) : undefined;
    return reduceTome(state, [B, N, C], metric, method.r);
  },
  tokensAfter(r, n, P, block) {
    const max = Math.floor((n - P) / 2);
    if (r > max) {
      throw new JmpArgumentError({
        argument: `schedule.r (block ${block})`,
        expected: `at most ${max}: half of the ${n - P} unprotected tokens entering block ${block}`,
        found: r,
        hint: 'The schedule asks to remove more tokens than exist: lower r or reduce at fewer blocks.',
      });
    }
    return n - r;
  },
};
