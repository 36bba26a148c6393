import fc from 'fast-check';
import type { JMPPlan } from '../../src/index.js';
import { brokenPlan } from './plans.js';

/**
 * Random option objects for enableJMP, drawn for one model: mostly consistent ones (each method
 * with its own parameters — JMP's select, match, metric, strategy, τ and weights — blocks, and one
 * keep / r per block or one for all, or a budget, or the defaults; headOnly, proportional
 * attention, sources, runner, onUnsupported, warn and modelSource; or a plan of this model with
 * the options a plan leaves open), some with one or two options set to a wrong or random value
 * (unknown options, broken plans, another model's plan), and some entirely random values.
 *
 * Every option of `JMPOptions` is drawn (src/options.ts), valid and invalid values alike.
 */
export interface OptionContext {
  /** Valid plans of this model (from calibrateJMP, or built per plan-file.ts's schema). */
  plans: readonly JMPPlan[];
  /** Valid plans of other models (a typed error here). */
  otherPlans: readonly JMPPlan[];
  /** The model's ONNX file, and its bytes: a valid modelSource. */
  file: string;
  bytes: Uint8Array;
}

const STRATEGIES = ['adaptive', 'adaptive-token', 'merge', 'prune'] as const;
const METRICS = ['keys-per-head', 'keys', 'hidden'] as const;
const keepRate = fc.oneof(fc.double({ min: 0.05, max: 1, noNaN: true }), fc.constant(1), fc.constant(0.5));
const weight = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2, noNaN: true }));

/** What modelSource, warn and the other options a plan leaves open get (drawn alike with and without a plan). */
const openOptions = fc.record({
  proportionalAttention: fc.option(fc.boolean(), { nil: undefined }),
  headOnly: fc.option(fc.boolean(), { freq: 2, nil: undefined }),
  trackSources: fc.option(fc.boolean(), { freq: 3, nil: undefined }),
  runner: fc.option(fc.constantFrom('auto', 'compiled', 'segments'), { nil: undefined }),
  onUnsupported: fc.option(fc.constantFrom('throw', 'passthrough'), { nil: undefined }),
  modelSource: fc.option(fc.constantFrom('path', 'bytes'), { freq: 6, nil: undefined }),
  warn: fc.boolean(),
  weights: fc.option(fc.record({ importanceWeight: fc.option(weight, { nil: undefined }), sizeWeight: fc.option(weight, { nil: undefined }) }), {
    freq: 5,
    nil: undefined,
  }),
});
type Open = typeof openOptions extends fc.Arbitrary<infer T> ? T : never;

/** Sets the open options on `o`; `weighted`: importanceWeight / sizeWeight allowed (JMP, select 'redundancy', ToMe's split). */
function setOpen(o: Record<string, unknown>, d: Open, ctx: OptionContext, weighted: boolean): void {
  if (d.trackSources !== undefined) o.trackSources = d.trackSources;
  if (d.onUnsupported) o.onUnsupported = d.onUnsupported;
  if (d.modelSource) o.modelSource = d.modelSource === 'path' ? ctx.file : ctx.bytes;
  if (d.warn) o.warn = () => {};
  const weights: { importanceWeight?: number | undefined; sizeWeight?: number | undefined } = weighted && d.weights ? d.weights : {};
  for (const [k, v] of Object.entries(weights)) if (v !== undefined) o[k] = v;
  // the compiled graph has no importance or size terms: the segments runner where they are on
  const compilable = !(weights.importanceWeight ?? 0) && !(weights.sizeWeight ?? 0);
  if (d.runner) o.runner = d.runner === 'compiled' && !compilable ? 'segments' : d.runner;
}

/** Options that are consistent with each other (a ToMe r or a budget may still ask for more than the model has). */
function consistentOptions(ctx: OptionContext): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      method: fc.constantFrom('jmp', 'jmp', 'jmp', 'tome', 'evit'),
      amount: fc.constantFrom('keep', 'keep', 'budget', 'default'),
      budget: fc.double({ min: 0.3, max: 1, noNaN: true }),
      blocks: fc.option(
        fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }).map((a) => a.sort((x, y) => x - y)),
        { nil: undefined },
      ),
      perBlock: fc.boolean(),
      select: fc.option(fc.constantFrom('redundancy', 'attention'), { freq: 2, nil: undefined }),
      match: fc.option(fc.constantFrom('bipartite', 'nearest'), { freq: 2, nil: undefined }),
      metric: fc.option(fc.constantFrom(...METRICS), { freq: 2, nil: undefined }),
      strategy: fc.option(fc.constantFrom(...STRATEGIES), { nil: undefined }),
      tau: fc.double({ min: -0.2, max: 1, noNaN: true }),
      tauPerBlock: fc.boolean(),
      open: openOptions,
      seed: fc.integer({ min: 0, max: 1e6 }),
    })
    .chain((d) => {
      const n = d.blocks?.length ?? (d.method === 'tome' ? 12 : 3);
      const amounts = d.method === 'tome' ? fc.integer({ min: 0, max: 16 }) : keepRate;
      const tau = d.tauPerBlock ? fc.array(fc.double({ min: -0.2, max: 1, noNaN: true }), { minLength: n, maxLength: n }) : fc.constant(d.tau);
      return fc
        .tuple(d.perBlock ? fc.array(amounts, { minLength: n, maxLength: n }) : amounts.map((a) => a as number | number[]), tau)
        .map(([amount, taus]) => {
          const o: Record<string, unknown> = { method: d.method === 'jmp' && d.seed % 2 ? undefined : d.method };
          if (d.blocks) o.blocks = d.blocks;
          if (d.amount === 'budget') o.budget = d.budget;
          else if (d.amount === 'keep' || d.method === 'tome') o[d.method === 'tome' ? 'r' : 'keep'] = amount;
          const redundancy = (d.select ?? 'redundancy') === 'redundancy';
          if (d.method === 'jmp') {
            if (d.select) o.select = d.select;
            if (d.match && redundancy) o.match = d.match;
            if (d.metric) o.metric = d.metric;
            if (d.strategy) o.strategy = d.strategy;
            const adaptive = !d.strategy || d.strategy.startsWith('adaptive');
            if (adaptive || d.seed % 3 === 0) o.tau = taus;
          }
          if (d.open.proportionalAttention !== undefined) o.proportionalAttention = d.open.proportionalAttention;
          if (d.open.headOnly !== undefined) o.headOnly = d.open.headOnly;
          setOpen(o, d.open, ctx, d.method === 'jmp' && redundancy && (o.match ?? 'bipartite') === 'bipartite');
          for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
          return o;
        });
    });
}

/** A plan of this model, with the options a plan leaves open (headOnly only where the plan predates it). */
function planOptions(ctx: OptionContext): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(fc.constantFrom(...ctx.plans), openOptions).map(([plan, d]) => {
    const o: Record<string, unknown> = { plan };
    if (plan.options.headOnly === undefined && d.headOnly !== undefined) o.headOnly = d.headOnly;
    setOpen(o, d, ctx, plan.options.select === 'redundancy' && (plan.options.match ?? 'bipartite') === 'bipartite');
    return o;
  });
}

/** Values an option may wrongly get. */
const badValue = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    2.5,
    1e9,
    '',
    'fast',
    '0.7',
    'nearest',
    'hidden',
    'attention',
    true,
    null,
    [],
    [NaN],
    [0, 2],
    {},
    'nope.onnx',
    new Uint8Array(3),
  ),
  fc.anything({ maxDepth: 1 }),
);
const KEYS = [
  'method',
  'strategy',
  'budget',
  'keep',
  'plan',
  'blocks',
  'tau',
  'r',
  'metric',
  'select',
  'match',
  'importanceWeight',
  'sizeWeight',
  'proportionalAttention',
  'headOnly',
  'trackSources',
  'onUnsupported',
  'modelSource',
  'warn',
  'runner',
  'kep',
  'tokens',
  'constructor',
  'calibration',
];

/** A consistent option object (or a plan's) with one or two keys set to a wrong (or a random) value, or a random object. */
function mutatedOptions(ctx: OptionContext): fc.Arbitrary<unknown> {
  // a wrong plan: broken, or another model's (valid) one
  const badPlan = fc.oneof(
    { arbitrary: brokenPlan([...ctx.plans, ...ctx.otherPlans]), weight: 3 },
    { arbitrary: fc.constantFrom(...ctx.otherPlans), weight: 1 },
  );
  const change = fc.constantFrom(...KEYS).chain((k) => fc.tuple(fc.constant(k), k === 'plan' ? fc.oneof(badPlan, badValue) : badValue));
  return fc.oneof(
    fc
      .tuple(
        fc.oneof({ arbitrary: consistentOptions(ctx), weight: 3 }, { arbitrary: planOptions(ctx), weight: 1 }),
        fc.array(change, { minLength: 1, maxLength: 2 }),
      )
      .map(([o, changes]) => {
        const m = { ...o };
        for (const [k, v] of changes) m[k] = v;
        return m;
      }),
    fc.tuple(planOptions(ctx), badPlan).map(([o, plan]) => ({ ...o, plan })),
    fc.dictionary(fc.constantFrom(...KEYS), badValue, { maxKeys: 4 }),
    fc.anything({ maxDepth: 1 }),
  );
}

/** Options for the model of `ctx`: consistent ones, a plan of the model, or wrong ones. */
export function anyOptions(ctx: OptionContext): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: consistentOptions(ctx), weight: 5 }, { arbitrary: planOptions(ctx), weight: 2 }, { arbitrary: mutatedOptions(ctx), weight: 4 });
}
