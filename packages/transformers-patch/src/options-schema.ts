// The options of enableJMP, one entry each: what values it takes, its default and what it means.
// One list drives the option names resolveOptions accepts, the generic checks (enumerations and
// booleans), the subset compileJMPModel takes, the options a plan fixes, and the options table of the
// package README (`optionsTable()`; test/readme-defaults.test.ts checks the README against it). The
// defaults are written from the constants of defaults.ts, never as numbers here.
import { JMP_MATCHES, JMP_SELECTS, STRATEGIES } from '@jmpjs/core';
import { DEFAULT_BUDGET, DEFAULT_KEEP_EVIT, DEFAULT_TAU, DEFAULT_TAU_FEW_PATCHES, DEFAULT_TAU_KEYS, FEW_PATCHES } from './defaults.js';
import { JMP_METRICS, METHODS, ON_UNSUPPORTED, RUNNERS } from './option-values.js';

export interface OptionSpec {
  readonly name: string;
  /** The values of an enumeration, checked generically (`one of 'a', 'b'`). */
  readonly values?: readonly string[];
  /** A boolean, checked generically. */
  readonly boolean?: true;
  /** The default, as the README states it (Markdown). */
  readonly default: string;
  /** What it does (Markdown, one table cell). */
  readonly meaning: string;
  /** compileJMPModel takes it (the reduction is fixed in the graph: method 'jmp' only). */
  readonly compile?: true;
  /** A plan sets it: not with `plan`. */
  readonly plan?: true;
}

export const OPTION_SPECS = [
  { name: 'method', values: METHODS, default: "`'jmp'`", meaning: "`'jmp'`, or the baselines `'tome'` and `'evit'`", compile: true, plan: true },
  {
    name: 'select',
    values: JMP_SELECTS,
    default: "`'redundancy'`",
    meaning:
      "JMP: which tokens leave. `'redundancy'`: the most redundant, each merging into its most similar token that stays; `'attention'`: the least attended by the class token (the paper's rule as reconstructed)",
    compile: true,
    plan: true,
  },
  {
    name: 'strategy',
    values: STRATEGIES,
    default: "`'adaptive-token'`",
    meaning:
      "JMP: `'adaptive-token'` (per token: merge into its match when its similarity m ≥ τ, else prune), `'adaptive'` (per image: merge when σ = mean m ≥ τ, else prune), `'merge'`, `'prune'`",
    compile: true,
    plan: true,
  },
  {
    name: 'match',
    values: JMP_MATCHES,
    default: `\`'nearest'\` on models with at most ${FEW_PATCHES} patch tokens (\`FEW_PATCHES\`), else \`'bipartite'\``,
    meaning:
      "select `'redundancy'`: how tokens pair. `'bipartite'`: ToMe's split by position; `'nearest'`: each token's most similar other token, over all patch tokens. Plan files record it; `jmp.info.match` says which runs",
    compile: true,
    plan: true,
  },
  {
    name: 'metric',
    values: JMP_METRICS,
    default: "`'hidden'` (select `'redundancy'`); `'keys'` (select `'attention'`)",
    meaning:
      "JMP's similarity: `'hidden'`, the cosine of the token states after the block's attention residual; `'keys'`, of the head-mean attention keys (ToMe's metric, which ToMe always uses); `'keys-per-head'`, the mean over heads of each head's key cosine. Plan files record it; `jmp.info.metric` says which runs",
    compile: true,
    plan: true,
  },
  {
    name: 'tau',
    default: `\`${DEFAULT_TAU}\` (\`DEFAULT_TAU\`); \`${DEFAULT_TAU_FEW_PATCHES}\` (\`DEFAULT_TAU_FEW_PATCHES\`) on models with at most ${FEW_PATCHES} patch tokens; \`${DEFAULT_TAU_KEYS}\` with a key \`metric\` (select \`'redundancy'\`)`,
    meaning:
      'τ of the adaptive strategies, one value or one per reduction block. The best τ is model-specific: calibrate it where you can. `jmp.info.tau` says which runs',
    compile: true,
    plan: true,
  },
  {
    name: 'budget',
    default: `\`${DEFAULT_BUDGET}\` (\`DEFAULT_BUDGET\`; JMP without \`keep\`)`,
    meaning:
      "share of the plain model's GMACs to spend, in (0, 1]: the keep rate (ToMe: r) of each reduction block is planned for it within ±1 %. Not with `keep` or `r`. A budget you give that the blocks cannot reach is a `JmpArgumentError` with the reachable range; the default budget runs the closest plan instead, with a warning",
    compile: true,
    plan: true,
  },
  {
    name: 'keep',
    default: `planned from \`budget\` (EViT: \`${DEFAULT_KEEP_EVIT}\`)`,
    meaning: 'share of patch tokens kept at each reduction block (one value or one per block)',
    compile: true,
    plan: true,
  },
  { name: 'r', default: '—', meaning: "ToMe: tokens merged per block; `r` or `budget` is required with `method: 'tome'`", plan: true },
  {
    name: 'blocks',
    default: `JMP (select \`'redundancy'\`): every second block but the last (2, 4, …, 10 of 12), or every block from the second but the last (2, 3, …, 11) on models with at most ${FEW_PATCHES} patches; \`[4, 7, 10]\` scaled to the depth (select \`'attention'\`, EViT); every block but the last (ToMe). Without \`headOnly\`, JMP's and ToMe's include the last block`,
    meaning: '1-based reduction blocks',
    compile: true,
    plan: true,
  },
  {
    name: 'importanceWeight',
    default: '`0`',
    meaning: "select `'redundancy'` with `'bipartite'`: how much a token's importance keeps it from leaving; > 0 runs on the segments runner",
  },
  {
    name: 'sizeWeight',
    default: '`0`',
    meaning: "select `'redundancy'` with `'bipartite'`: how much the merged sizes keep a pair apart; > 0 runs on the segments runner",
  },
  {
    name: 'proportionalAttention',
    boolean: true,
    default: '`true` (`false` for EViT)',
    meaning: 'add `log(size)` to the attention logits after the first reduction',
    compile: true,
    plan: true,
  },
  {
    name: 'headOnly',
    boolean: true,
    default: 'on where the head reads only the class (and distillation) token, except q8',
    meaning:
      "run the last block's MLP on the tokens the head reads only; the logits are the same. `true` where the head reads more is an `UnsupportedModelError`. `jmp.info.headOnly` says whether it runs",
    compile: true,
    plan: true,
  },
  {
    name: 'trackSources',
    boolean: true,
    default: '`false`',
    meaning: 'keep which original patches each token stands for: `lastCall.sources` and `lastCall.sourcesAfter` (`tokenFates` of `@jmpjs/core` reads them)',
  },
  { name: 'onUnsupported', values: ON_UNSUPPORTED, default: "`'throw'`", meaning: "`'passthrough'`: warn and leave an unsupported model's pipeline unchanged" },
  { name: 'modelSource', default: '—', meaning: 'the ONNX file path or bytes, only needed if the pipeline was created before this package was imported' },
  {
    name: 'plan',
    default: '—',
    meaning: 'a plan from `calibrateJMP`: its blocks, keep rates, τ, select, strategy, metric and pairing; not with the options it sets',
  },
  {
    name: 'runner',
    values: RUNNERS,
    default: "`'auto'`",
    meaning:
      "`'compiled'` (the reduction compiled into the ONNX graph, one session), `'segments'` (graph cut at the reduction blocks, `@jmpjs/core` between the pieces); `'auto'` compiles unless `importanceWeight` or `sizeWeight` need the segments",
  },
  { name: 'warn', default: '`console.warn`', meaning: 'where warnings go (passthrough, fallbacks)' },
] as const satisfies readonly OptionSpec[];

/** The name of an option (options.ts checks that these are exactly the keys of JMPOptions). */
export type OptionName = (typeof OPTION_SPECS)[number]['name'];

/** Every option name (the keys resolveOptions accepts). */
export const OPTION_NAMES: ReadonlySet<string> = new Set(OPTION_SPECS.map((s) => s.name));
/** The options compileJMPModel takes. */
export const COMPILE_OPTION_NAMES: ReadonlySet<string> = new Set(OPTION_SPECS.filter((s: OptionSpec) => s.compile).map((s) => s.name));
/** The options a plan sets (not given with `plan`; headOnly only where the plan records it). */
export const PLAN_OPTION_NAMES: readonly OptionName[] = OPTION_SPECS.filter((s: OptionSpec) => s.plan).map((s) => s.name);

/** The generic checks: an enumeration's values, a boolean. The other options are checked in resolveOptions. */
export function expectedOf(name: OptionName, value: unknown): string | null {
  const spec: OptionSpec = OPTION_SPECS.find((s) => s.name === name)!;
  // null leaves an enumeration at its default, as undefined does (resolveOptions reads them with ??)
  if (spec.values && value !== null && !spec.values.includes(value as string)) return `one of ${spec.values.map((v) => `'${v}'`).join(', ')}`;
  if (spec.boolean && typeof value !== 'boolean') return 'a boolean';
  return null;
}

/** The README's options table (Markdown), generated from {@link OPTION_SPECS}. */
export function optionsTable(): string {
  const rows = OPTION_SPECS.map((s: OptionSpec) => `| \`${s.name}\` | ${s.default} | ${s.meaning} |`);
  return ['| option | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
