import { RawImage, Tensor, pipeline } from '@huggingface/transformers';
import { loadReference, modelPath } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { UnsupportedModelError, enableJMP } from '../src/index.js';
import { dptHeadMacs } from '../src/graph/architectures/depth-anything.js';
import { maxAbsDiff } from './helpers.js';

/**
 * JMP on the depth-estimation pipeline (tiny-depth-anything: a 4-block DINOv2 backbone, 8×8 patches
 * + the class token, a DPT neck reading every block's output). The compiled graph restores the full
 * token grid at each block the neck reads; keep = 1 is the plain pipeline.
 */
const NAME = 'tiny-depth-anything';
type Depth = { predicted_depth: Tensor; depth: RawImage };
type DepthPipeline = ((images: unknown) => Promise<Depth | Depth[]>) & {
  model: ((inputs: { pixel_values: Tensor }) => Promise<{ predicted_depth: Tensor }>) & { config: Record<string, unknown> };
  dispose(): Promise<void>;
};

const ref = loadReference(NAME);
const images = ref.images.map((im) => new RawImage(im.data, im.width, im.height, im.channels as 3));
const pixels = new Tensor('float32', ref.pixelValues, ref.dims);

describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-depth-anything %s with JMP', (dtype) => {
  let plain: DepthPipeline;
  let plainDepth: Float32Array;
  beforeAll(async () => {
    plain = (await pipeline('depth-estimation', modelPath(NAME), { dtype })) as unknown as DepthPipeline;
    plainDepth = (await plain.model({ pixel_values: pixels })).predicted_depth.data as Float32Array;
  });
  afterAll(async () => {
    await plain.dispose();
  });

  it('keep = 1 is the plain pipeline', async () => {
    const pipe = (await pipeline('depth-estimation', modelPath(NAME), { dtype })) as unknown as DepthPipeline;
    const jmp = await enableJMP(pipe as never, { strategy: 'prune', keep: 1 });
    expect(jmp.info!.architecture).toBe('depth_anything');
    const out = (await pipe.model({ pixel_values: pixels })).predicted_depth;
    expect(out.dims).toEqual([2, 112, 112]);
    expect(maxAbsDiff(out.data as Float32Array, plainDepth)).toBeLessThanOrEqual(dtype === 'fp32' ? 1e-5 : 1e-3);
    await pipe.dispose();
  });

  it('the default JMP reduces tokens and gives a depth map of every image’s size', async () => {
    const pipe = (await pipeline('depth-estimation', modelPath(NAME), { dtype })) as unknown as DepthPipeline;
    const jmp = await enableJMP(pipe as never, { keep: 0.7 });
    expect(jmp.info!.runner).toBe('compiled');
    expect(jmp.info!.gmacs.planned).toBeLessThan(jmp.info!.gmacs.plain);
    const batch = (await pipe(images)) as Depth[];
    expect(batch).toHaveLength(2);
    for (const o of batch) {
      expect(o.predicted_depth.dims).toEqual([112, 112]);
      expect((o.predicted_depth.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
    const out = (await pipe.model({ pixel_values: pixels })).predicted_depth.data as Float32Array;
    const d = maxAbsDiff(out, plainDepth);
    expect(d).toBeGreaterThan(0);
    await pipe.dispose();
  });
});

describe('tiny-depth-anything: images of other sizes (each its own token grid)', () => {
  it('keep = 1 is the plain pipeline and JMP runs on a 112×154 input (8×11 patches) and through the pipeline on a 90×50 image', async () => {
    const pipe = (await pipeline('depth-estimation', modelPath(NAME), { dtype: 'fp32' })) as unknown as DepthPipeline & {
      processor: (images: unknown) => Promise<{ pixel_values: Tensor }>;
    };
    const wide = new RawImage(
      Uint8ClampedArray.from({ length: 154 * 112 * 3 }, (_, i) => (i * 37) % 251),
      154,
      112,
      3,
    );
    const pixels = (await pipe.processor(wide)).pixel_values;
    expect(pixels.dims).toEqual([1, 3, 112, 154]);
    const plainWide = (await pipe.model({ pixel_values: pixels })).predicted_depth.data as Float32Array;
    const one = await enableJMP(pipe as never, { strategy: 'prune', keep: 1 });
    expect(maxAbsDiff((await pipe.model({ pixel_values: pixels })).predicted_depth.data as Float32Array, plainWide)).toBeLessThanOrEqual(1e-5);
    await one.dispose();
    const jmp = await enableJMP(pipe as never, { keep: 0.7 });
    const reduced = (await pipe.model({ pixel_values: pixels })).predicted_depth;
    expect(reduced.dims).toEqual([1, 112, 154]);
    expect(maxAbsDiff(reduced.data as Float32Array, plainWide)).toBeGreaterThan(0);
    // 8 × 11 = 88 patches + the class token enter the first block, whatever the plan's 64
    expect(jmp.stats().lastCall!.blocks[0]!.tokensIn).toBe(89);
    const small = (await pipe(
      new RawImage(
        Uint8ClampedArray.from({ length: 90 * 50 * 3 }, (_, i) => (i * 11) % 253),
        90,
        50,
        3,
      ),
    )) as Depth;
    expect(small.predicted_depth.dims).toEqual([50, 90]);
    expect((small.predicted_depth.data as Float32Array).every(Number.isFinite)).toBe(true);
    await pipe.dispose();
  });
});

describe('tiny-depth-anything: the segments runner', () => {
  it('is refused with a typed error: the neck reads the grid of several blocks', async () => {
    const pipe = (await pipeline('depth-estimation', modelPath(NAME), { dtype: 'fp32' })) as unknown as DepthPipeline;
    const error = await enableJMP(pipe as never, { runner: 'segments', keep: 0.7 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedModelError);
    expect(String((error as Error).message)).toMatch(/neck/);
    await pipe.dispose();
  });
});

describe('the cost of the DPT neck and depth head', () => {
  // Both figures were counted independently on the PyTorch module tree (jmp_fixtures/hf_depth_anything.py):
  // forward hooks on every Conv2d (output elements × C_in/groups × k²) and ConvTranspose2d (input elements
  // × C_out × k²) under neck/ and head/, one image of 112×112 (the fixture) and 518×518 (V2-small's sizes).
  it('equals the convolutions counted on the module tree', () => {
    const tiny = JSON.parse(readFileSync(`${modelPath(NAME)}/config.json`, 'utf8')) as Record<string, unknown>;
    expect(dptHeadMacs(tiny, 112)).toBe(27_305_984);
    const v2Small = {
      backbone_config: { patch_size: 14, hidden_size: 384 },
      reassemble_hidden_size: 384,
      neck_hidden_sizes: [48, 96, 192, 384],
      reassemble_factors: [4, 2, 1, 0.5],
      fusion_hidden_size: 64,
      head_hidden_size: 32,
    };
    expect(dptHeadMacs(v2Small, 518)).toBe(10_937_027_712);
  });

  it('is a constant of the plan: planned for the processor’s size, the neck and head in both GMACs figures', async () => {
    const pipe = (await pipeline('depth-estimation', modelPath(NAME), { dtype: 'fp32' })) as unknown as DepthPipeline;
    const jmp = await enableJMP(pipe as never, { keep: 0.7 });
    expect(jmp.info!.shape.patches).toBe(64);
    expect(jmp.info!.shape.headMacs).toBe(27_305_984);
    expect(jmp.info!.gmacs.plain).toBeGreaterThan(27_305_984 / 1e9);
    expect(jmp.info!.gmacs.plain - jmp.info!.gmacs.planned).toBeGreaterThan(0);
    await pipe.dispose();
  });
});
