// enableJMP's options: their documented interface, their validation (resolveOptions) and the
// defaults that depend on the model (optionsForModel). The option list, their values and the README
// table come from options-schema.ts; every tuned number from defaults.ts.
import { JmpArgumentError, type JmpMatch, type JmpSelect, type Strategy } from '@jmpjs/core';
import { DEFAULT_TAU, DEFAULT_TAU_FEW_PATCHES, DEFAULT_TAU_KEYS, FEW_PATCHES } from './defaults.js';
import type { ModelFacts } from './graph/methods/method.js';
import { defaultBlocksOf, graphMethod } from './graph/methods/registry.js';
import type { JmpMetric, Method } from './option-values.js';
import { OPTION_NAMES, PLAN_OPTION_NAMES, expectedOf, type OptionName } from './options-schema.js';
import { checkPlan, type JMPPlan } from './plan-file.js';

/** Options of {@link enableJMP}. Every field is optional but `tau` (adaptive strategies) and `r` (ToMe). */
export interface JMPOptions {
  /** Reduction method: `'jmp'` (default), `'tome'` or `'evit'` (baselines, for comparisons). */
  method?: Method;
  /**
   * JMP strategy: `'adaptive-token'` (default: each leaving token merges if its best match is at
   * least τ similar, else it is pruned), `'adaptive'` (the same choice per image, by σ), `'merge'`
   * (merge-only), `'prune'` (prune-only).
   */
  strategy?: Strategy;
  /**
   * The share of the plain model's GMACs to spend, in (0, 1]: `0.65` is −35 %. The keep rate (ToMe:
   * r) of each reduction block is planned for the model's depth and token count, within ±1 % of it,
   * from `@jmpjs/core`'s cost model. Default 0.65 for JMP when no `keep` is given. Not with `keep`
   * or `r` (each sets how much is removed).
   */
  budget?: number;
  /**
   * Keep rate of the patch tokens at each reduction block, one value or one per block (JMP, EViT).
   * Default: planned from `budget` (JMP); `DEFAULT_KEEP_EVIT` (EViT).
   */
  keep?: number | readonly number[];
  /**
   * 1-based blocks that reduce, strictly increasing. Default: every second block (2, 4, …, 12 of 12)
   * for JMP with select 'redundancy', or every block from the second (2, 3, …, 12) on models with at
   * most `FEW_PATCHES` patch tokens (but the last: see below); 4, 7 and 10 (scaled to the depth)
   * for select 'attention' and EViT; every block for ToMe. With `headOnly` (the default where the head
   * allows it), JMP's and ToMe's leave out the last block: 2, 4, …, 10 (or 2, 3, …, 11) of 12.
   */
  blocks?: readonly number[];
  /**
   * Similarity threshold τ of the adaptive strategies, one value or one per reduction block. Default
   * {@link DEFAULT_TAU} (measured on the embedded model's calibration split), or
   * {@link DEFAULT_TAU_FEW_PATCHES} on models with at most `FEW_PATCHES` patches, with the default
   * metric `'hidden'`; `DEFAULT_TAU_KEYS` with a key metric. The best τ is model-specific: `calibrateJMP` finds it on your
   * images without labels.
   */
  tau?: number | readonly number[];
  /** ToMe: tokens merged per reduction block, one value or one per block (or planned from `budget`). */
  r?: number | readonly number[];
  /**
   * JMP's similarity metric: `'hidden'` (the cosine of the token states at the reduction point, after
   * the block's attention residual), `'keys'` (the cosine of the head-mean attention keys, ToMe's
   * metric) or `'keys-per-head'` (the cosine of the keys in each head, averaged over heads,
   * `@jmpjs/core`'s `perHeadUnitKeys`); all three compile. Default, with select 'redundancy':
   * `'hidden'` (`optionsForModel`). ToMe always uses head-mean keys. τ is calibrated for one metric.
   */
  metric?: JmpMetric;
  /**
   * JMP: how the tokens that leave are chosen — `'redundancy'` (default; the most redundant, paired
   * as `match` says: the tokens whose best match is most similar leave and merge into that match,
   * or are pruned by the strategy) or `'attention'` (the paper's rule as reconstructed: the least
   * attended by the class token). See `@jmpjs/core`'s README.
   */
  select?: JmpSelect;
  /**
   * JMP, select 'redundancy': which tokens may leave and where they merge. `'bipartite'`: ToMe's
   * split by position, set A leaves into set B. `'nearest'`: no split; the tokens whose most similar
   * other token is most similar leave (never one that a higher-ranked token has as its most similar),
   * each into its most similar token that stays (`@jmpjs/core`'s README has the rule). Default:
   * `'nearest'` on models with at most 64 patch tokens (`FEW_PATCHES`), `'bipartite'` on the others
   * (`optionsForModel`). τ is calibrated for one pairing.
   */
  match?: JmpMatch;
  /** JMP, select 'redundancy': how much importance keeps a redundant token from leaving (see `@jmpjs/core`). Default 0. */
  importanceWeight?: number;
  /** JMP, select 'redundancy': how much merged sizes keep a pair apart (see `@jmpjs/core`). Default 0. */
  sizeWeight?: number;
  /** Add log(size) to the attention logits after the first reduction. Default true (false for EViT). */
  proportionalAttention?: boolean;
  /**
   * Run the last block's MLP only on the tokens the classification head reads (the class token, and
   * the distillation token of distilled DeiT). The other tokens' last MLP outputs are never read, so
   * the logits are the same and that MLP costs `P / N` of what it did. Default: on wherever the
   * graph's head is confirmed to read only those tokens (every ViT / DeiT image classifier), except
   * dynamically quantized (q8) graphs, where fewer tokens change the quantization ranges of that
   * MLP's inputs (logits within about 1e-2; set it to `true` to have it there too);
   * `true` on a model whose head is not confirmed is an `UnsupportedModelError`. With it, the default
   * blocks leave out the last block (its reduction would only shrink that MLP).
   */
  headOnly?: boolean;
  /** Keep which original patches each token stands for (for token maps in `stats()`). Default false. */
  trackSources?: boolean;
  /** What to do with a model this package does not recognise: `'throw'` (default) or `'passthrough'` (warn, leave the pipeline as it is). */
  onUnsupported?: 'throw' | 'passthrough';
  /**
   * The ONNX model the pipeline loaded, as a file path or bytes. Only needed when the pipeline was
   * created before this package was imported (otherwise the package saw the file being loaded).
   */
  modelSource?: string | Uint8Array;
  /** Where warnings go (passthrough, fallbacks). Default `console.warn`. */
  warn?: (message: string) => void;
  /**
   * A plan from `calibrateJMP` (or its JSON): its blocks, keep rates, τ, select and strategy, for the
   * model it was made for (another model's plan is a `JmpArgumentError`). Not with the options it
   * fixes.
   */
  plan?: JMPPlan;
  /**
   * How the reduction runs: `'compiled'` (JMP spliced into the ONNX graph, one session),
   * `'segments'` (the graph cut at the reduction blocks, `@jmpjs/core` between the pieces) or
   * `'auto'` (default: compiled; segments with `importanceWeight` or `sizeWeight`).
   */
  runner?: 'auto' | 'compiled' | 'segments';
}

/** Options after validation and defaults, independent of the model. */
export interface ResolvedOptions {
  method: Method;
  strategy: Strategy;
  /** Planned from the budget when undefined. */
  keep: number | readonly number[] | undefined;
  budget: number | undefined;
  /** The budget is the default (not the user's): where the blocks cannot reach it, the closest plan runs, with a warning. */
  defaultBudget: boolean;
  /** The plan's model fingerprint, checked against the model's graph. */
  planFingerprint: string | undefined;
  blocks: readonly number[] | undefined;
  /** One τ, or one per reduction block (checked against the blocks when planning). */
  tau: number | readonly number[] | undefined;
  r: number | readonly number[] | undefined;
  metric: JmpMetric;
  /** Neither the options nor a plan set the metric: {@link optionsForModel} chooses it by patch count. */
  metricDefault: boolean;
  /** Neither the options nor a plan set τ (the default τ of the metric applies). */
  tauDefault: boolean;
  /** Neither the options nor a plan set the pairing: {@link optionsForModel} chooses it by patch count. */
  matchDefault: boolean;
  select: JmpSelect;
  match: JmpMatch;
  importanceWeight: number;
  sizeWeight: number;
  proportionalAttention: boolean;
  /** undefined: on where the model's head allows it. */
  headOnly: boolean | undefined;
  trackSources: boolean;
  onUnsupported: 'throw' | 'passthrough';
  modelSource: string | Uint8Array | undefined;
  warn: (message: string) => void;
  runner: 'auto' | 'compiled' | 'segments';
}

function isNumberList(v: unknown): v is readonly number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

// every option of JMPOptions has an entry in the schema, and every entry is an option
const _EVERY_OPTION_IN_THE_SCHEMA: [Exclude<keyof JMPOptions, OptionName>, Exclude<OptionName, keyof JMPOptions>] extends [never, never] ? true : false = true;
void _EVERY_OPTION_IN_THE_SCHEMA;

/** Validates options before any work; throws {@link JmpArgumentError} naming the option. */
export function resolveOptions(options: JMPOptions | undefined): ResolvedOptions {
  const given = options ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new JmpArgumentError({ argument: 'options', expected: 'an options object', found: given });
  }
  if (given.plan !== undefined) {
    // a plan fixes the schedule, τ and the method's choices: it runs as these options
    const plan = checkPlan(given.plan);
    for (const key of PLAN_OPTION_NAMES) {
      // (plans made before headOnly existed leave it to the options)
      if (given[key] !== undefined && !(key === 'headOnly' && plan.options.headOnly === undefined)) {
        throw new JmpArgumentError({
          argument: `options.plan and options.${key}`,
          expected: `one of them: the plan sets ${key === 'r' || key === 'method' ? 'the method' : key}`,
          found: `a plan and ${key} ${JSON.stringify(given[key])}`,
        });
      }
    }
    const { plan: _plan, ...rest } = given;
    const { blocks, keep, tau, select, strategy, proportionalAttention, headOnly } = plan.options;
    // τ belongs to the metric and pairing it was calibrated with: plans made before they were
    // recorded used head-mean keys and ToMe's split
    const metric = plan.options.metric ?? 'keys';
    const match = plan.options.match ?? 'bipartite';
    return {
      ...resolveOptions({
        ...rest,
        blocks,
        keep,
        tau,
        select,
        strategy,
        metric,
        proportionalAttention,
        ...(headOnly !== undefined ? { headOnly } : {}),
        ...(select === 'redundancy' ? { match } : {}),
      }),
      planFingerprint: plan.model.fingerprint,
    };
  }
  const o = given;
  for (const key of Object.keys(o)) {
    if (!OPTION_NAMES.has(key)) {
      throw new JmpArgumentError({
        argument: `options.${key}`,
        expected: `one of the known options (${[...OPTION_NAMES].join(', ')})`,
        found: 'an unknown option',
      });
    }
  }
  // the enumerations and booleans, as the schema lists them
  for (const key of Object.keys(o) as OptionName[]) {
    const expected = o[key] === undefined ? null : expectedOf(key, o[key]);
    if (expected) throw new JmpArgumentError({ argument: `options.${key}`, expected, found: o[key] });
  }
  const method = o.method ?? 'jmp';
  const strategy = o.strategy ?? 'adaptive-token';
  if (o.strategy !== undefined && method !== 'jmp') {
    throw new JmpArgumentError({ argument: 'options.strategy', expected: `no strategy with method '${method}'`, found: o.strategy });
  }
  if (o.budget !== undefined) {
    if (typeof o.budget !== 'number' || !(o.budget > 0 && o.budget <= 1)) {
      throw new JmpArgumentError({
        argument: 'options.budget',
        expected: "a share of the plain model's GMACs in (0, 1], e.g. 0.65 for −35 %",
        found: o.budget,
      });
    }
    for (const key of ['keep', 'r'] as const) {
      if (o[key] !== undefined) {
        throw new JmpArgumentError({
          argument: `options.budget and options.${key}`,
          expected: `one of them: both set how many tokens are removed`,
          found: `budget ${o.budget} and ${key} ${JSON.stringify(o[key])}`,
          hint: `Give budget to have ${key} planned, or ${key} without budget.`,
        });
      }
    }
  }
  // JMP without keep runs at the default budget; EViT keeps its fixed default
  // the method's defaults (its registry entry): JMP without keep runs at its default budget, EViT at its default keep
  const entry = graphMethod(method);
  const budget = o.budget ?? (o.keep === undefined ? entry.defaultBudget : undefined);
  const keep = o.keep ?? (budget === undefined ? entry.defaultKeep : undefined);
  if (keep !== undefined) {
    const keeps = typeof keep === 'number' ? [keep] : isNumberList(keep) ? keep : undefined;
    if (!keeps || keeps.length === 0 || keeps.some((k) => !(k > 0 && k <= 1))) {
      throw new JmpArgumentError({ argument: 'options.keep', expected: 'a keep rate in (0, 1], or one per block', found: keep });
    }
  }
  if (o.blocks !== undefined && (!isNumberList(o.blocks) || o.blocks.length === 0)) {
    throw new JmpArgumentError({ argument: 'options.blocks', expected: 'a non-empty array of 1-based block indices', found: o.blocks });
  }
  const finite = (t: unknown) => typeof t === 'number' && Number.isFinite(t);
  if (o.tau !== undefined && !finite(o.tau) && !(isNumberList(o.tau) && o.tau.length > 0 && o.tau.every(finite))) {
    throw new JmpArgumentError({
      argument: 'options.tau',
      expected: `a finite number, or one per reduction block: the similarity threshold of strategy '${strategy}'`,
      found: o.tau,
      hint: "τ is model-specific: calibrate it on held-out images (the eval app's `calibrate`), or leave it out for the default.",
    });
  }
  const needsTau = method === 'jmp' && (strategy === 'adaptive' || strategy === 'adaptive-token');
  if (entry.amount === 'r' && budget === undefined) {
    const r = o.r;
    const rs = typeof r === 'number' ? [r] : isNumberList(r) ? r : undefined;
    if (!rs || rs.length === 0 || rs.some((x) => !Number.isInteger(x) || x < 0)) {
      throw new JmpArgumentError({ argument: 'options.r', expected: "ToMe's tokens merged per block: a non-negative integer, or one per block", found: r });
    }
  } else if (o.r !== undefined) {
    throw new JmpArgumentError({ argument: 'options.r', expected: "no r with method '" + method + "' (r is ToMe's)", found: o.r });
  }
  const select = o.select ?? 'redundancy';
  const metric = o.metric ?? 'keys';
  if (o.select !== undefined && method !== 'jmp') {
    throw new JmpArgumentError({ argument: 'options.select', expected: `no select with method '${method}' (select is JMP's)`, found: o.select });
  }
  const match = o.match ?? 'bipartite';
  if (match !== 'bipartite' && (method !== 'jmp' || select !== 'redundancy')) {
    throw new JmpArgumentError({ argument: 'options.match', expected: "'bipartite' unless method is 'jmp' with select 'redundancy'", found: match });
  }
  for (const key of ['importanceWeight', 'sizeWeight'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new JmpArgumentError({ argument: `options.${key}`, expected: 'a finite number ≥ 0', found: v });
    if (v > 0 && (method !== 'jmp' || select !== 'redundancy')) {
      throw new JmpArgumentError({ argument: `options.${key}`, expected: "0 unless method is 'jmp' with select 'redundancy'", found: v });
    }
    if (v > 0 && match !== 'bipartite') {
      throw new JmpArgumentError({ argument: `options.${key}`, expected: "0 unless match is 'bipartite'", found: v });
    }
  }
  const onUnsupported = o.onUnsupported ?? 'throw';
  if (o.modelSource !== undefined && typeof o.modelSource !== 'string' && !(o.modelSource instanceof Uint8Array)) {
    throw new JmpArgumentError({ argument: 'options.modelSource', expected: 'a file path or the ONNX bytes (Uint8Array)', found: o.modelSource });
  }
  if (o.warn !== undefined && typeof o.warn !== 'function') {
    throw new JmpArgumentError({ argument: 'options.warn', expected: 'a function', found: typeof o.warn });
  }
  const runner = o.runner ?? 'auto';
  // the compiled graph: no importance or size terms in the redundancy score
  const compilable = !(o.importanceWeight ?? 0) && !(o.sizeWeight ?? 0);
  if (runner === 'compiled' && !compilable) {
    throw new JmpArgumentError({
      argument: 'options.runner',
      expected: "'segments' or 'auto' with importanceWeight or sizeWeight (the compiled graph has neither)",
      found: runner,
    });
  }
  return {
    runner: compilable ? runner : 'segments',
    method,
    strategy,
    keep,
    budget,
    defaultBudget: budget !== undefined && o.budget === undefined,
    planFingerprint: undefined,
    blocks: o.blocks,
    tau: o.tau ?? (needsTau ? DEFAULT_TAU : undefined),
    tauDefault: o.tau === undefined && needsTau,
    r: o.r,
    metric,
    metricDefault: o.metric === undefined,
    matchDefault: o.match === undefined,
    select,
    match,
    importanceWeight: o.importanceWeight ?? 0,
    sizeWeight: o.sizeWeight ?? 0,
    proportionalAttention: o.proportionalAttention ?? entry.proportionalAttention,
    headOnly: o.headOnly,
    trackSources: o.trackSources ?? false,
    onUnsupported,
    modelSource: o.modelSource,
    warn: o.warn ?? ((m) => console.warn(m)),
  };
}

/** Every default of a method on a model, where the options leave them open. */
export interface MethodDefaults {
  /** The GMACs share the schedule is planned for (JMP), or undefined. */
  budget: number | undefined;
  /** The keep rate where neither keep nor a budget is given (EViT), or undefined. */
  keep: number | undefined;
  blocks: number[];
  proportionalAttention: boolean;
  /** JMP's similarity, pairing and τ (the adaptive strategies); undefined for the other methods. */
  metric: JmpMetric | undefined;
  match: JmpMatch | undefined;
  tau: number | undefined;
}

/**
 * The defaults of `method` on a model, in one place: the method's registry entry
 * (graph/methods/<name>/method.ts: budget, keep, blocks, proportional attention) and JMP's choices
 * by patch count. JMP with select 'redundancy' uses the metric `'hidden'` (the similarity of the
 * token states); the pairing `'nearest'` on models with at most {@link FEW_PATCHES} patches and
 * ToMe's split on the others (as fast as before on DeiT-S, where nearest neighbours cost 4 % of the
 * throughput); τ {@link DEFAULT_TAU_FEW_PATCHES} or {@link DEFAULT_TAU} with metric `'hidden'`, and
 * {@link DEFAULT_TAU_KEYS} with a key metric (`metric`, when the options give one). Select
 * 'attention' keeps head-mean keys, ToMe's split and {@link DEFAULT_TAU}. Where each number comes
 * from: defaults.ts.
 */
export function defaultsFor(method: Method, facts: ModelFacts & { metric?: JmpMetric }): MethodDefaults {
  const entry = graphMethod(method);
  const common = {
    budget: entry.defaultBudget,
    keep: entry.defaultKeep,
    blocks: entry.defaultBlocks(facts),
    proportionalAttention: entry.proportionalAttention,
  };
  if (method !== 'jmp') return { ...common, metric: undefined, match: undefined, tau: undefined };
  if (facts.select !== 'redundancy') return { ...common, metric: facts.metric ?? 'keys', match: 'bipartite', tau: DEFAULT_TAU };
  const metric = facts.metric ?? 'hidden';
  const few = facts.patches <= FEW_PATCHES;
  return { ...common, metric, match: few ? 'nearest' : 'bipartite', tau: metric !== 'hidden' ? DEFAULT_TAU_KEYS : few ? DEFAULT_TAU_FEW_PATCHES : DEFAULT_TAU };
}

/** The options for a model with `patches` patch tokens: {@link defaultsFor}'s metric, pairing and τ where the options leave them open. */
export function optionsForModel(o: ResolvedOptions, patches: number): ResolvedOptions {
  if (o.method !== 'jmp' || o.select !== 'redundancy') return o;
  const d = defaultsFor('jmp', { depth: 1, patches, headOnly: false, select: o.select, ...(o.metricDefault ? {} : { metric: o.metric }) });
  return {
    ...o,
    metric: d.metric!,
    metricDefault: false,
    ...(o.matchDefault ? { match: d.match!, matchDefault: false } : {}),
    ...(o.tauDefault ? { tau: d.tau, tauDefault: false } : {}),
  };
}

/** The default reduction blocks of the options' method on a model ({@link defaultsFor}'s). */
export function defaultBlocks(method: Method, depth: number, select: JmpSelect = 'redundancy', headOnly = false, patches = Infinity): number[] {
  return defaultBlocksOf(method, { depth, patches, headOnly, select });
}
