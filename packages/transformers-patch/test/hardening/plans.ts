import fc from 'fast-check';
import { inspectJMP, type JMPOptions, type JMPPlan } from '../../src/index.js';

/**
 * Plans as untrusted input (localStorage, files, other models): valid ones — from a real
 * `calibrateJMP`, or built per plan-file.ts's schema for a model — and broken ones: truncated JSON,
 * fields of the wrong type or deleted, a future format, another model's plan or parts of it.
 */

/** A plan, as `JSON.parse` gives it back (a deep copy, so that mutations never reach the original). */
export function copyOf<T>(plan: T): T {
  return JSON.parse(JSON.stringify(plan)) as T;
}

/**
 * A plan for the pipeline built per plan-file.ts's schema (what `calibrateJMP` returns), for the
 * given options: the model fields from `inspectJMP`, made-up measurements.
 */
export async function constructedPlan(pipe: unknown, options: JMPPlan['options']): Promise<JMPPlan> {
  const info = await inspectJMP(pipe as never, planAsOptions({ options } as JMPPlan));
  return {
    format: 'jmp-plan/1',
    model: {
      architecture: info.architecture,
      depth: info.depth,
      protectedTokens: info.protectedTokens,
      patches: info.shape.patches,
      hidden: info.shape.hidden,
      fingerprint: info.fingerprint,
    },
    options,
    budget: null,
    gmacs: { ...info.gmacs },
    measured: { images: 16, agreement: 1, kl: 0, top1: null, plainTop1: null },
    candidates: [{ tau: options.tau, agreement: 1, kl: 0, top1: null }],
    objective: 'kl',
  };
}

/** The options of the plans the suites build ({@link constructedPlan}). A ViT plan made before metric, match and headOnly were recorded: */
export const OLD_VIT_OPTIONS: JMPPlan['options'] = {
  select: 'attention',
  strategy: 'prune',
  blocks: [4, 7, 10],
  keep: [0.7, 0.8, 0.9],
  tau: 0.9,
  proportionalAttention: false,
};

/** The 3-block ViT's: τ per block, the last block on the class token only, hidden-state pairs. */
export const VIT3_OPTIONS: JMPPlan['options'] = {
  select: 'redundancy',
  strategy: 'merge',
  blocks: [2, 3],
  keep: [0.8, 0.9],
  tau: [0.9, 0.8],
  proportionalAttention: true,
  headOnly: true,
  metric: 'hidden',
  match: 'nearest',
};

/** For the 4-block models of other architectures (DINOv2, CLIP, SigLIP): adaptive-token on blocks 2 and 3. */
export const FOUR_BLOCK_OPTIONS: JMPPlan['options'] = {
  select: 'redundancy',
  strategy: 'adaptive-token',
  blocks: [2, 3],
  keep: [0.8, 0.8],
  tau: 0.7,
  proportionalAttention: true,
  headOnly: false,
  metric: 'hidden',
  match: 'nearest',
};

/**
 * The options a plan stands for (its documented meaning): its blocks, keep rates, τ, select,
 * strategy, proportional attention and headOnly; its metric, or head-mean keys in plans made before
 * it was recorded; its pairing, or ToMe's split (select 'redundancy').
 */
export function planAsOptions(plan: JMPPlan): JMPOptions {
  const o = plan.options;
  return {
    blocks: o.blocks,
    keep: o.keep,
    tau: o.tau,
    select: o.select,
    strategy: o.strategy,
    proportionalAttention: o.proportionalAttention,
    ...(o.headOnly !== undefined ? { headOnly: o.headOnly } : {}),
    metric: o.metric ?? 'keys',
    ...(o.select === 'redundancy' ? { match: o.match ?? 'bipartite' } : {}),
  };
}

/** Whether `value` looks enough like a plan for {@link planAsOptions} (the rest is the package's to check). */
export function planLike(value: unknown): value is JMPPlan {
  const p = value as Partial<JMPPlan> | null;
  return typeof p === 'object' && p !== null && typeof p.options === 'object' && p.options !== null;
}

/** The closing brackets of a JSON prefix, or null when it ends inside a string. */
function closers(head: string): string | null {
  const stack: string[] = [];
  let inString = false;
  for (let i = 0; i < head.length; i++) {
    const c = head[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') stack.push('}');
    else if (c === '[') stack.push(']');
    else if (c === '}' || c === ']') stack.pop();
  }
  return inString ? null : stack.reverse().join('');
}

/**
 * A JSON text cut after `at` characters, as a lenient reader (or a repair) gives it back: the
 * longest prefix that parses once its open brackets are closed. A number cut short parses as a
 * shorter number, as it would.
 */
export function truncatedJson(text: string, at: number): unknown {
  for (let end = Math.min(at, text.length); end > 0; end--) {
    const head = text.slice(0, end).replace(/[\s,]+$/, '');
    const close = closers(head);
    if (close === null) continue;
    try {
      return JSON.parse(head + close) as unknown;
    } catch {
      // a dangling key, a cut literal: shorter
    }
  }
  return undefined;
}

/** Paths of a plan's fields (the ones checked and the ones only informative). */
export const PLAN_PATHS = [
  'format',
  'model',
  'model.fingerprint',
  'model.depth',
  'model.patches',
  'model.architecture',
  'model.hidden',
  'model.protectedTokens',
  'options',
  'options.select',
  'options.strategy',
  'options.blocks',
  'options.blocks.0',
  'options.keep',
  'options.keep.0',
  'options.tau',
  'options.proportionalAttention',
  'options.headOnly',
  'options.metric',
  'options.match',
  'budget',
  'gmacs',
  'measured',
  'candidates',
  'objective',
] as const;

/** Sets (or, with `undefined`, deletes) `path` in a copy of `plan`; missing objects on the way are created. */
export function withPath(plan: unknown, path: string, value: unknown): unknown {
  const out = copyOf(plan) as Record<string, unknown>;
  const keys = path.split('.');
  let at: Record<string, unknown> = out;
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return out;
}

/** Values a plan's field may wrongly hold (JSON-representable, as from a file, and a few that are not). */
export const badPlanValue = fc.oneof(
  fc.constantFrom(null, 0, -1, 1.5, 13, 1e9, -0.0, '', 'x', '0.7', 'jmp-plan/1', true, false, [], [null], [0], [NaN], ['2'], {}, { 0: 1 }, NaN, Infinity),
  fc.anything({ maxDepth: 1 }),
);

const FORMATS = ['jmp-plan/2', 'jmp-plan/1.1', 'jmp-plan/0', 'JMP-PLAN/1', 'jmp-plan/1 ', 'jmp-plan', 'jmp-plan/10', 1, 2, null] as const;

/**
 * Broken plans drawn from valid ones (of this model and of others): a field set to a wrong value
 * or deleted, keep / blocks / τ lists cut or changed, the JSON cut short (and repaired to parse) or
 * given as text, a future format, NaN written through JSON (null), one plan's model with another's
 * options. Each must give a typed error, or run as the plan's options say.
 */
export function brokenPlan(valid: readonly JMPPlan[]): fc.Arbitrary<unknown> {
  const base = fc.constantFrom(...valid);
  const list = fc.constantFrom('options.keep', 'options.blocks', 'options.tau');
  return fc.oneof(
    fc.tuple(base, fc.constantFrom(...PLAN_PATHS), badPlanValue).map(([p, path, v]) => withPath(p, path, v)),
    fc.tuple(base, fc.constantFrom(...PLAN_PATHS)).map(([p, path]) => withPath(p, path, undefined)),
    fc.tuple(base, list, fc.constantFrom('drop last', 'one more', 'reverse', 'empty', 'first twice', 'shift by one', 'negate')).map(([p, path, op]) => {
      const plan = copyOf(p) as unknown as Record<string, Record<string, unknown>>;
      const key = path.split('.')[1]!;
      const v = plan.options![key];
      const xs = Array.isArray(v) ? (v as number[]) : [v as number];
      const changed =
        op === 'drop last'
          ? xs.slice(0, -1)
          : op === 'one more'
            ? [...xs, xs.at(-1)!]
            : op === 'reverse'
              ? [...xs].reverse()
              : op === 'empty'
                ? []
                : op === 'first twice'
                  ? [xs[0]!, ...xs]
                  : op === 'shift by one'
                    ? xs.map((x) => x + 1)
                    : xs.map((x) => -x);
      plan.options![key] = changed;
      return plan;
    }),
    fc.tuple(base, fc.double({ min: 0, max: 1, noNaN: true })).map(([p, r]) => {
      const text = JSON.stringify(p);
      return truncatedJson(text, Math.floor(r * text.length));
    }),
    fc.tuple(base, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()).map(([p, r, whole]) => {
      const text = JSON.stringify(p);
      return whole ? text : text.slice(0, Math.floor(r * text.length));
    }),
    fc.tuple(base, fc.constantFrom(...FORMATS)).map(([p, format]) => withPath(p, 'format', format)),
    fc
      .tuple(base, fc.constantFrom('options.tau', 'options.keep.0', 'options.blocks.0', 'model.depth'), fc.constantFrom(NaN, Infinity, -Infinity))
      .map(([p, path, v]) => copyOf(withPath(p, path, v))),
    fc.tuple(base, base).map(([a, b]) => ({ ...copyOf(a), options: copyOf(b.options) })),
    fc.tuple(base, base).map(([a, b]) => ({ ...copyOf(a), model: copyOf(b.model) })),
  );
}
