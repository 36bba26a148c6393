import { JmpArgumentError } from '@jmpjs/core';
import type { OrtTensorLike } from './segment-runner.js';

/** What the model accepts: channels, and the patch grid its position embeddings were made for. */
export interface InputShape {
  channels: number;
  patchSize: number;
  patches: number;
  /**
   * The graph resizes its position table to each input's patch grid (Depth Anything's exports): any
   * size of at least one patch each way runs, not only the planned one.
   */
  anyGrid?: boolean;
}

/**
 * Checks `pixel_values` before a patched forward runs, so that a bad input is a
 * {@link JmpArgumentError} naming what is wrong instead of an error from deep inside onnxruntime
 * (wrong rank, channels or size), and so that NaN / ±Infinity pixels do not give a meaningless
 * label silently. Values are scanned only where they are readable on the CPU.
 */
export function checkPixelValues(t: OrtTensorLike, shape: InputShape): void {
  const dims = t.dims;
  const found = `a ${t.type} tensor of dims [${dims.join(', ')}]`;
  const sizeHint = `images as the pipeline's processor makes them, e.g. [batch, ${shape.channels}, ${Math.sqrt(shape.patches) * shape.patchSize}, ${Math.sqrt(shape.patches) * shape.patchSize}]`;
  if (dims.length !== 4 || t.type !== 'float32') {
    throw new JmpArgumentError({ argument: 'pixel_values', expected: `a float32 tensor [batch, channels, height, width]: ${sizeHint}`, found });
  }
  const [B, C, H, W] = dims as [number, number, number, number];
  if (B < 1) {
    throw new JmpArgumentError({
      argument: 'pixel_values',
      expected: 'a batch of at least one image',
      found,
      hint: 'Skip empty batches (the plain pipeline fails on them too, inside onnxruntime).',
    });
  }
  if (C !== shape.channels) {
    throw new JmpArgumentError({ argument: 'pixel_values', expected: `${shape.channels} channels: ${sizeHint}`, found });
  }
  const p = shape.patchSize;
  if (shape.anyGrid ? H < p || W < p : Math.floor(H / p) * Math.floor(W / p) !== shape.patches) {
    throw new JmpArgumentError({
      argument: 'pixel_values',
      expected: shape.anyGrid
        ? `an image of at least one patch of ${p}×${p} each way: ${sizeHint}`
        : `an image size that gives the model's ${shape.patches} patches of ${p}×${p} (its position embeddings are fixed): ${sizeHint}`,
      found,
      hint: "Pass images through the pipeline (it resizes them), or resize to the model's image size.",
    });
  }
  const location = (t as { location?: string }).location;
  if (location !== undefined && location !== 'cpu' && location !== 'cpu-pinned') return; // on the GPU: not read back here
  const data = t.data as ArrayLike<number>;
  if (data.length !== B * C * H * W) {
    throw new JmpArgumentError({ argument: 'pixel_values', expected: `${B * C * H * W} values for dims [${dims.join(', ')}]`, found: `${data.length} values` });
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      // NaN or ±Infinity (v - v is NaN for both): name where it is.
      const x = i % W;
      const y = Math.floor(i / W) % H;
      const c = Math.floor(i / (W * H)) % C;
      const b = Math.floor(i / (W * H * C));
      throw new JmpArgumentError({
        argument: 'pixel_values',
        expected: 'finite pixel values',
        found: `${v} at image ${b}, channel ${c}, row ${y}, column ${x}`,
        hint: 'Non-finite inputs would give a meaningless label: check the image data and its preprocessing (e.g. a zero std).',
      });
    }
  }
}
