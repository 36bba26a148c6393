import { RawImage, Tensor, pipeline } from '@huggingface/transformers';
import { loadReference, modelPath, pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, type Dtype } from './helpers.js';

/**
 * The plain depth-estimation pipeline (no JMP) on tiny-depth-anything: Depth Anything (a 4-block
 * DINOv2 backbone at 112/14, 8×8 patches + the class token; the DPT neck reads blocks 0–3; relative
 * depth head), DPTImageProcessor with keep_aspect_ratio and multiples of 14. The model's raw
 * predicted_depth matches the PyTorch reference (reference.json: two 112×112 images and one
 * 112×154), and the pipeline returns { predicted_depth, depth } at each image's own size.
 */
const NAME = 'tiny-depth-anything';
// fp32 as check.mjs; fp16 and q8: the rule of the dtype tests (0.05·(1 + max|ref|)) for q8, 1e-2 for fp16
const tolerance = (dtype: Dtype, ref: Float32Array): number => ({ fp32: 1e-4, fp16: 1e-2, q8: 0.05 * (1 + Math.max(...Array.from(ref, Math.abs))) })[dtype];

type Depth = { predicted_depth: Tensor; depth: RawImage };
type DepthPipeline = ((images: unknown) => Promise<Depth | Depth[]>) & {
  model: ((inputs: { pixel_values: Tensor }) => Promise<{ predicted_depth: Tensor }>) & { config: Record<string, unknown> };
  processor: (images: unknown) => Promise<{ pixel_values: Tensor }>;
  dispose(): Promise<void>;
};
interface F32 {
  shape: number[];
  f32le_base64: string;
}
interface InputBlock {
  seed: number;
  batch: number;
  height: number;
  width: number;
  channels: 3;
  model_channels: number;
  mean: number[];
  std: number[];
  pixel_values_shape: number[];
}

const f32 = (b: F32): Float32Array => {
  const bytes = Buffer.from(b.f32le_base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

const ref = loadReference(NAME);
const R = ref.json as { predicted_depth: F32; wide: { input: InputBlock; predicted_depth: F32 }; tower: { patch_grid: number[] } };
const W = R.wide.input;
const wideU8 = xorshift32Bytes(W.seed, W.batch * W.height * W.width * W.channels);
const wide = {
  image: new RawImage(wideU8, W.width, W.height, W.channels),
  pixels: new Tensor('float32', pixelValuesFromU8(wideU8, { ...W, modelChannels: W.model_channels }), W.pixel_values_shape),
  depth: f32(R.wide.predicted_depth),
};
const square = {
  images: ref.images.map((im) => new RawImage(im.data, im.width, im.height, im.channels as 3)),
  pixels: new Tensor('float32', ref.pixelValues, ref.dims),
  depth: f32(R.predicted_depth),
};

describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-depth-anything %s, plain pipeline', (dtype) => {
  let pipe: DepthPipeline;
  beforeAll(async () => {
    pipe = (await pipeline('depth-estimation', modelPath(NAME), { dtype })) as unknown as DepthPipeline;
  });
  afterAll(async () => {
    await pipe.dispose();
  });

  it('loads DepthAnythingForDepthEstimation with the DPT processor', () => {
    expect(pipe.model.constructor.name).toBe('DepthAnythingForDepthEstimation');
    expect(pipe.model.config.model_type).toBe('depth_anything');
  });

  it('the processor gives the reference pixel values (the sizes are kept: multiples of 14, one side 112)', async () => {
    const a = await pipe.processor(square.images);
    expect(a.pixel_values.dims).toEqual(ref.dims);
    expect(maxAbsDiff(a.pixel_values.data as Float32Array, ref.pixelValues)).toBe(0);
    const b = await pipe.processor(wide.image);
    expect(b.pixel_values.dims).toEqual(W.pixel_values_shape);
    expect(maxAbsDiff(b.pixel_values.data as Float32Array, wide.pixels.data as Float32Array)).toBe(0);
  });

  it('the raw predicted_depth matches PyTorch (112×112 batch of 2, and 112×154)', async () => {
    const a = (await pipe.model({ pixel_values: square.pixels })).predicted_depth;
    expect(a.dims).toEqual([2, 112, 112]);
    expect(maxAbsDiff(a.data as Float32Array, square.depth)).toBeLessThanOrEqual(tolerance(dtype, square.depth));
    const b = (await pipe.model({ pixel_values: wide.pixels })).predicted_depth;
    expect(b.dims).toEqual([1, 112, 154]);
    expect(maxAbsDiff(b.data as Float32Array, wide.depth)).toBeLessThanOrEqual(tolerance(dtype, wide.depth));
  });

  it('the pipeline returns { predicted_depth, depth } at each image’s size', async () => {
    // a batch is one size (the processor stacks its images); other sizes one by one
    const other = new RawImage(Uint8ClampedArray.from(xorshift32Bytes(7, 90 * 50 * 3)), 90, 50, 3); // the model sees 112×56 (a 4×8 grid)
    const batch = (await pipe(square.images)) as Depth[];
    expect(batch).toHaveLength(2);
    const single = [(await pipe(wide.image)) as Depth, (await pipe(other)) as Depth];
    const images = [...square.images, wide.image, other];
    [...batch, ...single].forEach((o, i) => {
      const { width, height } = images[i]!;
      expect(o.predicted_depth.dims).toEqual([height, width]);
      expect(o.depth).toBeInstanceOf(RawImage);
      expect([o.depth.width, o.depth.height, o.depth.channels]).toEqual([width, height, 1]);
      expect((o.predicted_depth.data as Float32Array).every(Number.isFinite)).toBe(true);
      // depth is predicted_depth scaled to 0…255 (as uint8)
      expect(Math.min(...o.depth.data)).toBe(0);
      expect(Math.max(...o.depth.data)).toBeGreaterThanOrEqual(254); // 255 · (max − min) / (max − min), truncated
    });
    // at the model's own size the pipeline's interpolation is the identity: the reference again
    const piped = Float32Array.from(batch.flatMap((o) => Array.from(o.predicted_depth.data as Float32Array)));
    expect(maxAbsDiff(piped, square.depth)).toBeLessThanOrEqual(tolerance(dtype, square.depth));
    expect(maxAbsDiff(single[0]!.predicted_depth.data as Float32Array, wide.depth)).toBeLessThanOrEqual(tolerance(dtype, wide.depth));
  });
});
