import { RawImage, Tensor } from '@huggingface/transformers';
import { modelPath, xorshift32Bytes } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { enableJMP } from '../src/index.js';
import {
  LABELS,
  TOLERANCE,
  describeZeroShotReference,
  jmpReference,
  loadFeatures,
  loadZeroShot,
  maxAbsDiff,
  suitePipeline,
  zeroShotOutputs,
} from './helpers.js';

/**
 * CLIP zero-shot classification (tiny-clip: a random CLIP, vision tower 28×28 / patch 4, 4 blocks,
 * width 64, 4 heads; text tower 4 blocks). JMP reduces the vision tower only, inside the one ONNX
 * model the zero-shot pipeline runs (`onnx/model*.onnx`: input_ids, attention_mask, pixel_values →
 * logits_per_image, logits_per_text, text_embeds, image_embeds).
 */
const { ref, pixels: refPixels } = jmpReference('tiny-clip');
const { height, width } = ref.inputs;
const crops = (batch: number) => new Tensor('float32', refPixels.slice(0, batch * 3 * height * width), [batch, 3, height, width]);

// 60 s: each case loads a pipeline and runs it several times (past vitest's 5 s on a loaded 2-core machine)
describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-clip zero-shot, %s', { timeout: 60_000 }, (dtype) => {
  const zeroShot = suitePipeline(() => loadZeroShot('tiny-clip', dtype));

  it('keep = 1: every output is the plain pipeline’s', async () => {
    const pipe = zeroShot();
    const input = crops(4);
    const plain = await zeroShotOutputs(pipe, LABELS, input);
    const jmp = await enableJMP(pipe as never, { strategy: 'prune', keep: 1 });
    try {
      expect(jmp.info!.architecture).toBe('clip');
      expect(jmp.info!.attention).toBe('clip');
      const out = await zeroShotOutputs(pipe, LABELS, input);
      expect(Object.keys(out).sort()).toEqual(Object.keys(plain).sort());
      for (const name of Object.keys(plain)) expect(maxAbsDiff(out[name]!, plain[name]!), name).toBeLessThanOrEqual(TOLERANCE[dtype]);
    } finally {
      await jmp.dispose();
    }
    const after = await zeroShotOutputs(pipe, LABELS, input);
    for (const name of Object.keys(plain)) expect(maxAbsDiff(after[name]!, plain[name]!), name).toBe(0);
  });

  it('the default JMP: the vision tower reduced, the text tower untouched, the same output format', async () => {
    const pipe = zeroShot();
    const input = crops(4);
    const plain = await zeroShotOutputs(pipe, LABELS, input);
    const image = new RawImage(Uint8ClampedArray.from(xorshift32Bytes(3, 40 * 30 * 3)), 40, 30, 3);
    const plainResult = await pipe(image, LABELS);
    const jmp = await enableJMP(pipe as never);
    try {
      const out = await zeroShotOutputs(pipe, LABELS, input);
      // the text side is the same computation: text_embeds and (for fp32) bit for bit
      expect(maxAbsDiff(out.text_embeds!, plain.text_embeds!)).toBeLessThanOrEqual(dtype === 'fp32' ? 0 : TOLERANCE[dtype]);
      // the image side changed
      expect(maxAbsDiff(out.image_embeds!, plain.image_embeds!)).toBeGreaterThan(0);
      const call = jmp.stats().lastCall!;
      expect(call.blocks[0]!.tokensIn).toBe(50);
      expect(call.blocks.at(-1)!.tokensIn).toBeLessThan(50);
      // the class token is all the projection reads: the last block's MLP runs on it alone
      expect(jmp.info!.headOnly).toBe(dtype !== 'q8');
      const result = (await pipe(image, LABELS)) as { label: string; score: number }[];
      expect(result.map((r) => r.label).sort()).toEqual([...LABELS].sort());
      expect(result.reduce((a, r) => a + r.score, 0)).toBeCloseTo(1, 5);
      expect((plainResult as { label: string }[]).length).toBe(result.length);
    } finally {
      await jmp.dispose();
    }
  });
});

describeZeroShotReference('tiny-clip', "CLIP's zero-shot model");

/**
 * CLIP in image-feature-extraction: transformers.js returns `vision_model.onnx`'s per-token
 * `last_hidden_state` there. JMP gives the full token grid back: each original token's row is the
 * state of the token it ended in (its own, the one it merged into, its match if it was pruned).
 */
describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-clip image-feature-extraction, %s: the full token grid', { timeout: 60_000 }, (dtype) => {
  const images = [3, 4, 5].map((seed) => new RawImage(Uint8ClampedArray.from(xorshift32Bytes(seed, 28 * 28 * 3)), 28, 28, 3));
  const features = suitePipeline(() => loadFeatures('tiny-clip', dtype));

  it('keep = 1 is the plain pipeline; reductions keep one row per token of the grid', async () => {
    const pipe = features();
    const plain = await pipe(images);
    expect(plain.dims).toEqual([3, 50, 64]);
    const one = await enableJMP(pipe as never, { strategy: 'prune', keep: 1 });
    try {
      const out = await pipe(images);
      expect(out.dims).toEqual(plain.dims);
      expect(maxAbsDiff(out.data as Float32Array, plain.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE[dtype]);
    } finally {
      await one.dispose();
    }
    for (const options of [
      {},
      { method: 'tome' as const, r: 6 },
      { strategy: 'prune' as const, keep: 0.6, blocks: [1, 3] },
      { method: 'evit' as const, keep: 0.7, blocks: [2] },
    ]) {
      const jmp = await enableJMP(pipe as never, { ...options, trackSources: true });
      try {
        const out = await pipe(images);
        expect(out.dims, JSON.stringify(options)).toEqual(plain.dims);
        const call = jmp.stats().lastCall!;
        const final = call.blocks.at(-1)!.tokensOut;
        expect(final, JSON.stringify(options)).toBeLessThan(50);
        const { assignment } = call.sources!;
        const data = out.data as Float32Array;
        const row = (b: number, t: number) => Array.from(data.subarray((b * 50 + t) * 64, (b * 50 + t + 1) * 64)).join(',');
        for (let b = 0; b < 3; b++) {
          // originals that ended in the same token have the same row; as many distinct rows as final tokens they cover
          const byToken = new Map<number, Set<string>>();
          const kept = new Set<string>();
          for (let t = 1; t < 50; t++) {
            const a = assignment[b * 50 + t]!;
            if (a < 0) continue;
            if (!byToken.has(a)) byToken.set(a, new Set());
            byToken.get(a)!.add(row(b, t));
            kept.add(row(b, t));
          }
          for (const rows of byToken.values()) expect(rows.size, JSON.stringify(options)).toBe(1);
          expect(kept.size, JSON.stringify(options)).toBe(byToken.size);
          // a pruned original comes back as one of the remaining tokens (its match)
          for (let t = 1; t < 50; t++) if (assignment[b * 50 + t]! < 0) expect(kept.has(row(b, t)), JSON.stringify(options)).toBe(true);
        }
      } finally {
        await jmp.dispose();
      }
    }
  });
});

describe('tiny-clip: image embeddings without a pipeline (CLIPVisionModelWithProjection)', { timeout: 60_000 }, () => {
  it('enableJMP({ model }) reduces its vision tower: image_embeds [B, 32], last_hidden_state the full grid; keep 1 = plain', async () => {
    const { CLIPVisionModelWithProjection } = (await import('@huggingface/transformers')) as unknown as {
      CLIPVisionModelWithProjection: {
        from_pretrained(p: string, o: Record<string, unknown>): Promise<((i: unknown) => Promise<Record<string, Tensor>>) & { dispose(): Promise<void> }>;
      };
    };
    const vision = await CLIPVisionModelWithProjection.from_pretrained(modelPath('tiny-clip'), { dtype: 'fp32' });
    try {
      const input = { pixel_values: crops(3) };
      const plain = await vision(input);
      const one = await enableJMP({ model: vision } as never, { strategy: 'prune', keep: 1 });
      expect(maxAbsDiff((await vision(input)).image_embeds!.data as Float32Array, plain.image_embeds!.data as Float32Array)).toBe(0);
      await one.dispose();
      const jmp = await enableJMP({ model: vision } as never);
      try {
        const out = await vision(input);
        expect(out.image_embeds!.dims).toEqual([3, 32]);
        expect(out.last_hidden_state!.dims).toEqual([3, 50, 64]);
        expect(maxAbsDiff(out.image_embeds!.data as Float32Array, plain.image_embeds!.data as Float32Array)).toBeGreaterThan(0);
        expect(jmp.stats().lastCall!.blocks.at(-1)!.tokensOut).toBeLessThan(50);
      } finally {
        await jmp.dispose();
      }
    } finally {
      await vision.dispose();
    }
  });
});
