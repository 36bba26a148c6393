import { RawImage, Tensor } from '@huggingface/transformers';
import { pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedModelError, enableJMP } from '../src/index.js';
import { loadClassifier, logits, maxAbsDiff, type Classifier, type Dtype } from './helpers.js';

/**
 * DINOv2 image classification (tiny-dinov2: 4 blocks, layer scale, a position table interpolated to
 * the 7×7 grid of its 28×28 crops, a head on the class token and the mean of the patch tokens).
 */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
function crops(batch: number, seed = 99): Tensor {
  const u8 = xorshift32Bytes(seed, batch * 28 * 28 * 3);
  return new Tensor('float32', pixelValuesFromU8(u8, { batch, height: 28, width: 28, channels: 3, mean: MEAN, std: STD }), [batch, 3, 28, 28]);
}
const TOLERANCE: Record<Dtype, number> = { fp32: 1e-5, fp16: 5e-3, q8: 1e-3 };

describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-dinov2 %s', (dtype) => {
  let dino: Classifier;
  beforeAll(async () => {
    dino = await loadClassifier('tiny-dinov2', dtype);
  });
  afterAll(async () => {
    await dino.dispose();
  });

  it('keep = 1 is the plain pipeline', async () => {
    const input = crops(4);
    const plain = await logits(dino, input);
    const jmp = await enableJMP(dino, { strategy: 'prune', keep: 1 });
    try {
      expect(jmp.info!.architecture).toBe('dinov2');
      expect(jmp.info!.runner).toBe('compiled');
      expect(maxAbsDiff(await logits(dino, input), plain)).toBeLessThanOrEqual(TOLERANCE[dtype]);
    } finally {
      await jmp.dispose();
    }
    expect(maxAbsDiff(await logits(dino, input), plain)).toBe(0);
  });

  it('the default JMP: planned for the crop size, every second block, the head reads every token', async () => {
    const jmp = await enableJMP(dino);
    try {
      // the plan is for the processor's 28×28 crops (49 patches), not config.image_size (56: the position table's)
      expect(jmp.info!.shape.patches).toBe(49);
      expect(jmp.info!.reductionBlocks).toEqual([2, 4]);
      expect(jmp.info!.headOnly).toBe(false); // the head averages the patch tokens
      expect(Math.abs(jmp.info!.gmacs.planned / jmp.info!.gmacs.plain - 0.65)).toBeLessThanOrEqual(0.01);
      // the pipeline's output as without JMP: labels and scores
      const image = new RawImage(Uint8ClampedArray.from(xorshift32Bytes(7, 40 * 32 * 3)), 40, 32, 3);
      const out = (await (dino as unknown as (i: unknown, o: unknown) => Promise<{ label: string; score: number }[]>)(image, { top_k: 3 }));
      expect(out).toHaveLength(3);
      for (const r of out) {
        expect(typeof r.label).toBe('string');
        expect(r.score).toBeGreaterThan(0);
      }
      await logits(dino, crops(3));
      const call = jmp.stats().lastCall!;
      expect(call.blocks.map((b) => b.tokensIn)).toEqual(jmp.info!.plannedTokens.map((b) => b.tokensIn));
      expect(call.blocks[0]!.tokensIn).toBe(50);
      expect(call.blocks.at(-1)!.tokensOut).toBeLessThan(50);
    } finally {
      await jmp.dispose();
    }
  });
});

describe('tiny-dinov2: the segments runner', () => {
  it('is refused with a typed error: its last segment cannot weight the patch mean', async () => {
    const dino = await loadClassifier('tiny-dinov2');
    try {
      const input = crops(2);
      const plain = await logits(dino, input);
      const error = await enableJMP(dino, { runner: 'segments', keep: 0.7 }).catch((e: unknown) => e);
      expect(UnsupportedModelError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('averages the patch tokens');
      expect(maxAbsDiff(await logits(dino, input), plain)).toBe(0);
    } finally {
      await dino.dispose();
    }
  });
});
