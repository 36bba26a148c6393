import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { modelPath, pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedModelError, enableJMP, type ImageClassificationPipelineLike, type JMPOptions } from '../src/index.js';

env.allowRemoteModels = false;

export type Dtype = 'fp32' | 'fp16' | 'q8';
export type Classifier = ImageClassificationPipelineLike & {
  (images: unknown, options?: unknown): Promise<unknown>;
  model: ((inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>) & { config: Record<string, unknown> };
  dispose(): Promise<void>;
};

export async function loadClassifier(name: string, dtype: Dtype = 'fp32'): Promise<Classifier> {
  return (await pipeline('image-classification', modelPath(name), { dtype })) as unknown as Classifier;
}

/** Tolerance of a dtype's outputs against fp32 / the plain pipeline's where keep = 1 should give them. */
export const TOLERANCE: Record<Dtype, number> = { fp32: 1e-5, fp16: 5e-3, q8: 1e-3 };

/** Runs `run` on the fixture's classifier, loaded for it and disposed after it. */
export async function withClassifier<T>(name: string, run: (classifier: Classifier) => Promise<T>): Promise<T> {
  const classifier = await loadClassifier(name);
  try {
    return await run(classifier);
  } finally {
    await classifier.dispose();
  }
}

/** Seeded pixel values in [−1, 1], [batch, 3, side, side] (the 28×28 models' crops). */
export function seededCrops(batch: number, side: number, seed: number): Tensor {
  const u8 = xorshift32Bytes(seed, batch * 3 * side * side);
  return new Tensor(
    'float32',
    Float32Array.from(u8, (v) => (v / 255 - 0.5) / 0.5),
    [batch, 3, side, side],
  );
}

/** Seeded pixel values [B, 3, 224, 224], preprocessed like transformers.js (mean/std 0.5). */
export function pixels(batch: number, seed = 1234, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5]): Tensor {
  const u8 = xorshift32Bytes(seed, batch * 224 * 224 * 3);
  return new Tensor('float32', pixelValuesFromU8(u8, { batch, height: 224, width: 224, channels: 3, mean, std }), [batch, 3, 224, 224]);
}

export async function logits(classifier: Classifier, input: Tensor): Promise<Float32Array> {
  const { logits } = await classifier.model({ pixel_values: input });
  return Float32Array.from(logits.data as Float32Array);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argmaxRows(x: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c]! > x[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** A case of a fixture's jmp-reference.json (tooling/fixtures/jmp_reference.py: PyTorch, written from the spec). */
export interface ReferenceCase {
  name: string;
  options: JMPOptions & { proportionalAttention: boolean };
  batch: number;
  logits: number[][];
  tokens: number[];
  decisions: string[][];
}
export interface JmpReference {
  tolerance: number;
  inputs: { seed: number; batch: number; height: number; width: number; channels: number; mean: number[]; std: number[] };
  cases: ReferenceCase[];
}

/** A fixture's independent reference and its input pixels [batch, 3, height, width] (`ref.inputs`: 224×224, 28×28 for tiny-dinov2). */
export function jmpReference(name: string): { ref: JmpReference; pixels: Float32Array } {
  const ref = JSON.parse(readFileSync(path.join(modelPath(name), 'jmp-reference.json'), 'utf8')) as JmpReference;
  const { seed, batch, height, width, channels, mean, std } = ref.inputs;
  return { ref, pixels: pixelValuesFromU8(xorshift32Bytes(seed, batch * height * width * channels), { batch, height, width, channels, mean, std }) };
}

/**
 * A pipeline loaded before the tests of the enclosing describe block and disposed after them.
 * Returns a getter (the pipeline exists once beforeAll ran).
 */
export function suitePipeline<P extends { dispose(): Promise<void> }>(load: () => Promise<P>): () => P {
  let pipe: P | undefined;
  beforeAll(async () => {
    pipe = await load();
  });
  afterAll(async () => {
    await pipe?.dispose();
  });
  return () => pipe!;
}

/** The labels the zero-shot tests classify with. */
export const LABELS = ['a photo of a shirt', 'a photo of a bag', 'a photo of a boot'];

/** A zero-shot pipeline (CLIP, SigLIP) as the tests call it. */
export type ZeroShot = ((images: unknown, labels: string[]) => Promise<unknown>) & {
  model: ((inputs: Record<string, unknown>) => Promise<Record<string, Tensor>>) & { config: Record<string, unknown> };
  tokenizer: (texts: string[], options: Record<string, unknown>) => Record<string, Tensor>;
  dispose(): Promise<void>;
};

/** A zero-shot model's four outputs for pixel_values and the labels' text inputs, as plain arrays. */
export async function zeroShotOutputs(pipe: ZeroShot, labels: string[], pixels: Tensor): Promise<Record<string, Float32Array>> {
  const text = pipe.tokenizer(labels, { padding: 'max_length', truncation: true });
  const out = await pipe.model({ ...text, pixel_values: pixels });
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
}

/** An image-feature-extraction pipeline (CLIP, SigLIP, DINOv2): the per-token states. */
export type Features = ((images: unknown) => Promise<Tensor>) & { dispose(): Promise<void> };

export async function loadFeatures(name: string, dtype: Dtype = 'fp32'): Promise<Features> {
  return (await pipeline('image-feature-extraction', modelPath(name), { dtype })) as unknown as Features;
}

export async function loadZeroShot(name: 'tiny-clip' | 'tiny-siglip', dtype: Dtype = 'fp32'): Promise<ZeroShot> {
  return (await pipeline('zero-shot-image-classification', modelPath(name), { dtype })) as unknown as ZeroShot;
}

/**
 * The zero-shot model's independent PyTorch reference (jmp-reference.json, jmp_reference.py): each
 * case on the compiled runner gives the reference's token counts per block, decisions per image
 * and block, and image_embeds within its tolerance. And the segments runner is refused with an
 * UnsupportedModelError naming the model (`refusal`): the compiled runner runs it.
 */
export function describeZeroShotReference(name: 'tiny-clip' | 'tiny-siglip', refusal: string): void {
  describe(`${name}: image_embeds = the independent PyTorch reference (jmp_reference.py)`, { timeout: 60_000 }, () => {
    const { ref, pixels } = jmpReference(name);
    const { height, width } = ref.inputs;
    const zeroShot = suitePipeline(() => loadZeroShot(name));

    it.each(ref.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const jmp = await enableJMP(zeroShot() as never, { ...c.options, runner: 'compiled' });
      try {
        const input = new Tensor('float32', pixels.slice(0, c.batch * 3 * height * width), [c.batch, 3, height, width]);
        const out = await zeroShotOutputs(zeroShot(), LABELS, input);
        const call = jmp.stats().lastCall!;
        expect(call.blocks.map((b) => b.tokensIn)).toEqual(c.tokens);
        expect(call.images.map((image) => image.map((r) => r.decision))).toEqual(c.decisions);
        expect(maxAbsDiff(out.image_embeds!, c.logits.flat())).toBeLessThanOrEqual(ref.tolerance);
      } finally {
        await jmp.dispose();
      }
    });

    it('the segments runner is refused with a typed error', async () => {
      const error = await enableJMP(zeroShot() as never, { runner: 'segments', keep: 0.7 }).catch((e: unknown) => e);
      expect(UnsupportedModelError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(refusal);
    });
  });
}

/** A plain onnxruntime-node session, as the graph-level tests use it. */
export interface OrtNodeSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: ArrayLike<number>; dims: readonly number[] }>>;
  release(): Promise<void>;
}
/** transformers.js's own onnxruntime-node (the one its pipelines run on), for tests that run compiled graphs directly. */
export const ortNode = createRequire(import.meta.resolve('@huggingface/transformers'))('onnxruntime-node') as {
  InferenceSession: { create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OrtNodeSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
};
