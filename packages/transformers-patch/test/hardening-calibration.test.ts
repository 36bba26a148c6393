import { RawImage, Tensor, pipeline } from '@huggingface/transformers';
import { modelPath, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions, createdSessions } from './hardening/sessions.js';
import { check, checkTypedError, checkUntouched, flushTally, maxDiff, pipelineState, trial, typedError, type Outcome } from './hardening/harness.js';
import { JmpArgumentError, JmpStateError, UnsupportedModelError, calibrateJMP, enableJMP, type CalibrateJMPOptions, type JMPPlan } from '../src/index.js';
import { loadClassifier, logits, pixels, withClassifier, type Classifier } from './helpers.js';

/**
 * Hardening, calibration: calibrateJMP with bad images (NaN / ±Infinity pixels, tensors of the
 * wrong rank, type, channels or size, too few or no images, things that are not images), bad
 * arguments, an AbortSignal aborted before and at every stage of the search (and a callback that
 * throws), two calibrations at once, and pipelines it cannot calibrate (a CNN, zero-shot and
 * feature-extraction pipelines, not a pipeline). Each must give a typed error before any work, a
 * clean abort (the promise rejects with the caller's own reason — counted as a typed error — and
 * nothing is left: the pipeline plain, every session released, the pipeline calibrates again to
 * the same plan), or a correct plan (one that `enableJMP(pipe, { plan })` runs, measured on every
 * image). Every case checks that no onnxruntime session is left alive.
 */
countSessions();
vi.setConfig({ testTimeout: 180_000, hookTimeout: 300_000 });

const TAUS = [0.6, 0.9];
const images16 = pixels(16, 77);
let vit: Classifier;
let plainLogits: Float32Array;
/** An uninterrupted calibration of the case setting (to compare a calibration after an abort with). */
let reference: JMPPlan;

beforeAll(async () => {
  vit = await loadClassifier('tiny-vit');
  plainLogits = await logits(vit, images16);
  reference = await calibrateJMP(vit, images16, { taus: TAUS, perBlock: false, batchSize: 4 });
});
afterAll(async () => {
  await vit.dispose();
  flushTally('calibration');
});

function tensor(dims: number[], fill: (i: number) => number = (i) => Math.sin(i), type: 'float32' | 'float64' | 'int32' = 'float32'): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = type === 'float64' ? new Float64Array(n) : type === 'int32' ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = fill(i);
  return new Tensor(type, data, dims);
}
function withValue(value: number, at: number): Tensor {
  const t = pixels(16, 5);
  (t.data as Float32Array)[at] = value;
  return t;
}
const image = (w: number, h: number, c: 1 | 3 | 4, seed: number) => new RawImage(new Uint8ClampedArray(xorshift32Bytes(seed, w * h * c)), w, h, c);
const rawImages = (n: number) => Array.from({ length: n }, (_, i) => image(32 + i, 24 + 2 * i, 3, 300 + i));

/** The ViT gives its plain logits. */
async function checkPlain(): Promise<void> {
  check(maxDiff(await logits(vit, images16), plainLogits) === 0, 'the pipeline is not plain afterwards');
}

/** A plan that enableJMP runs, measured on `count` images, with finite measurements. */
async function checkPlan(pipe: Classifier, plan: JMPPlan, count: number): Promise<void> {
  check(plan.format === 'jmp-plan/1' && plan.measured.images === count, `a plan measured on ${plan.measured.images} images, ${count} given`);
  check(Number.isFinite(plan.measured.kl) && plan.measured.agreement >= 0 && plan.measured.agreement <= 1, 'measurements not finite');
  check(JSON.stringify(JSON.parse(JSON.stringify(plan))) === JSON.stringify(plan), 'not plain JSON');
  const jmp = await enableJMP(pipe, { plan });
  try {
    check((await logits(pipe, images16)).every(Number.isFinite), 'the plan gives non-finite logits');
  } finally {
    await jmp.dispose();
  }
}

/** A call that must be a typed error before any work: no session created, the pipeline untouched and plain. */
async function rejectsBeforeWork(
  call: () => Promise<unknown>,
  cls: typeof JmpArgumentError | typeof UnsupportedModelError | typeof JmpStateError,
  argument?: string,
): Promise<Outcome> {
  const before = pipelineState(vit);
  const e = await typedError(call, cls);
  if (argument !== undefined) check((e as JmpArgumentError).argument === argument, `the error names ${(e as JmpArgumentError).argument}, not ${argument}`);
  checkUntouched(vit, before);
  await checkPlain();
  return 'typed';
}

/** What a case gives: an outcome, with a detail to report if it likes. */
type Result = Outcome | { outcome: Outcome; detail: string };
const named = (what: string, run: () => Promise<Result>) => trial('calibration', what, run);
const abortedCleanly: Result = { outcome: 'typed', detail: "a clean abort (the caller's own reason)" };

describe('bad images', () => {
  it.each<[string, () => unknown, string]>([
    ['every pixel NaN', () => tensor([16, 3, 224, 224], () => NaN), 'pixel_values'],
    ['one NaN pixel in image 8', () => withValue(NaN, 7 * 3 * 224 * 224 + 1234), 'pixel_values'],
    ['one +Infinity pixel', () => withValue(Infinity, 0), 'pixel_values'],
    ['one −Infinity pixel in the last image', () => withValue(-Infinity, 16 * 3 * 224 * 224 - 1), 'pixel_values'],
    ['a tensor of 0 images [0, 3, 224, 224]', () => tensor([0, 3, 224, 224]), 'images'],
    ['a rank-3 tensor [3, 224, 224]', () => tensor([3, 224, 224]), 'images'],
    ['a rank-5 tensor [16, 1, 3, 224, 224]', () => tensor([16, 1, 3, 224, 224]), 'images'],
    ['a float64 tensor', () => tensor([16, 3, 224, 224], Math.sin, 'float64'), 'images'],
    ['an int32 tensor', () => tensor([16, 3, 224, 224], (i) => i % 7, 'int32'), 'images'],
    ['an object with dims and data (not a Tensor)', () => ({ dims: [16, 3, 224, 224], data: new Float32Array(16 * 3 * 224 * 224) }), 'images'],
    ['15 images (fewer than 16)', () => pixels(15, 3), 'images'],
    ['1 image', () => pixels(1, 3), 'images'],
    ['an empty array', () => [], 'images'],
    ['undefined', () => undefined, 'images'],
    ['null', () => null, 'images'],
    ['a path string (not an array)', () => '/tmp/image.png', 'images'],
    ['one RawImage (not an array)', () => image(32, 32, 3, 1), 'images'],
    ['15 RawImages', () => rawImages(15), 'images'],
    ['a Set of 16 RawImages', () => new Set(rawImages(16)), 'images'],
  ])('%s: JmpArgumentError; the pipeline plain, nothing left', async (what, images, argument) => {
    await named(`bad images: ${what}`, async () => {
      const e = await typedError(() => calibrateJMP(vit, images() as never, { taus: TAUS, perBlock: false }), JmpArgumentError);
      check((e as JmpArgumentError).argument === argument, `names ${(e as JmpArgumentError).argument}, not ${argument}`);
      await checkPlain();
      return 'typed';
    });
  });

  // calibrateJMP runs its first candidate before the plain pass: JMP's forward checks the pixels
  // against the model (channels, patch grid) and names pixel_values, where the plain model would fail
  // inside onnxruntime with an untyped Error ("Non-zero status code returned while running Add node …").
  it.each<[string, () => Tensor]>([
    ['[16, 3, 240, 240] (another patch grid)', () => tensor([16, 3, 240, 240])],
    ['[16, 3, 100, 100]', () => tensor([16, 3, 100, 100])],
    ['[16, 1, 224, 224] (1 channel)', () => tensor([16, 1, 224, 224])],
    ['[16, 4, 224, 224] (4 channels)', () => tensor([16, 4, 224, 224])],
  ])('a tensor of the wrong size %s: a JmpArgumentError naming pixel_values; the pipeline plain', async (what, images) => {
    await named(`bad images: tensor ${what}`, async () => {
      const e = await typedError(() => calibrateJMP(vit, images(), { taus: TAUS, perBlock: false }), JmpArgumentError);
      check((e as JmpArgumentError).argument === 'pixel_values', `names ${(e as JmpArgumentError).argument}, not pixel_values`);
      await checkPlain();
      return 'typed';
    });
  });

  // Array items that are not images, or that transformers.js cannot read: a JmpArgumentError naming
  // the first such item, before any forward.
  it.each<[string, () => unknown[], string]>([
    ['16 numbers', () => Array.from({ length: 16 }, (_, i) => i), 'images[0]'],
    ['16 nulls', () => Array.from({ length: 16 }, () => null), 'images[0]'],
    ['16 paths that do not exist', () => Array.from({ length: 16 }, (_, i) => `/no/such/image-${i}.png`), 'images[0]'],
    ['15 RawImages and one number', () => [...rawImages(15), 7], 'images[15]'],
  ])('an array of %s: a JmpArgumentError naming the image', async (what, images, argument) => {
    await named(`bad images: ${what}`, () =>
      rejectsBeforeWork(() => calibrateJMP(vit, images() as never, { taus: TAUS, perBlock: false }), JmpArgumentError, argument),
    );
  });

  it.each<[string, () => unknown, CalibrateJMPOptions, number]>([
    [
      '16 RawImages of mixed sizes and channels (gray, RGBA, 1×1, 300×200)',
      () => [...rawImages(12), image(1, 1, 3, 1), image(40, 30, 1, 2), image(50, 40, 4, 3), image(300, 200, 3, 4)],
      {},
      16,
    ],
    ['16 RawImages, batchSize 5 (a last batch of 1)', () => rawImages(16), { batchSize: 5 }, 16],
    ['17 images in a tensor, batchSize 16 (a last batch of 1)', () => pixels(17, 9), { batchSize: 16 }, 17],
    ['16 images, batchSize 1000', () => images16, { batchSize: 1000 }, 16],
    ['16 identical images', () => tensor([16, 3, 224, 224], (i) => Math.sin(i % (3 * 224 * 224))), {}, 16],
    ['16 all-zero images (every token alike)', () => tensor([16, 3, 224, 224], () => 0), {}, 16],
    ['16 images of extreme finite values (±1e30)', () => tensor([16, 3, 224, 224], (i) => (i % 2 ? 1e30 : -1e30)), {}, 16],
  ])('%s: a plan that runs', async (what, images, options, count) => {
    await named(`images: ${what}`, async () => {
      const plan = await calibrateJMP(vit, images() as never, { taus: TAUS, perBlock: false, ...options });
      await checkPlain();
      await checkPlan(vit, plan, count);
      return 'correct';
    });
  });
});

describe('bad arguments: typed errors before any work', () => {
  it.each<[string, () => CalibrateJMPOptions, string]>([
    ['labels: one per image short', () => ({ labels: Array.from({ length: 15 }, () => 1) }), 'options.labels'],
    ['labels: a negative class', () => ({ labels: Array.from({ length: 16 }, (_, i) => (i ? 1 : -1)) }), 'options.labels'],
    ['labels: a fractional class', () => ({ labels: Array.from({ length: 16 }, () => 0.5) }), 'options.labels'],
    ['labels: NaN', () => ({ labels: Array.from({ length: 16 }, () => NaN) }), 'options.labels'],
    ['labels: a string', () => ({ labels: 'cats' as never }), 'options.labels'],
    ['taus: empty', () => ({ taus: [] }), 'options.taus'],
    ['taus: NaN', () => ({ taus: [NaN] }), 'options.taus'],
    ['taus: Infinity', () => ({ taus: [0.5, Infinity] }), 'options.taus'],
    ['taus: a string', () => ({ taus: '0.9' as never }), 'options.taus'],
    ['batchSize 0', () => ({ batchSize: 0 }), 'options.batchSize'],
    ['batchSize −1', () => ({ batchSize: -1 }), 'options.batchSize'],
    ['batchSize 1.5', () => ({ batchSize: 1.5 }), 'options.batchSize'],
    ['batchSize NaN', () => ({ batchSize: NaN }), 'options.batchSize'],
    ["objective 'best'", () => ({ objective: 'best' as never }), 'options.objective'],
    ["objective 'top1' without labels", () => ({ objective: 'top1' }), 'options.objective'],
    ["perBlock 'yes'", () => ({ perBlock: 'yes' as never }), 'options.perBlock'],
    ['options null', () => null as never, 'options'],
    ['options.options.tau', () => ({ options: { tau: 0.5 } as never }), 'options.options.tau'],
    ['options.options.keep', () => ({ options: { keep: 0.5 } as never }), 'options.options.keep'],
    ["options.options.method 'tome'", () => ({ options: { method: 'tome' } as never }), 'options.options.method'],
    ["options.options.runner 'fast'", () => ({ options: { runner: 'fast' as never } }), 'options.runner'],
    ['options.options: an unknown option', () => ({ options: { kep: 1 } as never }), 'options.kep'],
    ['budget 0', () => ({ budget: 0 }), 'options.budget'],
    ['budget 1.5', () => ({ budget: 1.5 }), 'options.budget'],
    ['budget NaN', () => ({ budget: NaN }), 'options.budget'],
  ])('%s', async (what, options, argument) => {
    await named(`arguments: ${what}`, () => rejectsBeforeWork(() => calibrateJMP(vit, images16, options()), JmpArgumentError, argument));
  });
});

describe('aborts', () => {
  /** Calibrates with `signal`, aborting through `abortAt` (progress → whether to abort now); a clean abort or, where `late`, a plan. */
  async function aborted(
    options: CalibrateJMPOptions,
    abort: (controller: AbortController, done: number, total: number) => void,
    reason: unknown,
    late = false,
  ): Promise<Result> {
    const controller = new AbortController();
    let result: JMPPlan | undefined;
    let error: unknown;
    try {
      result = await calibrateJMP(vit, images16, {
        taus: TAUS,
        perBlock: false,
        batchSize: 4,
        ...options,
        signal: controller.signal,
        onProgress: ({ done, total }) => abort(controller, done, total),
      });
    } catch (e) {
      error = e;
    }
    await checkPlain();
    if (result) {
      check(late, 'the calibration finished although it was aborted before its last forward');
      await checkPlan(vit, result, 16);
      return { outcome: 'correct' as const, detail: 'aborted after the last forward: the plan' };
    }
    const expected = reason === undefined ? controller.signal.reason : reason;
    check(error === expected, `rejected with ${String(error)}, not the signal's reason`);
    // nothing left behind: the same calibration runs again to the uninterrupted plan
    const again = await calibrateJMP(vit, images16, { taus: TAUS, perBlock: false, batchSize: 4, ...options });
    if (!options.perBlock && !options.taus) check(JSON.stringify(again) === JSON.stringify(reference), 'a calibration after the abort gives another plan');
    return abortedCleanly;
  }

  it.each<[string, unknown]>([
    ['no reason (an AbortError)', undefined],
    ['an Error as reason', new Error('stop')],
    ['a string as reason', 'stop'],
  ])('aborted before the call, %s: rejects with the reason before any work', async (what, reason) => {
    await named(`abort before the call, ${what}`, async () => {
      const controller = new AbortController();
      controller.abort(reason);
      const created = createdSessions();
      const e = await calibrateJMP(vit, images16, { taus: TAUS, perBlock: false, signal: controller.signal }).then(
        () => null,
        (x: unknown) => x,
      );
      check(e !== null && e === controller.signal.reason, `rejected with ${String(e)}, not the signal's reason`);
      check(createdSessions() === created, 'sessions were created');
      await checkPlain();
      return abortedCleanly;
    });
  });

  // 4 batches per pass (batchSize 4): forwards 1–4 plain, 5–8 τ 0.6, 9–12 τ 0.9
  it.each<[string, number, CalibrateJMPOptions]>([
    ['during the plain pass (after forward 1)', 1, {}],
    ['after the plain pass', 4, {}],
    ['at the first forward of the first candidate (JMP on)', 5, {}],
    ['in the middle of a candidate', 6, {}],
    ['between two candidates', 8, {}],
    ['in the middle of the last candidate', 10, {}],
    ['during the per-block search', 14, { taus: [0.85, 0.9], perBlock: true }],
  ])('aborted %s: rejects with the reason; JMP off, every session released', async (what, at, options) => {
    await named(`abort ${what}`, () => aborted(options, (c, done) => done === at && c.abort(new Error(`stop at ${at}`)), undefined));
  });

  it('aborted at the last forward: the plan (nothing left to stop)', async () => {
    await named('abort at the last forward', () => aborted({}, (c, done, total) => done === total && c.abort(), undefined, true));
  });

  it('aborted from a timer while it runs: a clean abort, or the plan if it finished first', async () => {
    await named('abort from a timer', () => aborted({}, (c, done) => done === 2 && setTimeout(() => c.abort(), 1), undefined, true));
  });

  it('AbortSignal.timeout(1): a clean abort (a TimeoutError), or the plan', async () => {
    await named('AbortSignal.timeout', async () => {
      const signal = AbortSignal.timeout(1);
      const out = await calibrateJMP(vit, images16, { taus: TAUS, perBlock: false, batchSize: 4, signal }).then(
        (plan) => ({ plan }),
        (error: unknown) => ({ error }),
      );
      await checkPlain();
      if ('plan' in out) {
        await checkPlan(vit, out.plan, 16);
        return 'correct';
      }
      check(out.error === signal.reason, `rejected with ${String(out.error)}, not the signal's reason`);
      return abortedCleanly;
    });
  });

  it('onProgress throws: its error; JMP off, every session released', async () => {
    await named('onProgress throws', async () => {
      const boom = new Error('progress bar gone');
      const e = await calibrateJMP(vit, images16, {
        taus: TAUS,
        perBlock: false,
        batchSize: 4,
        onProgress: ({ done }) => {
          if (done === 6) throw boom;
        },
      }).then(
        () => null,
        (x: unknown) => x,
      );
      check(e === boom, `rejected with ${String(e)}, not the callback's error`);
      await checkPlain();
      return abortedCleanly;
    });
  });
});

describe('concurrency and state', () => {
  it('two calibrations of one pipeline at once: each a plan or a JmpStateError; the pipeline plain after', async () => {
    await named('two calibrations at once', async () => {
      const both = await Promise.allSettled([
        calibrateJMP(vit, images16, { taus: TAUS, perBlock: false }),
        calibrateJMP(vit, images16, { taus: [0.7], perBlock: false }),
      ]);
      for (const r of both) {
        if (r.status === 'rejected') {
          checkTypedError(r.reason);
          check(JmpStateError.isInstance(r.reason), `${(r.reason as Error).name}: ${(r.reason as Error).message}`);
        }
      }
      await checkPlain();
      for (const r of both) if (r.status === 'fulfilled') await checkPlan(vit, r.value, 16);
      return both.some((r) => r.status === 'rejected') ? 'typed' : 'correct';
    });
  });

  it('a pipeline with JMP on: JmpStateError; the handle keeps working', async () => {
    await named('calibrating a pipeline with JMP on', async () => {
      const jmp = await enableJMP(vit, { strategy: 'merge', keep: 0.7 });
      try {
        const on = await logits(vit, images16);
        await typedError(() => calibrateJMP(vit, images16, { taus: TAUS, perBlock: false }), JmpStateError);
        check(jmp.enabled && maxDiff(await logits(vit, images16), on) === 0, 'the handle changed');
      } finally {
        await jmp.dispose();
      }
      await checkPlain();
      return 'typed';
    });
  });

  it('a pipeline disposed while JMP was set up on it: JmpStateError', async () => {
    await named('calibrating a disposed pipeline (JMP was on)', async () => {
      const p = await loadClassifier('tiny-vit');
      const jmp = await enableJMP(p, { strategy: 'merge', keep: 0.7 });
      await p.dispose();
      await typedError(() => calibrateJMP(p, images16, { taus: TAUS, perBlock: false }), JmpStateError);
      await jmp.dispose();
      return 'typed';
    });
  });
});

describe('pipelines calibrateJMP cannot or can calibrate', () => {
  const crops = (n: number) => tensor([n, 3, 28, 28], (i) => Math.sin(i * 0.37));

  /** calibrateJMP on the CNN (`options` added): an UnsupportedModelError, and the CNN's pipeline plain after it. Returns the error. */
  const onTheCnn = (options: CalibrateJMPOptions) =>
    withClassifier('tiny-resnet', async (cnn) => {
      const plain = await logits(cnn, images16);
      const e = await typedError(() => calibrateJMP(cnn, images16, { taus: TAUS, perBlock: false, ...options }), UnsupportedModelError);
      check(maxDiff(await logits(cnn, images16), plain) === 0, 'the CNN is not plain');
      return e;
    });

  it('a CNN: UnsupportedModelError; its pipeline plain', async () => {
    await named('a CNN', async () => {
      await onTheCnn({});
      return 'typed';
    });
  });

  // A plan needs JMP on: onUnsupported 'passthrough' does not apply to calibrateJMP.
  it("a CNN with options.onUnsupported 'passthrough': UnsupportedModelError; its pipeline plain", async () => {
    await named("a CNN, onUnsupported 'passthrough'", async () => {
      const e = await onTheCnn({ options: { onUnsupported: 'passthrough', warn: () => {} } });
      check(/onUnsupported does not apply/.test(e.message), `the error does not say the option does not apply: ${e.message}`);
      return 'typed';
    });
  });

  // calibrateJMP compares class probabilities: anything but an image-classification pipeline is a
  // JmpArgumentError naming the pipeline, before any work.
  it.each<[string, () => Promise<{ dispose?: () => Promise<void> }>]>([
    ['CLIP zero-shot', async () => (await pipeline('zero-shot-image-classification', modelPath('tiny-clip'), { dtype: 'fp32' })) as never],
    ['SigLIP zero-shot', async () => (await pipeline('zero-shot-image-classification', modelPath('tiny-siglip'), { dtype: 'fp32' })) as never],
    [
      'DINOv2 image-feature-extraction',
      async () => (await pipeline('image-feature-extraction', modelPath('tiny-dinov2-features'), { dtype: 'fp32' })) as never,
    ],
    ['an empty object (not a pipeline)', async () => ({})],
    ['null (not a pipeline)', async () => null as never],
  ])('%s: a JmpArgumentError naming the pipeline', async (what, make) => {
    await named(`pipeline: ${what}`, async () => {
      const pipe = await make();
      try {
        const e = await typedError(() => calibrateJMP(pipe as never, crops(16), { taus: TAUS, perBlock: false }), JmpArgumentError);
        check((e as JmpArgumentError).argument === 'pipeline', `names ${(e as JmpArgumentError).argument}, not pipeline`);
      } finally {
        await pipe?.dispose?.();
      }
      return 'typed';
    });
  });

  it('DINOv2 image classification (another architecture, 28×28 crops): a plan that runs', async () => {
    await named('pipeline: DINOv2 image classification', async () => {
      await withClassifier('tiny-dinov2', async (dino) => {
        const plan = await calibrateJMP(dino, crops(16), { taus: TAUS });
        check(plan.model.architecture === 'dinov2' && plan.model.patches === 49, `a plan for ${plan.model.architecture}, ${plan.model.patches} patches`);
        const jmp = await enableJMP(dino, { plan });
        try {
          check((await logits(dino, crops(2))).every(Number.isFinite), 'non-finite logits');
        } finally {
          await jmp.dispose();
        }
      });
      return 'correct';
    });
  });

  it('the 3-block ViT at the default budget: a plan, or a typed error naming the budget it cannot reach', async () => {
    await named('pipeline: the 3-block ViT at the default budget', () =>
      withClassifier('tiny-vit-3', async (vit3) => {
        const out = await calibrateJMP(vit3, images16, { taus: TAUS }).then(
          (plan) => ({ plan }),
          (error: unknown) => ({ error }),
        );
        if ('error' in out) {
          checkTypedError(out.error);
          check(JmpArgumentError.isInstance(out.error) && out.error.argument === 'options.budget', `${(out.error as Error).message}`);
          return 'typed';
        }
        await checkPlan(vit3, out.plan, 16);
        return 'correct';
      }),
    );
  });
});
