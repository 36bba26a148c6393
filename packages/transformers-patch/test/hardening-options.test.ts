import fc from 'fast-check';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, checkUntouched, flushTally, maxDiff, pipelineState, trial, type Outcome } from './hardening/harness.js';
import { anyOptions } from './hardening/options-arbitrary.js';
import { JmpError, enableJMP, type JMPHandle, type JMPOptions } from '../src/index.js';
import { loadClassifier, logits, pixels, type Classifier } from './helpers.js';

/**
 * Hardening, options: a fast-check property over random option objects (test/hardening/options-arbitrary.ts)
 * on the tiny ViT, the tiny DeiT and the tiny CNN, at batch 1 to 3. Each call must give either a
 * typed error before any work (the pipeline keeps its session, its forward and its plain logits;
 * no onnxruntime session was created), the documented passthrough fallback (a non-ViT model with
 * onUnsupported: 'passthrough'), or a correct result: finite logits for every image, the other
 * runner's logits (1e-4) and sources where both runners can run the options, the plain logits
 * where the plan removes no token, and the plain pipeline back after dispose().
 *
 * JMP_HARDENING_RUNS and JMP_HARDENING_SEED change the number of runs and the seed.
 */
countSessions();
vi.setConfig({ testTimeout: 600_000, hookTimeout: 120_000 });

const RUNS = Number(process.env.JMP_HARDENING_RUNS ?? 120);
const SEED = Number(process.env.JMP_HARDENING_SEED ?? 20261128);
const MODELS = ['tiny-vit', 'tiny-deit', 'tiny-resnet'] as const;
type Model = (typeof MODELS)[number];
const pipes = {} as Record<Model, Classifier>;
const inputs = [1, 2, 3].map((b) => pixels(b, 40 + b));
const plain = {} as Record<Model, Float32Array[]>;

beforeAll(async () => {
  for (const name of MODELS) {
    pipes[name] = await loadClassifier(name);
    plain[name] = [];
    for (const x of inputs) plain[name].push(await logits(pipes[name], x));
  }
});
afterAll(async () => {
  for (const name of MODELS) await pipes[name].dispose();
  flushTally('options');
});

const model = fc.oneof({ arbitrary: fc.constant<Model>('tiny-vit'), weight: 4 }, { arbitrary: fc.constant<Model>('tiny-deit'), weight: 3 }, { arbitrary: fc.constant<Model>('tiny-resnet'), weight: 2 });

function label(options: unknown): string {
  try {
    return JSON.stringify(options, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) ?? String(options);
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
  const before = pipelineState(pipe);
  let jmp: JMPHandle;
  try {
    jmp = await enableJMP(pipe, options);
  } catch (e) {
    if (!JmpError.isInstance(e)) throw e;
    check(/(expected|looked for) .+, found .+/.test(e.message), `the message does not say what was expected and found: ${e.message}`);
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
      check(name === 'tiny-resnet' && options.onUnsupported === 'passthrough', 'a handle that is off for a supported model');
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
  if ((options.metric ?? 'keys') === 'keys') {
    const other = await run(name, { ...options, runner: runner === 'compiled' ? 'segments' : 'compiled' }, b);
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
      fc.asyncProperty(model, anyOptions, fc.integer({ min: 1, max: 3 }), async (name, options, b) => {
        i++;
        await trial('options', `#${i} ${name}, batch ${b}: ${label(options)}`, () => oneCase(name, options, b));
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
