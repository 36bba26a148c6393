import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { modelPath, pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import type { ImageClassificationPipelineLike, JMPOptions } from '../src/index.js';

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
