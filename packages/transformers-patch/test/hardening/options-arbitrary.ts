import fc from 'fast-check';

/**
 * Random option objects for enableJMP: mostly consistent ones (each method with its own
 * parameters, blocks and one keep / r per block or one for all), some with one or two options
 * set to a wrong or random value (or unknown options), and some entirely random values.
 */

const STRATEGIES = ['adaptive', 'adaptive-token', 'merge', 'prune'] as const;
const keepRate = fc.oneof(fc.double({ min: 0.05, max: 1, noNaN: true }), fc.constant(1), fc.constant(0.5));
/** Options that are consistent with each other (a ToMe r may still ask for more tokens than exist). */
export const consistentOptions = fc
  .record({
    method: fc.constantFrom('jmp', 'jmp', 'jmp', 'tome', 'evit'),
    blocks: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }).map((a) => a.sort((x, y) => x - y)), { nil: undefined }),
    perBlock: fc.boolean(),
    strategy: fc.option(fc.constantFrom(...STRATEGIES), { nil: undefined }),
    tau: fc.double({ min: -0.2, max: 1, noNaN: true }),
    metric: fc.option(fc.constantFrom('keys', 'hidden'), { freq: 3, nil: undefined }),
    proportionalAttention: fc.option(fc.boolean(), { nil: undefined }),
    trackSources: fc.option(fc.boolean(), { freq: 3, nil: undefined }),
    runner: fc.option(fc.constantFrom('auto', 'compiled', 'segments'), { nil: undefined }),
    onUnsupported: fc.option(fc.constantFrom('throw', 'passthrough'), { nil: undefined }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .chain((d) => {
    const n = d.blocks?.length ?? (d.method === 'tome' ? 12 : 3);
    const amounts = d.method === 'tome' ? fc.integer({ min: 0, max: 16 }) : keepRate;
    return (d.perBlock ? fc.array(amounts, { minLength: n, maxLength: n }) : amounts.map((a) => a as number | number[])).map((amount) => {
      const o: Record<string, unknown> = { method: d.method === 'jmp' && d.seed % 2 ? undefined : d.method };
      if (d.blocks) o.blocks = d.blocks;
      if (d.method === 'tome') o.r = amount;
      else o.keep = amount;
      if (d.method === 'jmp') {
        if (d.strategy) o.strategy = d.strategy;
        const adaptive = !d.strategy || d.strategy.startsWith('adaptive');
        if (adaptive || d.seed % 3 === 0) o.tau = d.tau;
      }
      if (d.metric) o.metric = d.metric;
      if (d.proportionalAttention !== undefined) o.proportionalAttention = d.proportionalAttention;
      if (d.trackSources !== undefined) o.trackSources = d.trackSources;
      const compilable = (d.metric ?? 'keys') === 'keys'; // the compiled graph uses key similarity
      if (d.onUnsupported) o.onUnsupported = d.onUnsupported;
      if (d.runner) o.runner = d.runner === 'compiled' && !compilable ? 'segments' : d.runner;
      for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
      return o;
    });
  });

/** Values an option may wrongly get. */
const badValue = fc.oneof(
  fc.constantFrom(0, -1, 1.5, NaN, Infinity, -Infinity, 2.5, 1e9, '', 'fast', '0.7', true, null, [], [NaN], [0, 2], {}, 'nope.onnx'),
  fc.anything({ maxDepth: 1 }),
);
const KEYS = ['method', 'strategy', 'keep', 'blocks', 'tau', 'r', 'metric', 'proportionalAttention', 'trackSources', 'onUnsupported', 'modelSource', 'warn', 'runner', 'kep', 'tokens', 'constructor'];

/** A consistent option object with one or two keys set to a wrong (or a random) value, or a random object. */
export const mutatedOptions = fc.oneof(
  fc.tuple(consistentOptions, fc.array(fc.tuple(fc.constantFrom(...KEYS), badValue), { minLength: 1, maxLength: 2 })).map(([o, changes]) => {
    const m = { ...o };
    for (const [k, v] of changes) m[k] = v;
    return m;
  }),
  fc.dictionary(fc.constantFrom(...KEYS), badValue, { maxKeys: 4 }),
  fc.anything({ maxDepth: 1 }),
);

export const anyOptions = fc.oneof({ arbitrary: consistentOptions, weight: 3 }, { arbitrary: mutatedOptions, weight: 2 });
