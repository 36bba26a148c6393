import path from 'node:path';
import { RawImage, Tensor, pipeline } from '@huggingface/transformers';
import { modelPath, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedModelError, enableJMP } from '../src/index.js';
import { jmpReference, maxAbsDiff, zeroShotOutputs, type Dtype, type ZeroShot } from './helpers.js';

/**
 * SigLIP (tiny-siglip: random weights, vision 28×28 / patch 4, 49 tokens and no class token, 4
 * blocks, width 64, 4 heads, a pooling head whose probe attends over every token). transformers.js
 * runs SigLIP in zero-shot-image-classification (SiglipModel, onnx/model*.onnx) and
 * image-feature-extraction (SiglipVisionModel, onnx/vision_model*.onnx); it has no SigLIP
 * image-classification. No token is protected (P = 0); importance is the attention each token
 * receives; the pooling head's attention gets the log-size bias too.
 */
const dir = path.join(path.dirname(modelPath('tiny-clip')), 'tiny-siglip');
const LABELS = ['a photo of a shirt', 'a photo of a bag', 'a photo of a boot'];
const TOLERANCE: Record<Dtype, number> = { fp32: 1e-5, fp16: 5e-3, q8: 1e-3 };

function crops(batch: number, seed = 5): Tensor {
  const u8 = xorshift32Bytes(seed, batch * 3 * 28 * 28);
  return new Tensor(
    'float32',
    Float32Array.from(u8, (v) => (v / 255 - 0.5) / 0.5),
    [batch, 3, 28, 28],
  );
}

describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-siglip zero-shot, %s', (dtype) => {
  let pipe: ZeroShot;
  beforeAll(async () => {
    pipe = (await pipeline('zero-shot-image-classification', dir, { dtype })) as unknown as ZeroShot;
  });
  afterAll(async () => {
    await pipe.dispose();
  });

  it('keep = 1: every output is the plain pipeline’s; the default JMP reduces the vision tower only', async () => {
    const input = crops(4);
    const plain = await zeroShotOutputs(pipe, LABELS, input);
    const one = await enableJMP(pipe as never, { strategy: 'prune', keep: 1 });
    try {
      expect(one.info!.architecture).toBe('siglip');
      expect(one.info!.protectedTokens).toBe(0);
      expect(one.info!.headOnly).toBe(false); // the pooling head attends over every token
      const out = await zeroShotOutputs(pipe, LABELS, input);
      for (const name of Object.keys(plain)) expect(maxAbsDiff(out[name]!, plain[name]!), name).toBeLessThanOrEqual(TOLERANCE[dtype]);
    } finally {
      await one.dispose();
    }
    const jmp = await enableJMP(pipe as never);
    try {
      const out = await zeroShotOutputs(pipe, LABELS, input);
      expect(maxAbsDiff(out.text_embeds!, plain.text_embeds!)).toBeLessThanOrEqual(dtype === 'fp32' ? 0 : TOLERANCE[dtype]);
      expect(maxAbsDiff(out.image_embeds!, plain.image_embeds!)).toBeGreaterThan(0);
      expect(jmp.stats().lastCall!.blocks.at(-1)!.tokensOut).toBeLessThan(49);
      const image = new RawImage(Uint8ClampedArray.from(xorshift32Bytes(9, 40 * 30 * 3)), 40, 30, 3);
      const result = (await pipe(image, LABELS)) as { label: string; score: number }[];
      expect(result.map((r) => r.label).sort()).toEqual([...LABELS].sort());
      for (const r of result) expect(r.score > 0 && r.score < 1).toBe(true); // SigLIP's sigmoid scores
    } finally {
      await jmp.dispose();
    }
  });
});

describe('tiny-siglip image-feature-extraction: the full token grid', () => {
  it('keep = 1 is the plain pipeline; the default JMP keeps the grid [B, 49, 64]', async () => {
    const features = (await pipeline('image-feature-extraction', dir, { dtype: 'fp32' })) as unknown as ((i: unknown) => Promise<Tensor>) & {
      dispose(): Promise<void>;
    };
    const images = [3, 4].map((seed) => new RawImage(Uint8ClampedArray.from(xorshift32Bytes(seed, 28 * 28 * 3)), 28, 28, 3));
    try {
      const plain = await features(images);
      expect(plain.dims).toEqual([2, 49, 64]);
      const one = await enableJMP(features as never, { strategy: 'prune', keep: 1 });
      expect(maxAbsDiff((await features(images)).data as Float32Array, plain.data as Float32Array)).toBe(0);
      await one.dispose();
      const jmp = await enableJMP(features as never, { method: 'tome', r: 6, trackSources: true });
      try {
        const out = await features(images);
        expect(out.dims).toEqual(plain.dims);
        const { assignment } = jmp.stats().lastCall!.sources!;
        // originals that ended in the same token have the same row
        const data = out.data as Float32Array;
        for (let b = 0; b < 2; b++) {
          const rows = new Map<number, string>();
          for (let t = 0; t < 49; t++) {
            const row = Array.from(data.subarray((b * 49 + t) * 64, (b * 49 + t + 1) * 64)).join(',');
            const a = assignment[b * 49 + t]!;
            if (rows.has(a)) expect(rows.get(a)).toBe(row);
            else rows.set(a, row);
          }
          expect(rows.size).toBe(25); // 49 − 4 × 6
        }
      } finally {
        await jmp.dispose();
      }
    } finally {
      await features.dispose();
    }
  });
});

describe('tiny-siglip: image_embeds = the independent PyTorch reference (jmp_reference.py)', () => {
  const { ref, pixels } = jmpReference('tiny-siglip');
  const { height, width } = ref.inputs;
  let pipe: ZeroShot;
  beforeAll(async () => {
    pipe = (await pipeline('zero-shot-image-classification', dir, { dtype: 'fp32' })) as unknown as ZeroShot;
  });
  afterAll(async () => {
    await pipe.dispose();
  });

  it.each(ref.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const jmp = await enableJMP(pipe as never, { ...c.options, runner: 'compiled' });
    try {
      const input = new Tensor('float32', pixels.slice(0, c.batch * 3 * height * width), [c.batch, 3, height, width]);
      const out = await zeroShotOutputs(pipe, LABELS, input);
      const call = jmp.stats().lastCall!;
      expect(call.blocks.map((b) => b.tokensIn)).toEqual(c.tokens);
      expect(call.images.map((image) => image.map((r) => r.decision))).toEqual(c.decisions);
      expect(maxAbsDiff(out.image_embeds!, c.logits.flat())).toBeLessThanOrEqual(ref.tolerance);
    } finally {
      await jmp.dispose();
    }
  });

  it('the segments runner is refused with a typed error', async () => {
    const error = await enableJMP(pipe as never, { runner: 'segments', keep: 0.7 }).catch((e: unknown) => e);
    expect(UnsupportedModelError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("SigLIP's zero-shot model");
  });
});
