import type { Tensor } from '@huggingface/transformers';
import { RawImage, pipeline } from '@huggingface/transformers';
import { modelPath, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, checkUntouched, flushTally, maxDiff, pipelineState, typedError } from './hardening/harness.js';
import { concat, failure } from './hardening/calls.js';
import { lifecycleSuite } from './hardening/lifecycle.js';
import { UnsupportedModelError, enableJMP, type JMPOptions } from '../src/index.js';
import { LABELS, seededCrops, zeroShotOutputs, type ZeroShot } from './helpers.js';

/**
 * Hardening, lifecycle of the architectures added after the ViT / DeiT suite: CLIP and SigLIP
 * (zero-shot-image-classification and image-feature-extraction) and DINOv2 (image-classification
 * and image-feature-extraction), on the tiny fixtures. Each: enable → run → disable → run → enable
 * again → run → dispose → run, dispose twice, enable() after dispose(), enableJMP twice (in a row
 * and at once), a new handle after dispose(), pipeline.dispose() with JMP on and off (then calls,
 * enable() and enableJMP are JmpStateErrors), disable() while calls are in flight, 8 calls in
 * flight at once, 10 off/on cycles, the segments runner (refused: a typed error, the pipeline
 * untouched) and keep = 1 (the plain outputs within 1e-5).
 *
 * Every result is compared with the same input's result from a sequential run on another
 * pipeline instance (with the default JMP, or plain), bit for bit; every case loads its own
 * pipeline and checks that the onnxruntime sessions it made are all released (no leak).
 */
countSessions();
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

type Pipe = { model: unknown; dispose(): Promise<void> } & ((...args: unknown[]) => Promise<unknown>);

interface Subject {
  name: string;
  load(): Promise<Pipe>;
  /** The pipeline's outputs for input i (0 … 7), flattened. */
  run(p: Pipe, i: number): Promise<Float32Array>;
  /**
   * A call awaits the processor before it reaches the model's forward (the whole pipeline runs): a
   * call started just before disable() may reach the forward after it, and then runs plain.
   */
  preprocesses?: boolean;
}

/** Seeded pixel values in [−1, 1], [2, 3, 28, 28]. */
const crops = Array.from({ length: 8 }, (_, i) => seededCrops(2, 28, 500 + i));
/** Seeded RGB images (the pipeline's processor resizes them). */
const images = Array.from({ length: 8 }, (_, i) =>
  [0, 1].map((k) => new RawImage(new Uint8ClampedArray(xorshift32Bytes(700 + 2 * i + k, 36 * 30 * 3)), 36, 30, 3)),
);

const zeroShot = (name: string, dir: string): Subject => ({
  name,
  load: async () => (await pipeline('zero-shot-image-classification', dir, { dtype: 'fp32' })) as unknown as Pipe,
  run: async (p, i) => {
    const out = await zeroShotOutputs(p as unknown as ZeroShot, LABELS, crops[i]!);
    return concat(
      Object.keys(out)
        .sort()
        .map((k) => out[k]!),
    );
  },
});
const features = (name: string, dir: string): Subject => ({
  name,
  preprocesses: true,
  load: async () => (await pipeline('image-feature-extraction', dir, { dtype: 'fp32' })) as unknown as Pipe,
  run: async (p, i) => Float32Array.from(((await p(images[i]!)) as Tensor).data as Float32Array),
});
const SUBJECTS: Subject[] = [
  zeroShot('CLIP zero-shot', modelPath('tiny-clip')),
  features('CLIP image-feature-extraction', modelPath('tiny-clip')),
  zeroShot('SigLIP zero-shot', modelPath('tiny-siglip')),
  features('SigLIP image-feature-extraction', modelPath('tiny-siglip')),
  {
    name: 'DINOv2 image-classification',
    load: async () => (await pipeline('image-classification', modelPath('tiny-dinov2'), { dtype: 'fp32' })) as unknown as Pipe,
    run: async (p, i) => {
      const { logits } = await (p.model as (x: unknown) => Promise<{ logits: Tensor }>)({ pixel_values: crops[i]! });
      return Float32Array.from(logits.data as Float32Array);
    },
  },
  features('DINOv2 image-feature-extraction', modelPath('tiny-dinov2-features')),
];

const OPTIONS: JMPOptions = { warn: () => {} }; // the default JMP
const refs = new Map<string, { plain: Float32Array[]; jmp: Float32Array[] }>();

beforeAll(async () => {
  // Sequential references, each input alone, plain and with JMP, on a pipeline of their own (this
  // also makes transformers.js create the sessions of its own tensor ops, which it keeps, before
  // any case counts sessions).
  for (const s of SUBJECTS) {
    const p = await s.load();
    const plain: Float32Array[] = [];
    const jmp: Float32Array[] = [];
    for (let i = 0; i < 8; i++) plain.push(await s.run(p, i));
    const handle = await enableJMP(p, OPTIONS);
    for (let i = 0; i < 8; i++) jmp.push(await s.run(p, i));
    await handle.dispose();
    for (let i = 0; i < 8; i++) check(maxDiff(plain[i]!, jmp[i]!) > 1e-6, `${s.name}: JMP gives the plain outputs, the checks below could not tell them apart`);
    await p.dispose();
    refs.set(s.name, { plain, jmp });
  }
});
afterAll(() => {
  flushTally('architectures');
});

describe.each(SUBJECTS)('$name', (s) => {
  const ref = () => refs.get(s.name)!;
  const { call, checkCall, pipelineCase, jmpCase, ...cases } = lifecycleSuite({
    name: (what) => `${s.name}: ${what}`,
    load: s.load,
    options: OPTIONS,
    run: s.run,
    ref,
  });

  jmpCase('enable → run → disable → run → enable → run → dispose → run: JMP, plain, JMP, plain', 'enable, disable, enable again, dispose', async (p, jmp) => {
    check(jmp.enabled && jmp.info !== null, 'not on');
    await checkCall(p, 0, 'jmp', 'on');
    await jmp.disable();
    check(!jmp.enabled, 'still on after disable()');
    await checkCall(p, 1, 'plain', 'off');
    await jmp.enable();
    await checkCall(p, 2, 'jmp', 'on again');
    check(jmp.stats().calls === 2, `${jmp.stats().calls} calls with JMP`);
    await jmp.dispose();
    await checkCall(p, 3, 'plain', 'after dispose');
    return 'correct';
  });

  jmpCase('dispose() twice, disable() after dispose(): no-ops; calls plain', 'dispose twice', async (p, jmp) => {
    await jmp.dispose();
    await jmp.dispose();
    await jmp.disable();
    await Promise.all([jmp.dispose(), jmp.dispose()]);
    await checkCall(p, 4, 'plain', 'after');
    return 'correct';
  });

  cases.enableAfterDispose('enable() after dispose(): JmpStateError; the pipeline plain', 5);
  cases.enableTwiceInARow('enableJMP twice in a row: JmpStateError; the first handle keeps working', { strategy: 'prune', keep: 0.5 }, 6);
  cases.enableTwiceAtOnce('enableJMP twice at once: one handle, one JmpStateError', 7);

  jmpCase('a new handle after dispose(): the same JMP results', 'a new handle after dispose()', async (p, first) => {
    await checkCall(p, 0, 'jmp', 'first handle');
    await first.dispose();
    const second = await enableJMP(p, OPTIONS);
    await checkCall(p, 0, 'jmp', 'second handle');
    await second.dispose();
    return 'correct';
  });

  cases.pipelineDisposed(
    'pipeline.dispose() with JMP on: calls, enable() and enableJMP are JmpStateErrors; all released',
    'pipeline.dispose() with JMP on',
    true,
    1,
  );
  cases.pipelineDisposed('pipeline.dispose() with JMP off: released; later calls and enable() are JmpStateErrors', 'pipeline.dispose() with JMP off', false, 2);

  cases.disableInFlight('disable() while 4 calls are in flight: they finish with JMP; calls during the switch run plain', {
    late: 2,
    preprocesses: s.preprocesses,
  });

  cases.atOnce('8 calls in flight at once: each the sequential result of its input', '8 calls in flight at once', 8);
  cases.onOff('disable() / enable() 10 times: no session left behind', 'disable() / enable() 10 times', 10, 8);

  pipelineCase("runner 'segments': UnsupportedModelError before any work; the pipeline untouched", "runner 'segments' refused", async (p) => {
    const before = pipelineState(p);
    await typedError(() => enableJMP(p, { ...OPTIONS, runner: 'segments', keep: 0.7 }), UnsupportedModelError);
    checkUntouched(p, before);
    await checkCall(p, 3, 'plain', 'after');
    // and a handle afterwards works
    const jmp = await enableJMP(p, OPTIONS);
    await checkCall(p, 3, 'jmp', 'a handle after the refusal');
    await jmp.dispose();
    return 'typed';
  });

  pipelineCase('keep = 1: the plain outputs (1e-5); then the plain pipeline, bit for bit', 'keep = 1', async (p) => {
    const jmp = await enableJMP(p, { strategy: 'prune', keep: 1 });
    const r = await call(p, 6);
    check(r.ok, `failed: ${failure(r)}`);
    const d = maxDiff(r.value, ref().plain[6]!);
    check(d <= 1e-5, `keep 1 differs from the plain outputs by ${d}`);
    await jmp.dispose();
    await checkCall(p, 6, 'plain', 'after');
    return 'correct';
  });
});
