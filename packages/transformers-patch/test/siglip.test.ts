import { RawImage } from '@huggingface/transformers';
import { xorshift32Bytes } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { enableJMP } from '../src/index.js';
import {
  LABELS,
  TOLERANCE,
  describeZeroShotReference,
  loadFeatures,
  loadZeroShot,
  maxAbsDiff,
  seededCrops,
  suitePipeline,
  zeroShotOutputs,
} from './helpers.js';

/**
 * SigLIP (tiny-siglip: random weights, vision 28×28 / patch 4, 49 tokens and no class token, 4
 * blocks, width 64, 4 heads, a pooling head whose probe attends over every token). transformers.js
 * runs SigLIP in zero-shot-image-classification (SiglipModel, onnx/model*.onnx) and
 * image-feature-extraction (SiglipVisionModel, onnx/vision_model*.onnx); it has no SigLIP
 * image-classification. No token is protected (P = 0); importance is the attention each token
 * receives; the pooling head's attention gets the log-size bias too.
 */

// 60 s: as clip.test.ts (past vitest's 5 s on a loaded 2-core machine)
describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-siglip zero-shot, %s', { timeout: 60_000 }, (dtype) => {
  const zeroShot = suitePipeline(() => loadZeroShot('tiny-siglip', dtype));

  it('keep = 1: every output is the plain pipeline’s; the default JMP reduces the vision tower only', async () => {
    const pipe = zeroShot();
    const input = seededCrops(4, 28, 5);
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

describe('tiny-siglip image-feature-extraction: the full token grid', { timeout: 60_000 }, () => {
  it('keep = 1 is the plain pipeline; the default JMP keeps the grid [B, 49, 64]', async () => {
    const features = await loadFeatures('tiny-siglip');
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

describeZeroShotReference('tiny-siglip', "SigLIP's zero-shot model");
