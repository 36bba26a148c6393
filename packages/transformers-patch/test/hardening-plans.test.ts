import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from '@huggingface/transformers';
import { modelPath } from '@jmpjs/fixtures';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, checkTypedError, checkUntouched, flushTally, maxDiff, pipelineState, trial, typedError, type Outcome } from './hardening/harness.js';
import { concat } from './hardening/calls.js';
import {
  OLD_VIT_OPTIONS,
  VIT3_OPTIONS,
  FOUR_BLOCK_OPTIONS,
  brokenPlan,
  constructedPlan,
  copyOf,
  planAsOptions,
  planLike,
  truncatedJson,
  withPath,
} from './hardening/plans.js';
import {
  JmpArgumentError,
  UnsupportedModelError,
  calibrateJMP,
  createJMPPipeline,
  enableJMP,
  inspectJMP,
  type JMPOptions,
  type JMPPlan,
} from '../src/index.js';
import { LABELS, loadClassifier, logits, pixels, seededCrops, zeroShotOutputs, type ZeroShot } from './helpers.js';

/**
 * Hardening, plans: a plan is untrusted input (localStorage, a file, another model's). Malformed
 * plans (not an object, truncated JSON, fields of the wrong type, values out of range, deleted
 * fields), future format versions, plans made for another model (other depth, patch count,
 * architecture, dtype) or forged from parts of several, plans with the options they fix, and a
 * fast-check property over broken plans, on the tiny ViT, DeiT, 3-block ViT, DINOv2, CLIP, SigLIP
 * and the CNN. Each must give a typed error before any work (the pipeline untouched: same session
 * and forward, no session created, its plain outputs), the passthrough fallback, or a correct
 * result: the outputs of the options the plan stands for (`planAsOptions`: its documented meaning),
 * bit for bit, and the plain outputs back after dispose(). The plan object itself is never changed.
 *
 * The valid plans: from calibrateJMP (ViT, DeiT with τ per block, DINOv2), and built per
 * plan-file.ts's schema (3-block ViT, CLIP, SigLIP, an old ViT plan without metric / match / headOnly).
 *
 * JMP_HARDENING_PLAN_RUNS and JMP_HARDENING_SEED change the property's number of runs and its seed.
 */
countSessions();
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

const RUNS = Number(process.env.JMP_HARDENING_PLAN_RUNS ?? 100);
const SEED = Number(process.env.JMP_HARDENING_SEED ?? 20261128);
const CLASSIFIERS = ['tiny-vit', 'tiny-deit', 'tiny-vit-3', 'tiny-resnet', 'tiny-dinov2'] as const;
const ZERO_SHOT = ['tiny-clip', 'tiny-siglip'] as const;
type Name = (typeof CLASSIFIERS)[number] | (typeof ZERO_SHOT)[number] | 'tiny-vit-fp16';
type Pipe = { model: unknown; dispose(): Promise<void> };
const pipes = {} as Record<Name, Pipe>;
const plainOut = {} as Record<Name, Float32Array>;

const input224 = pixels(2, 31);
const input28 = seededCrops(2, 28, 31);

/** The pipeline's outputs for the case's input, flattened (a zero-shot model's four, by name). */
async function outputs(name: Name): Promise<Float32Array> {
  if (name === 'tiny-clip' || name === 'tiny-siglip') {
    const out = await zeroShotOutputs(pipes[name] as unknown as ZeroShot, LABELS, input28);
    return concat(
      Object.keys(out)
        .sort()
        .map((k) => out[k]!),
    );
  }
  return logits(pipes[name] as never, name === 'tiny-dinov2' ? input28 : input224);
}

const plans = {} as Record<'vit' | 'vitNearest' | 'vitOld' | 'deit' | 'vit3' | 'dinov2' | 'clip' | 'siglip', JMPPlan>;

beforeAll(async () => {
  for (const name of CLASSIFIERS) pipes[name] = await loadClassifier(name);
  pipes['tiny-vit-fp16'] = await loadClassifier('tiny-vit', 'fp16');
  for (const name of ZERO_SHOT) pipes[name] = (await pipeline('zero-shot-image-classification', modelPath(name), { dtype: 'fp32' })) as unknown as Pipe;
  for (const name of Object.keys(pipes) as Name[]) plainOut[name] = await outputs(name);
  const images = pixels(16, 77);
  const vit = pipes['tiny-vit'] as never;
  plans.vit = await calibrateJMP(vit, images, { budget: 0.6, taus: [0.6, 0.9], perBlock: false });
  plans.vitNearest = await calibrateJMP(vit, images, {
    taus: [0.8],
    perBlock: false,
    options: { metric: 'keys-per-head', match: 'nearest', strategy: 'adaptive' },
  });
  plans.vitOld = await constructedPlan(vit, OLD_VIT_OPTIONS);
  plans.deit = await calibrateJMP(pipes['tiny-deit'] as never, images, { taus: [0.85, 0.9] });
  plans.vit3 = await constructedPlan(pipes['tiny-vit-3'], VIT3_OPTIONS);
  plans.dinov2 = await calibrateJMP(pipes['tiny-dinov2'] as never, seededCrops(16, 28, 5), { taus: [0.6, 0.8], perBlock: false });
  plans.clip = await constructedPlan(pipes['tiny-clip'], FOUR_BLOCK_OPTIONS);
  plans.siglip = await constructedPlan(pipes['tiny-siglip'], { ...FOUR_BLOCK_OPTIONS, strategy: 'merge' });
  for (const p of Object.values(plans)) check(p.format === 'jmp-plan/1', 'a base plan is not a plan');
}, 300_000);
afterAll(async () => {
  for (const p of Object.values(pipes)) await p.dispose();
  flushTally('plans');
});

type Expect = 'typed' | 'correct' | 'either' | 'fallback';
type ErrorClass = typeof JmpArgumentError | typeof UnsupportedModelError;

/** JSON of a value where it has one (to see that the plan was not changed), else null. */
function snapshot(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/**
 * One case: `options` (with a plan) on the pipeline `name`. A typed error (of `cls`, naming an
 * argument that starts with `argument`) before any work, or — where allowed — a correct result:
 * the outputs of the options the plan stands for, bit for bit; the plain outputs after dispose().
 */
async function planCase(
  name: Name,
  options: JMPOptions,
  expected: Expect,
  cls: ErrorClass | ErrorClass[] = JmpArgumentError,
  argument = 'options.plan',
): Promise<Outcome> {
  const pipe = pipes[name];
  const before = pipelineState(pipe);
  const given = snapshot(options.plan);
  const o = { warn: () => {}, ...options };
  let jmp: Awaited<ReturnType<typeof enableJMP>>;
  try {
    jmp = await enableJMP(pipe, o);
  } catch (e) {
    checkTypedError(e);
    check(expected === 'typed' || expected === 'either', `a typed error where a ${expected} result was expected: ${e.message}`);
    const classes = Array.isArray(cls) ? cls : [cls];
    check(
      classes.some((c) => c.isInstance(e)),
      `expected ${classes.map((c) => c.name).join(' or ')}, got ${e.name}: ${e.message}`,
    );
    if (JmpArgumentError.isInstance(e)) check(e.argument.startsWith(argument), `the error names ${e.argument}, not ${argument}`);
    checkUntouched(pipe, before);
    check(maxDiff(await outputs(name), plainOut[name]) === 0, 'the pipeline does not give its plain outputs after the error');
    check(snapshot(options.plan) === given, 'enableJMP changed the plan');
    return 'typed';
  }
  let out: Float32Array;
  try {
    if (!jmp.enabled) {
      check(expected === 'fallback', 'a handle that is off');
      checkUntouched(pipe, before);
      check(maxDiff(await outputs(name), plainOut[name]) === 0, 'passthrough changed the outputs');
      return 'fallback';
    }
    check(
      expected === 'correct' || expected === 'either',
      `the plan ran where a ${expected} was expected (${jmp.info!.architecture}, blocks ${jmp.info!.reductionBlocks.join(', ')})`,
    );
    out = await outputs(name);
    check(out.every(Number.isFinite), 'outputs not finite');
  } finally {
    await jmp.dispose();
  }
  check(maxDiff(await outputs(name), plainOut[name]) === 0, 'dispose() did not give the plain outputs back');
  check(snapshot(options.plan) === given, 'enableJMP changed the plan');
  // no plan (undefined: what a cut that leaves nothing gives) runs the other options alone
  check(options.plan === undefined || planLike(options.plan), 'a plan that is not one ran');
  const { plan, ...rest } = o;
  const direct = await enableJMP(pipe, { ...rest, ...(plan === undefined ? {} : planAsOptions(plan)), runner: jmp.info!.runner });
  let reference: Float32Array;
  try {
    reference = await outputs(name);
  } finally {
    await direct.dispose();
  }
  const d = maxDiff(out, reference);
  check(d === 0, `the plan and the options it stands for differ by ${d}`);
  return 'correct';
}

const named = (what: string, run: () => Promise<Outcome>) => trial('plans', what, run);

describe('not a plan', () => {
  const text = () => JSON.stringify(plans.vit);
  it.each<[string, () => unknown, Expect]>([
    ['null', () => null, 'typed'],
    ['a number', () => 42, 'typed'],
    ['true', () => true, 'typed'],
    ['an empty string', () => '', 'typed'],
    ["the plan's JSON text (a string)", text, 'typed'],
    ["the plan's JSON text cut in half", () => text().slice(0, text().length >> 1), 'typed'],
    ['an array holding the plan', () => [copyOf(plans.vit)], 'typed'],
    ['an empty object', () => ({}), 'typed'],
    ['a function', () => () => plans.vit, 'typed'],
    ['a Date', () => new Date(0), 'typed'],
    ["a Map of the plan's entries", () => new Map(Object.entries(plans.vit)), 'typed'],
    ['a Uint8Array of the JSON text', () => new TextEncoder().encode(text()), 'typed'],
    ['the plan without a prototype (Object.create(null))', () => Object.assign(Object.create(null) as object, copyOf(plans.vit)), 'correct'],
    ['an object inheriting the plan (fields on its prototype)', () => Object.create(copyOf(plans.vit)) as unknown, 'correct'],
    ['the plan deep-frozen', () => deepFreeze(copyOf(plans.vit)), 'correct'],
    [
      'the plan with unknown fields everywhere (a later version adding fields)',
      () => ({ ...copyOf(plans.vit), extra: { nested: [1, 2] }, model: { ...plans.vit.model, stride: 2 }, options: { ...plans.vit.options, dither: true } }),
      'correct',
    ],
  ])('%s', async (what, plan, expected) => {
    await named(`not a plan: ${what}`, () => planCase('tiny-vit', { plan: plan() as JMPPlan }, expected));
  });

  it("JSON with a '__proto__' key: runs, Object.prototype untouched", async () => {
    await named("JSON with a '__proto__' key", async () => {
      const plan = JSON.parse(JSON.stringify(plans.vit).replace('{', '{"__proto__":{"polluted":true,"options":{"keep":[0.1]}},')) as JMPPlan;
      const outcome = await planCase('tiny-vit', { plan }, 'correct');
      check(!('polluted' in {}), 'Object.prototype was polluted');
      return outcome;
    });
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('format versions', () => {
  it.each(['jmp-plan/2', 'jmp-plan/1.1', 'jmp-plan/0', 'JMP-PLAN/1', 'jmp-plan/1 ', 'jmp-plan', 'jmp-plan/10', 1, null, undefined])(
    'format %j: typed error naming options.plan.format',
    async (format) => {
      await named(`format ${JSON.stringify(format) ?? 'deleted'}`, () =>
        planCase('tiny-vit', { plan: withPath(plans.vit, 'format', format) as JMPPlan }, 'typed', JmpArgumentError, 'options.plan.format'),
      );
    },
  );
});

describe('truncated JSON', () => {
  const cuts = Array.from({ length: 19 }, (_, i) => (i + 1) * 5);
  it.each(cuts)('cut after %i %% of the text (repaired to parse): typed error, or the options it still holds', async (percent) => {
    const text = JSON.stringify(plans.vit);
    await named(`JSON cut after ${percent} %`, () =>
      planCase('tiny-vit', { plan: truncatedJson(text, Math.floor((percent / 100) * text.length)) as JMPPlan }, 'either'),
    );
  });

  it.each<[string, string, (xs: unknown[]) => unknown[]]>([
    ['keep one shorter than blocks', 'options.keep', (xs) => xs.slice(0, -1)],
    ['blocks one shorter than keep', 'options.blocks', (xs) => xs.slice(0, -1)],
    ['τ per block one shorter than blocks', 'options.tau', (xs) => xs.slice(0, -1)],
    ['τ per block one longer than blocks', 'options.tau', (xs) => [...xs, 0.5]],
    ['keep one longer than blocks', 'options.keep', (xs) => [...xs, 0.5]],
  ])('%s: typed error', async (what, field, cut) => {
    const base = field === 'options.tau' ? plans.vit3 : plans.vit;
    const key = field.split('.')[1] as 'keep' | 'blocks' | 'tau';
    const value = base.options[key];
    check(Array.isArray(value), `the base plan has one ${key}`);
    await named(`truncated list: ${what}`, () =>
      planCase(field === 'options.tau' ? 'tiny-vit-3' : 'tiny-vit', { plan: withPath(base, field, cut(value as unknown[])) as JMPPlan }, 'typed'),
    );
  });
});

/** Checked fields, each with wrong values of other types. */
const CHECKED: [string, unknown[]][] = [
  ['model', [null, 'tiny-vit', 7, []]],
  ['model.fingerprint', [null, 7, true, {}]],
  ['model.depth', [null, '12', true, {}]],
  ['model.patches', [null, '196', false, []]],
  ['options', [null, 'merge', 7, []]],
  ['options.select', [null, 7, true, {}]],
  ['options.strategy', [null, 0, true, ['merge']]],
  ['options.blocks', [null, '2,4', 2, {}]],
  ['options.keep', [null, '0.7', 0.7, {}]],
  ['options.tau', [null, '0.9', true, {}]],
  ['options.proportionalAttention', [null, 'true', 1, {}]],
  ['options.headOnly', [null, 'false', 0, []]],
  ['options.metric', [null, 7, true, ['hidden']]],
  ['options.match', [null, 7, false, {}]],
];

describe('fields of the wrong type', () => {
  it.each(CHECKED.flatMap(([field, values]) => values.map((v) => [field, v] as const)))('%s = %j: typed error naming options.plan…', async (field, value) => {
    await named(`${field} = ${JSON.stringify(value)}`, () => planCase('tiny-vit', { plan: withPath(plans.vit, field, value) as JMPPlan }, 'typed'));
  });

  // informative fields: not read when the plan runs
  const INFORMATIVE = ['model.architecture', 'model.hidden', 'model.protectedTokens', 'budget', 'gmacs', 'measured', 'candidates', 'objective'];
  it.each(INFORMATIVE.flatMap((field) => [[field, null] as const, [field, undefined] as const]))(
    '%s = %j (an informative field): runs as the plan says',
    async (field, value) => {
      await named(`${field} ${value === undefined ? 'deleted' : '= null'}`, () =>
        planCase('tiny-vit', { plan: withPath(plans.vit, field, value) as JMPPlan }, 'correct'),
      );
    },
  );
});

describe('fields deleted', () => {
  const REQUIRED = [
    'format',
    'model',
    'model.fingerprint',
    'model.depth',
    'model.patches',
    'options',
    'options.select',
    'options.strategy',
    'options.blocks',
    'options.keep',
    'options.tau',
    'options.proportionalAttention',
  ];
  it.each(REQUIRED)('%s deleted: typed error', async (field) => {
    await named(`${field} deleted`, () => planCase('tiny-vit', { plan: withPath(plans.vit, field, undefined) as JMPPlan }, 'typed'));
  });
  // plans made before these were recorded: the documented defaults (head-mean keys, ToMe's split, headOnly from the options)
  it.each(['options.headOnly', 'options.metric', 'options.match'])('%s deleted (a plan from before it existed): runs with its default', async (field) => {
    await named(`${field} deleted`, () => planCase('tiny-vit', { plan: withPath(plans.vitNearest, field, undefined) as JMPPlan }, 'correct'));
  });
});

describe('values out of range', () => {
  const vit = () => plans.vit;
  const set = (changes: Record<string, unknown>) => () => Object.entries(changes).reduce<unknown>((p, [k, v]) => withPath(p, k, v), vit());
  it.each<[string, () => unknown, Expect]>([
    ['blocks [0]', set({ 'options.blocks': [0], 'options.keep': [0.7] }), 'typed'],
    ['blocks [13] on 12 blocks', set({ 'options.blocks': [13], 'options.keep': [0.7] }), 'typed'],
    ['blocks [-1]', set({ 'options.blocks': [-1], 'options.keep': [0.7] }), 'typed'],
    ['blocks [1.5]', set({ 'options.blocks': [1.5], 'options.keep': [0.7] }), 'typed'],
    ['blocks [4, 2] (not increasing)', set({ 'options.blocks': [4, 2], 'options.keep': [0.7, 0.7] }), 'typed'],
    ['blocks [2, 2] (twice)', set({ 'options.blocks': [2, 2], 'options.keep': [0.7, 0.7] }), 'typed'],
    ['blocks and keep empty', set({ 'options.blocks': [], 'options.keep': [] }), 'typed'],
    ['blocks [1e9]', set({ 'options.blocks': [1e9], 'options.keep': [0.7] }), 'typed'],
    ['keep [0, …]', set({ 'options.keep.0': 0 }), 'typed'],
    ['keep [1.01, …]', set({ 'options.keep.0': 1.01 }), 'typed'],
    ['keep [−0.5, …]', set({ 'options.keep.0': -0.5 }), 'typed'],
    ['keep [1e-9, …] (almost nothing kept)', set({ 'options.keep.0': 1e-9 }), 'either'],
    [
      'keep 1 everywhere',
      () =>
        withPath(
          vit(),
          'options.keep',
          vit().options.keep.map(() => 1),
        ),
      'correct',
    ],
    ['τ 1e308', set({ 'options.tau': 1e308 }), 'correct'],
    ['τ −1e308', set({ 'options.tau': -1e308 }), 'correct'],
    ['τ [] (per block, none)', set({ 'options.tau': [] }), 'typed'],
    ["strategy 'fast'", set({ 'options.strategy': 'fast' }), 'typed'],
    ["select 'random'", set({ 'options.select': 'random' }), 'typed'],
    ["metric 'values'", set({ 'options.metric': 'values' }), 'typed'],
    ["match 'closest'", set({ 'options.match': 'closest' }), 'typed'],
    ["match 'nearest' with select 'attention' (the pairing is select 'redundancy''s)", () => withPath(plans.vitOld, 'options.match', 'nearest'), 'correct'],
    [
      'depth −1, patches 0, hidden 0 (informative: the fingerprint is what is checked)',
      set({ 'model.depth': -1, 'model.patches': 0, 'model.hidden': 0 }),
      'correct',
    ],
    ["architecture 'clip' on the ViT (informative)", set({ 'model.architecture': 'clip' }), 'correct'],
    ['a fingerprint of another length', set({ 'model.fingerprint': 'a4' }), 'typed'],
    ['an empty fingerprint', set({ 'model.fingerprint': '' }), 'typed'],
  ])('%s', async (what, plan, expected) => {
    // Blocks and keep rates are checked where the options' are (the error names options.keep or
    // schedule.blocks rather than the plan: a plan's values run as options), so any argument here.
    await named(`out of range: ${what}`, () => planCase('tiny-vit', { plan: plan() as JMPPlan }, expected, JmpArgumentError, ''));
  });
});

describe('a plan for another model', () => {
  const p = (key: keyof typeof plans) => () => copyOf(plans[key]);
  it.each<[string, keyof typeof plans, Name, Expect, ErrorClass?]>([
    ['the ViT’s plan on the DeiT (other protected tokens)', 'vit', 'tiny-deit', 'typed'],
    ['the ViT’s plan on the 3-block ViT (other depth)', 'vit', 'tiny-vit-3', 'typed'],
    ['the ViT’s plan on its fp16 pipeline (other dtype)', 'vit', 'tiny-vit-fp16', 'typed'],
    ['the ViT’s plan on DINOv2 (other architecture, 49 patches)', 'vit', 'tiny-dinov2', 'typed'],
    ['the ViT’s plan on CLIP', 'vit', 'tiny-clip', 'typed'],
    ['the ViT’s plan on SigLIP', 'vit', 'tiny-siglip', 'typed'],
    ['the ViT’s plan on the CNN', 'vit', 'tiny-resnet', 'typed', UnsupportedModelError],
    ['the DeiT’s plan on the ViT', 'deit', 'tiny-vit', 'typed'],
    ['the 3-block ViT’s plan on the ViT', 'vit3', 'tiny-vit', 'typed'],
    ['DINOv2’s plan on the ViT', 'dinov2', 'tiny-vit', 'typed'],
    ['DINOv2’s plan on CLIP (the same patch count)', 'dinov2', 'tiny-clip', 'typed'],
    ['CLIP’s plan on SigLIP', 'clip', 'tiny-siglip', 'typed'],
    ['SigLIP’s plan on CLIP', 'siglip', 'tiny-clip', 'typed'],
    ['CLIP’s plan on DINOv2', 'clip', 'tiny-dinov2', 'typed'],
  ])('%s: typed error', async (what, key, name, expected, cls) => {
    await named(`another model: ${what}`, () => planCase(name, { plan: p(key)() }, expected, cls, cls === UnsupportedModelError ? '' : 'options.plan'));
  });

  it("the ViT's plan on the CNN with onUnsupported 'passthrough': the fallback", async () => {
    await named("another model: the ViT's plan on the CNN, passthrough", () =>
      planCase('tiny-resnet', { plan: copyOf(plans.vit), onUnsupported: 'passthrough' }, 'fallback'),
    );
  });

  it.each<[string, () => JMPPlan, Name, Expect]>([
    [
      "the 3-block ViT's options under the ViT's fingerprint (forged): runs them",
      () => ({ ...copyOf(plans.vit3), model: copyOf(plans.vit.model) }),
      'tiny-vit',
      'correct',
    ],
    [
      "the ViT's options (blocks up to 10) under the 3-block ViT's fingerprint (forged): typed error",
      () => ({ ...copyOf(plans.vit), model: copyOf(plans.vit3.model) }),
      'tiny-vit-3',
      'typed',
    ],
    [
      "the DeiT's τ per block under the ViT's fingerprint (forged): runs them",
      () => ({ ...copyOf(plans.deit), model: copyOf(plans.vit.model) }),
      'tiny-vit',
      'correct',
    ],
    [
      "DINOv2's options with headOnly true under its own fingerprint: typed error (its head averages the patches)",
      () => withPath(plans.dinov2, 'options.headOnly', true) as JMPPlan,
      'tiny-dinov2',
      'typed',
    ],
    [
      "SigLIP's options with headOnly true: typed error (its pooling head reads every token)",
      () => withPath(plans.siglip, 'options.headOnly', true) as JMPPlan,
      'tiny-siglip',
      'typed',
    ],
  ])('%s', async (what, plan, name, expected) => {
    const unsupported = what.includes('headOnly true');
    await named(`forged: ${what}`, () => planCase(name, { plan: plan() }, expected, unsupported ? UnsupportedModelError : JmpArgumentError, ''));
  });

  it.each<[string, keyof typeof plans, Name]>([
    ['DINOv2’s calibrated plan on DINOv2', 'dinov2', 'tiny-dinov2'],
    ['CLIP’s plan on CLIP', 'clip', 'tiny-clip'],
    ['SigLIP’s plan on SigLIP', 'siglip', 'tiny-siglip'],
    ['the 3-block ViT’s plan (τ per block, nearest, headOnly) on it', 'vit3', 'tiny-vit-3'],
    ['the DeiT’s calibrated plan (τ per block) on the DeiT', 'deit', 'tiny-deit'],
    ['an old ViT plan (no metric, match, headOnly: head-mean keys) on the ViT', 'vitOld', 'tiny-vit'],
  ])('%s: runs as the plan says', async (what, key, name) => {
    await named(`own model: ${what}`, () => planCase(name, { plan: copyOf(plans[key]) }, 'correct'));
  });
});

describe('a plan with other options', () => {
  const FIXED: [string, unknown][] = [
    ['method', 'jmp'],
    ['strategy', 'merge'],
    ['budget', 0.6],
    ['keep', 0.7],
    ['blocks', [2]],
    ['tau', 0.9],
    ['r', 2],
    ['select', 'redundancy'],
    ['metric', 'hidden'],
    ['match', 'bipartite'],
    ['proportionalAttention', true],
    ['headOnly', true],
  ];
  it.each(FIXED)('plan and %s (which the plan sets): typed error naming both', async (key, value) => {
    await named(`plan and ${key}`, () =>
      planCase('tiny-vit', { plan: copyOf(plans.vit), [key]: value } as JMPOptions, 'typed', JmpArgumentError, `options.plan and options.${key}`),
    );
  });

  it.each<[string, () => JMPOptions, Expect, string?]>([
    ["runner 'segments'", () => ({ plan: copyOf(plans.vit), runner: 'segments' }), 'correct'],
    ["runner 'compiled'", () => ({ plan: copyOf(plans.vitNearest), runner: 'compiled' }), 'correct'],
    ['trackSources', () => ({ plan: copyOf(plans.vit), trackSources: true }), 'correct'],
    ["onUnsupported 'passthrough' (a supported model: runs)", () => ({ plan: copyOf(plans.vit), onUnsupported: 'passthrough' }), 'correct'],
    ['modelSource: the file', () => ({ plan: copyOf(plans.vit), modelSource: path.join(modelPath('tiny-vit'), 'onnx', 'model.onnx') }), 'correct'],
    [
      'modelSource: the bytes',
      () => ({ plan: copyOf(plans.vit), modelSource: new Uint8Array(readFileSync(path.join(modelPath('tiny-vit'), 'onnx', 'model.onnx'))) }),
      'correct',
    ],
    [
      "modelSource: the fp16 file (another graph than the plan's)",
      () => ({ plan: copyOf(plans.vit), modelSource: path.join(modelPath('tiny-vit'), 'onnx', 'model_fp16.onnx') }),
      'typed',
    ],
    ['headOnly with an old plan (it predates headOnly): allowed', () => ({ plan: copyOf(plans.vitOld), headOnly: false }), 'correct'],
    ['importanceWeight with a bipartite plan (the segments runner)', () => ({ plan: copyOf(plans.vit), importanceWeight: 0.5 }), 'correct'],
    ["sizeWeight with a 'nearest' plan: typed error", () => ({ plan: copyOf(plans.vitNearest), sizeWeight: 0.5 }), 'typed', 'options.sizeWeight'],
    ['an unknown option beside the plan: typed error', () => ({ plan: copyOf(plans.vit), kep: 0.5 }) as JMPOptions, 'typed', 'options.kep'],
  ])('plan and %s', async (what, options, expected, argument) => {
    await named(`plan and ${what}`, () => planCase('tiny-vit', options(), expected, JmpArgumentError, argument ?? 'options.plan'));
  });
});

describe('plans through the other entry points', () => {
  it('inspectJMP with a broken plan: typed error', async () => {
    await named('inspectJMP, a broken plan', async () => {
      await typedError(() => inspectJMP(pipes['tiny-vit'], { plan: withPath(plans.vit, 'options.keep', '0.7') as JMPPlan }), JmpArgumentError);
      return 'typed';
    });
  });
  it("inspectJMP with another model's plan: typed error", async () => {
    await named("inspectJMP, another model's plan", async () => {
      const e = await typedError(() => inspectJMP(pipes['tiny-deit'], { plan: copyOf(plans.vit) }), JmpArgumentError);
      check((e as JmpArgumentError).argument === 'options.plan', `names ${(e as JmpArgumentError).argument}`);
      return 'typed';
    });
  });
  it('calibrateJMP with a plan in its options: typed error before any work', async () => {
    await named('calibrateJMP, options.options.plan', async () => {
      const before = pipelineState(pipes['tiny-vit']);
      const e = await typedError(() => calibrateJMP(pipes['tiny-vit'], pixels(16, 3), { options: { plan: copyOf(plans.vit) } as never }), JmpArgumentError);
      check((e as JmpArgumentError).argument === 'options.options.plan', `names ${(e as JmpArgumentError).argument}`);
      checkUntouched(pipes['tiny-vit'], before);
      return 'typed';
    });
  });
  it("createJMPPipeline with another model's plan: typed error, the pipeline it made released", async () => {
    await named("createJMPPipeline, another model's plan", async () => {
      await typedError(() => createJMPPipeline(modelPath('tiny-deit'), { plan: copyOf(plans.vit), warn: () => {} }), JmpArgumentError);
      return 'typed';
    });
  });
  it('createJMPPipeline with a broken plan: typed error before any pipeline', async () => {
    await named('createJMPPipeline, a broken plan', async () => {
      await typedError(() => createJMPPipeline(modelPath('tiny-vit'), { plan: withPath(plans.vit, 'format', 'jmp-plan/2') as JMPPlan }), JmpArgumentError);
      return 'typed';
    });
  });
});

describe('broken plans (fast-check)', () => {
  const RUN_ON: Name[] = ['tiny-vit', 'tiny-vit', 'tiny-deit', 'tiny-vit-3', 'tiny-dinov2', 'tiny-clip'];
  it(`random broken plans (${RUNS} runs, seed ${SEED}) on random pipelines: a typed error before any work, or the options the plan stands for`, async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...RUN_ON), brokenPlan(Object.values(plans)), async (name, plan) => {
        i++;
        const label = (snapshot(plan) ?? String(plan)).slice(0, 300);
        // UnsupportedModelError: headOnly true where the head reads more than the class token
        await trial('plans', `fuzz #${i} ${name}: ${label}`, () =>
          planCase(name, { plan: plan as JMPPlan }, 'either', [JmpArgumentError, UnsupportedModelError], ''),
        );
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
