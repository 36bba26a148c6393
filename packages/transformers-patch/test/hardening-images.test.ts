import { RawImage, Tensor } from '@huggingface/transformers';
import { xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, checkScores, flushTally, maxDiff, normalizeOutput, trial, typedError, type Scores } from './hardening/harness.js';
import { JmpArgumentError, enableJMP, type JMPOptions } from '../src/index.js';
import { loadClassifier, logits, pixels, type Classifier } from './helpers.js';

/**
 * Hardening, images: grayscale, RGBA, 1×1 and 8000×6000 images, batches of 0, 1 and 256 images
 * and of mixed sizes through the pipeline, and tensors with NaN / ±Infinity, wrong ranks, channels,
 * sizes and types through the model. Both runners, tiny ViT and DeiT.
 *
 * Oracles: with keep = 1 the patched pipeline gives the plain pipeline's scores (1e-5); with
 * reduction (merge, keep 0.7) the compiled runner and the segment runner — two implementations,
 * each checked against the PyTorch reference in test/methods/*.test.ts — give the same scores (1e-4),
 * and every image of a batch gets the scores it gets alone (1e-4).
 */
countSessions();
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const RUNNERS = ['compiled', 'segments'] as const;
type Runner = (typeof RUNNERS)[number];
const MODELS = ['tiny-vit', 'tiny-deit'] as const;
const REDUCE: JMPOptions = { strategy: 'merge', keep: 0.7 };
const NEUTRAL: JMPOptions = { strategy: 'prune', keep: 1 };

function image(width: number, height: number, channels: 1 | 3 | 4, seed: number): RawImage {
  return new RawImage(new Uint8ClampedArray(xorshift32Bytes(seed, width * height * channels)), width, height, channels);
}

const sets: Record<string, () => RawImage | RawImage[]> = {
  'grayscale 64×48': () => image(64, 48, 1, 11),
  'RGBA 50×40': () => image(50, 40, 4, 12),
  '1×1': () => image(1, 1, 3, 13),
  '8000×6000': () => image(8000, 6000, 3, 14),
  'batch of 1': () => [image(224, 224, 3, 15)],
  'batch of 256 (32×32)': () => Array.from({ length: 256 }, (_, i) => image(32, 32, 3, 1000 + i)),
  'mixed sizes in one batch': () => [image(20, 30, 1, 21), image(300, 200, 4, 22), image(224, 224, 3, 23), image(1, 1, 3, 24), image(640, 480, 3, 25)],
};
const inputs = new Map<string, RawImage | RawImage[]>();
const input = (set: string) => {
  if (!inputs.has(set)) inputs.set(set, sets[set]!());
  return inputs.get(set)!;
};

const pipes = {} as Record<(typeof MODELS)[number], Classifier>;
beforeAll(async () => {
  for (const name of MODELS) {
    pipes[name] = await loadClassifier(name);
    // The plain results, first: they also make transformers.js create the small onnxruntime
    // sessions of its own tensor ops (top-k…), which it keeps, before sessions are counted.
    for (const set of Object.keys(sets)) await scores(name, set, null);
  }
});
afterAll(async () => {
  for (const name of MODELS) await pipes[name].dispose();
  flushTally('images');
});

/** Scores of a pipeline for an input, with JMP off (options null) or on; memoised. */
const memo = new Map<string, Scores>();
async function scores(model: (typeof MODELS)[number], set: string, options: JMPOptions | null, single = false): Promise<Scores> {
  const key = `${model}|${set}|${JSON.stringify(options)}|${single}`;
  const known = memo.get(key);
  if (known) return known;
  const pipe = pipes[model];
  const jmp = options ? await enableJMP(pipe, options) : null;
  try {
    const x = input(set);
    const out =
      single && Array.isArray(x)
        ? (await Promise.all(x.map((img) => pipe(img, { top_k: 10 })))).flatMap((o) => normalizeOutput(o))
        : normalizeOutput(await pipe(x, { top_k: 10 }));
    memo.set(key, out);
    return out;
  } finally {
    await jmp?.dispose();
  }
}

describe.each(MODELS)('%s', (model) => {
  describe.each(RUNNERS)('images through the pipeline (%s runner)', (runner: Runner) => {
    const other: Runner = runner === 'compiled' ? 'segments' : 'compiled';
    it.each(Object.keys(sets))('%s: correct (keep 1 = plain; reduction = the other runner; batch = one by one)', async (set) => {
      await trial(
        'images',
        `${set} (${model}, ${runner})`,
        async () => {
          const n = Array.isArray(input(set)) ? (input(set) as RawImage[]).length : 1;
          const plain = await scores(model, set, null);
          check(plain.length === n, `the plain pipeline gave ${plain.length} results for ${n} images`);
          checkScores(await scores(model, set, { ...NEUTRAL, runner }), plain, 1e-5, 'keep 1 vs plain');
          const reduced = await scores(model, set, { ...REDUCE, runner });
          checkScores(reduced, await scores(model, set, { ...REDUCE, runner: other }), 1e-4, `${runner} vs ${other}`);
          if (n > 1) checkScores(reduced, await scores(model, set, { ...REDUCE, runner }, true), 1e-4, 'batch vs one by one');
          return 'correct';
        },
        { timeoutMs: 120_000 },
      );
    });

    it('a batch of 0 images: what the plain pipeline does (its processor fails before the model)', async () => {
      await trial('images', `batch of 0 (${model}, ${runner})`, async () => {
        const pipe = pipes[model];
        const plainError = await pipe([]).then(
          () => null,
          (e: unknown) => e as Error,
        );
        const jmp = await enableJMP(pipe, { ...REDUCE, runner });
        try {
          const error = await pipe([]).then(
            () => null,
            (e: unknown) => e as Error,
          );
          check(String(error) === String(plainError), `with JMP: ${String(error)}, plain: ${String(plainError)}`);
          check(jmp.stats().calls === 0, 'the model ran');
        } finally {
          await jmp.dispose();
        }
        return 'fallback';
      });
    });
  });

  describe.each(RUNNERS)('tensors through the model (%s runner)', (runner: Runner) => {
    const withNonFinite = (value: number, at: number, batch = 1) => {
      const t = pixels(batch, 5);
      (t.data as Float32Array)[at] = value;
      return t;
    };
    const badTensors: [string, () => unknown][] = [
      ['NaN at one pixel', () => withNonFinite(Number.NaN, 1234)],
      ['+Infinity at one pixel', () => withNonFinite(Number.POSITIVE_INFINITY, 0)],
      ['−Infinity at one pixel', () => withNonFinite(Number.NEGATIVE_INFINITY, 3 * 224 * 224 - 1)],
      ['NaN in image 2 of a batch of 3', () => withNonFinite(Number.NaN, 2 * 3 * 224 * 224 + 77, 3)],
      ['a batch of 0 images [0, 3, 224, 224]', () => new Tensor('float32', new Float32Array(0), [0, 3, 224, 224])],
      ['1 channel [1, 1, 224, 224]', () => new Tensor('float32', new Float32Array(224 * 224), [1, 1, 224, 224])],
      ['4 channels [1, 4, 224, 224]', () => new Tensor('float32', new Float32Array(4 * 224 * 224), [1, 4, 224, 224])],
      ['100×100 [1, 3, 100, 100]', () => new Tensor('float32', new Float32Array(3 * 100 * 100), [1, 3, 100, 100])],
      ['240×240 (a 15×15 patch grid)', () => new Tensor('float32', new Float32Array(3 * 240 * 240), [1, 3, 240, 240])],
      ['rank 3 [3, 224, 224]', () => new Tensor('float32', new Float32Array(3 * 224 * 224), [3, 224, 224])],
      ['float64 data', () => new Tensor('float64', new Float64Array(3 * 224 * 224), [1, 3, 224, 224])],
      ['int32 data', () => new Tensor('int32', new Int32Array(3 * 224 * 224), [1, 3, 224, 224])],
      ['not a tensor', () => ({ data: [1, 2, 3], dims: [1, 3] })],
    ];
    let jmp: Awaited<ReturnType<typeof enableJMP>>;
    let good: Float32Array;
    beforeAll(async () => {
      jmp = await enableJMP(pipes[model], { ...REDUCE, runner });
      good = await logits(pipes[model], pixels(2, 9));
    });
    afterAll(async () => {
      await jmp.dispose();
    });

    it.each(badTensors)('%s: JmpArgumentError before onnxruntime; the next call is right', async (name, tensor) => {
      await trial(
        'images',
        `tensor: ${name} (${model}, ${runner})`,
        async () => {
          const calls = jmp.stats().calls;
          const error = await typedError(() => pipes[model].model({ pixel_values: tensor() as Tensor }), JmpArgumentError);
          check((error as JmpArgumentError).argument === 'pixel_values', `names ${(error as JmpArgumentError).argument}`);
          check(jmp.stats().calls === calls, 'the model ran');
          check(maxDiff(await logits(pipes[model], pixels(2, 9)), good) === 0, 'the next call differs');
          return 'typed';
        },
        { leakCheck: false },
      );
    });

    it('230×230 (the same 14×14 patch grid): the other runner’s logits', async () => {
      await trial('images', `tensor: 230×230 (${model}, ${runner})`, async () => {
        const x = new Tensor(
          'float32',
          new Float32Array(3 * 230 * 230).map((_, i) => Math.sin(i)),
          [1, 3, 230, 230],
        );
        const a = await logits(pipes[model], x);
        await jmp.dispose();
        const other = await enableJMP(pipes[model], { ...REDUCE, runner: runner === 'compiled' ? 'segments' : 'compiled' });
        const b = await logits(pipes[model], x);
        await other.dispose();
        jmp = await enableJMP(pipes[model], { ...REDUCE, runner });
        check(maxDiff(a, b) <= 1e-4, `the runners differ by ${maxDiff(a, b)}`);
        return 'correct';
      });
    });
  });
});
