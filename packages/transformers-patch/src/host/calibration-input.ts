// calibrateJMP's inputs: the pipeline it takes and the images, as batches of pixel values.
import { RawImage, Tensor } from '@huggingface/transformers';
import { JmpArgumentError } from '@jmpjs/core';
import type { VisionPipelineLike } from './types.js';

/** The images to calibrate on: preprocessed pixels [N, C, H, W], or anything the pipeline takes (paths, URLs, RawImages). */
export type CalibrationImages = Tensor | readonly unknown[];

/** The pipeline as calibrateJMP uses it: its processor preprocesses image arrays. */
export type Pipe = VisionPipelineLike & { processor?: (images: unknown[]) => Promise<{ pixel_values: Tensor }> };

/** calibrateJMP compares class probabilities: it takes an image-classification pipeline. */
export function checkPipeline(pipe: VisionPipelineLike): void {
  if (!pipe || (typeof pipe !== 'object' && typeof pipe !== 'function') || !(pipe as { model?: unknown }).model) {
    throw new JmpArgumentError({ argument: 'pipeline', expected: "an image-classification pipeline (from pipeline('image-classification', …))", found: pipe });
  }
  const task = (pipe as { task?: unknown }).task;
  if (typeof task === 'string' && task !== 'image-classification') {
    throw new JmpArgumentError({
      argument: 'pipeline',
      expected: 'an image-classification pipeline: calibrateJMP compares the class probabilities of the pipeline with JMP and without',
      found: `a '${task}' pipeline`,
      hint: 'Calibrate on an image-classification pipeline of the same backbone, or give enableJMP a τ or a budget.',
    });
  }
}

/** The images as batches of pixel values. */
export async function batchesOf(pipe: Pipe, images: CalibrationImages, batchSize: number): Promise<Tensor[]> {
  if (images instanceof Tensor || (images && typeof images === 'object' && !Array.isArray(images) && 'dims' in (images as object))) {
    const t = images as Tensor;
    if (t.dims.length !== 4 || t.type !== 'float32' || t.dims[0]! < 1) {
      throw new JmpArgumentError({
        argument: 'images',
        expected: 'pixel values [N, C, H, W] (float32), or an array of images',
        found: `a ${t.type} tensor [${t.dims.join(', ')}]`,
      });
    }
    const [N, C, H, W] = t.dims as [number, number, number, number];
    const per = C * H * W;
    const data = t.data as Float32Array;
    const out: Tensor[] = [];
    for (let i = 0; i < N; i += batchSize) {
      const n = Math.min(batchSize, N - i);
      out.push(new Tensor('float32', data.subarray(i * per, (i + n) * per), [n, C, H, W]));
    }
    return out;
  }
  if (!Array.isArray(images) || images.length === 0) {
    throw new JmpArgumentError({
      argument: 'images',
      expected: 'pixel values [N, C, H, W], or a non-empty array of images (paths, URLs, RawImages)',
      found: images,
    });
  }
  if (typeof pipe.processor !== 'function') {
    throw new JmpArgumentError({
      argument: 'pipeline',
      expected: 'an image-classification pipeline with its processor (to preprocess the images)',
      found: 'no processor',
    });
  }
  const out: Tensor[] = [];
  for (let i = 0; i < images.length; i += batchSize) {
    const raw = await Promise.all(images.slice(i, i + batchSize).map((im, j) => readImage(im, i + j)));
    out.push((await pipe.processor(raw)).pixel_values);
  }
  return out;
}

/** One image of the array, or a JmpArgumentError naming it. */
async function readImage(image: unknown, index: number): Promise<RawImage> {
  if (image instanceof RawImage) return image;
  const readable =
    typeof image === 'string' ||
    image instanceof URL ||
    (typeof Blob !== 'undefined' && image instanceof Blob) ||
    (image !== null && typeof image === 'object' && ['HTMLCanvasElement', 'OffscreenCanvas'].includes(image.constructor?.name));
  const argument = `images[${index}]`;
  if (!readable) throw new JmpArgumentError({ argument, expected: 'an image: a RawImage, a path or URL, a Blob or a canvas', found: image });
  try {
    return await RawImage.read(image as string);
  } catch (e) {
    throw new JmpArgumentError({
      argument,
      expected: 'an image transformers.js can read',
      found: `${String(image).slice(0, 200)} (${e instanceof Error ? e.message : String(e)})`,
    });
  }
}
