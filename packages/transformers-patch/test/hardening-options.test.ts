import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelPath } from '@jmpjs/fixtures';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, checkTypedError, checkUntouched, flushTally, maxDiff, pipelineState, trial, type Outcome } from './hardening/harness.js';
import { anyOptions, type OptionContext } from './hardening/options-arbitrary.js';
import { FOUR_BLOCK_OPTIONS, OLD_VIT_OPTIONS, VIT3_OPTIONS, constructedPlan, planAsOptions, planLike } from './hardening/plans.js';
import { calibrateJMP, enableJMP, type JMPHandle, type JMPOptions, type JMPPlan } from '../src/index.js';
import { loadClassifier, logits, pixels, type Classifier } from './helpers.js';

/**
 * Hardening, options: a fast-check property over random option objects (test/hardening/options-arbitrary.ts:
 * every option of JMPOptions, plans included) on the tiny ViT, the tiny DeiT, the 3-block ViT and the
 * tiny CNN, at batch 1 to 3. Each call must give either a typed error before any work (the pipeline
 * keeps its session, its forward and its plain logits; no onnxruntime session was created), the
 * documented passthrough fallback (a non-ViT model with onUnsupported: 'passthrough'), or a correct
 * result: finite logits for every image, the other runner's logits (1e-4) and sources where both
 * runners can run the options (not with importanceWeight or sizeWeight: the segments runner only),
 * the plain logits where the plan removes no token, a plan's logits = those of the options it stands
 * for, and the plain pipeline back after dispose().
 *
 * The plans drawn: from calibrateJMP on the ViT (two settings) and the DeiT (τ per block), and built
 * per plan-file.ts's schema (the 3-block ViT; an old ViT plan without metric, match and headOnly;
 * DINOv2's, for another architecture).
 *
 * JMP_HARDENING_RUNS and JMP_HARDENING_SEED change the number of runs and the seed.
 */
countSessions();
vi.setConfig({ testTimeout: 600_000, hookTimeout: 300_000 });

const RUNS = Number(process.env.JMP_HARDENING_RUNS ?? 120);
const SEED = Number(process.env.JMP_HARDENING_SEED ?? 20261128);
const MODELS = ['tiny-vit', 'tiny-deit', 'tiny-vit-3', 'tiny-resnet'] as const;
type Model = (typeof MODELS)[number];
const pipes = {} as Record<Model, Classifier>;
const inputs = [1, 2, 3].map((b) => pixels(b, 40 + b));
const plain = {} as Record<Model, Float32Array[]>;
const plans = { 'tiny-vit': [], 'tiny-deit': [], 'tiny-vit-3': [], 'tiny-resnet': [], 'tiny-dinov2': [] } as Record<Model | 'tiny-dinov2', JMPPlan[]>;
const contexts = {} as Record<Model, OptionContext>;

beforeAll(async () => {
  for (const name of MODELS) {
    pipes[name] = await loadClassifier(name);
    plain[name] = [];
    for (const x of inputs) plain[name].push(await logits(pipes[name], x));
  }
  const images = pixels(16, 77);
  plans['tiny-vit'].push(await calibrateJMP(pipes['tiny-vit'], images, { budget: 0.6, taus: [0.6, 0.9], perBlock: false }));
  plans['tiny-vit'].push(
    await calibrateJMP(pipes['tiny-vit'], images, { taus: [0.8], options: { metric: 'keys-per-head', match: 'nearest', strategy: 'adaptive' } }),
  );
  // a plan made before metric, match and headOnly were recorded
  plans['tiny-vit'].push(await constructedPlan(pipes['tiny-vit'], OLD_VIT_OPTIONS));
  plans['tiny-deit'].push(await calibrateJMP(pipes['tiny-deit'], images, { taus: [0.85, 0.9] })); // τ per block
  plans['tiny-vit-3'].push(await constructedPlan(pipes['tiny-vit-3'], VIT3_OPTIONS));
  const dino = await loadClassifier('tiny-dinov2');
  plans['tiny-dinov2'].push(await constructedPlan(dino, FOUR_BLOCK_OPTIONS));
  await dino.dispose();
  for (const name of MODELS) {
    const file = path.join(modelPath(name), 'onnx', 'model.onnx');
    const otherPlans = Object.entries(plans).flatMap(([other, ps]) => (other === name ? [] : ps));
    // a CNN has no plan of its own: every plan is another model's there
    contexts[name] = { plans: plans[name].length > 0 ? plans[name] : otherPlans, otherPlans, file, bytes: new Uint8Array(readFileSync(file)) };
  }
});
afterAll(async () => {
  for (const name of MODELS) await pipes[name].dispose();
  flushTally('options');
});

const model = fc.oneof(
  { arbitrary: fc.constant<Model>('tiny-vit'), weight: 4 },
  { arbitrary: fc.constant<Model>('tiny-deit'), weight: 3 },
  { arbitrary: fc.constant<Model>('tiny-vit-3'), weight: 2 },
  { arbitrary: fc.constant<Model>('tiny-resnet'), weight: 2 },
);
/** A model, options drawn for it (its file and plans known only once beforeAll ran), a batch size. */
const cases = model.chain((name) => fc.tuple(fc.constant(name), anyOptions(contexts[name]), fc.integer({ min: 1, max: 3 })));

function label(options: unknown): string {
  try {
    const text =
      JSON.stringify(options, (_, v: unknown) =>
        typeof v === 'number' && !Number.isFinite(v) ? String(v) : v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === 'function' ? '<function>' : v,
      ) ?? String(options);
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  } catch {
    return String(options);
  }
}

/** Logits of the pipeline with JMP on (options), and the handle's last call, then disposed. */
async function run(name: Model, options: JMPOptions, b: number): Promise<{ out: Float32Array; jmp: JMPHandle }> {
  const jmp = await enableJMP(pipes[name], options);
  try {
    return { out: await logits(pipes[name], inputs[b - 1]!), jmp };
  } finally {
    await jmp.dispose();
  }
}

async function oneCase(name: Model, drawn: unknown, b: number): Promise<Outcome> {
  const pipe = pipes[name];
  const isObject = typeof drawn === 'object' && drawn !== null && !Array.isArray(drawn);
  // A silent warn where none was drawn (passthrough warns).
  const options = (isObject && !('warn' in drawn) ? { ...drawn, warn: () => {} } : drawn) as JMPOptions;
  const given: JMPOptions = isObject ? options : {}; // what was given (undefined and null: the defaults)
  const before = pipelineState(pipe);
  let jmp: JMPHandle;
  try {
    jmp = await enableJMP(pipe, options);
  } catch (e) {
    checkTypedError(e);
    checkUntouched(pipe, before);
    check(maxDiff(await logits(pipe, inputs[b - 1]!), plain[name][b - 1]!) === 0, 'the pipeline does not give its plain logits after the error');
    return 'typed';
  }
  let out: Float32Array;
  let sources: Int32Array | undefined;
  let runner: 'compiled' | 'segments';
  let reduces: boolean;
  try {
    if (!jmp.enabled) {
      check(name === 'tiny-resnet' && given.onUnsupported === 'passthrough', 'a handle that is off for a supported model');
      checkUntouched(pipe, before);
      check(maxDiff(await logits(pipe, inputs[b - 1]!), plain[name][b - 1]!) === 0, 'passthrough changed the logits');
      return 'fallback';
    }
    check(name !== 'tiny-resnet', 'JMP turned on for a CNN');
    out = await logits(pipe, inputs[b - 1]!);
    const call = jmp.stats().lastCall!;
    check(call.batchSize === b && call.images.length === b, `stats for ${call.batchSize} images, ${b} given`);
    check(out.length === b * 10 && out.every(Number.isFinite), 'logits not finite or of the wrong size');
    runner = jmp.info!.runner;
    reduces = call.blocks.some((block) => block.tokensOut < block.tokensIn);
    sources = call.sources?.assignment;
  } finally {
    await jmp.dispose();
  }
  check(maxDiff(await logits(pipe, inputs[b - 1]!), plain[name][b - 1]!) === 0, 'dispose() did not give the plain logits back');
  if (!reduces) check(maxDiff(out, plain[name][b - 1]!) <= 1e-5, `no token removed, yet ${maxDiff(out, plain[name][b - 1]!)} from the plain logits`);
  // a plan runs the options it stands for (its documented meaning), bit for bit
  if (planLike(given.plan)) {
    const { plan: _plan, ...rest } = given;
    const direct = await run(name, { ...rest, ...planAsOptions(given.plan), runner }, b);
    check(maxDiff(out, direct.out) === 0, `the plan and the options it stands for differ by ${maxDiff(out, direct.out)}`);
  }
  // the other runner, where it can run the options (the compiled graph has no importance or size terms)
  if (!given.importanceWeight && !given.sizeWeight) {
    const other = await run(name, { ...given, runner: runner === 'compiled' ? 'segments' : 'compiled' }, b);
    const d = maxDiff(out, other.out);
    check(d <= 1e-4, `the ${runner} and the other runner differ by ${d}`);
    const otherSources = other.jmp.stats().lastCall!.sources?.assignment;
    check(!sources || (otherSources !== undefined && maxDiff(sources, otherSources) === 0), 'the runners track other sources');
  }
  return 'correct';
}

describe('options', () => {
  it(`random option objects (fast-check, ${RUNS} runs, seed ${SEED}): a typed error before any work, the passthrough fallback, or a correct result`, async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(cases, async ([name, options, b]) => {
        i++;
        await trial('options', `#${i} ${name}, batch ${b}: ${label(options)}`, () => oneCase(name, options, b));
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
