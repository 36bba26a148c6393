import { describe, expect, it } from 'vitest';
import { enableJMP } from '../src/index.js';
import { loadClassifier, logits, maxAbsDiff, pixels, type Dtype } from './helpers.js';

/**
 * keep = 1: the segmented model does exactly what the plain one does.
 * Tolerances: fp32 1e-5 (the bound); fp16 and q8 1e-3 (the cut only adds exact fp16↔fp32 casts,
 * but ORT may fuse differently across the cut).
 */
const TOLERANCE: Record<Dtype, number> = { fp32: 1e-5, fp16: 1e-3, q8: 1e-3 };

const cases = ['fp32', 'fp16', 'q8'].flatMap((dtype) =>
  (['compiled', 'segments'] as const).map((runner) => [`${dtype}, ${runner}`, dtype as Dtype, runner] as const),
);

describe.each(['tiny-vit', 'tiny-deit'])('%s: keep = 1 matches the plain pipeline', (name) => {
  it.each(cases)('%s', async (_label, dtype, runner) => {
    const classifier = await loadClassifier(name, dtype);
    const input = pixels(4);
    const plain = await logits(classifier, input);
    const jmp = await enableJMP(classifier, { strategy: 'prune', keep: 1, runner });
    try {
      expect(jmp.enabled).toBe(true);
      const patched = await logits(classifier, input);
      expect(maxAbsDiff(patched, plain)).toBeLessThanOrEqual(TOLERANCE[dtype]);
      const call = jmp.stats().lastCall!;
      // nothing reduced; the last block's MLP on the protected tokens only (not for q8 by default)
      expect(jmp.info!.headOnly).toBe(dtype !== 'q8');
      expect(call.blocks.every((b) => b.tokensIn === b.tokensOut || (b.block === 12 && jmp.info!.headOnly && b.tokensOut === jmp.info!.protectedTokens))).toBe(
        true,
      );
    } finally {
      await jmp.dispose();
    }
    // Disposed: the plain session is back and gives the same logits.
    expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);
    await classifier.dispose();
  });
});
