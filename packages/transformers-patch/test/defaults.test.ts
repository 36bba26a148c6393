import { describe, expect, it } from 'vitest';
import { enableJMP } from '../src/index.js';
import { RawImage, type Tensor } from '@huggingface/transformers';
import { xorshift32Bytes } from '@jmpjs/fixtures';
import { loadClassifier, logits, maxAbsDiff } from './helpers.js';

/**
 * `enableJMP(pipe)` and `enableJMP(pipe, { budget })` with no other option, on every ViT-family
 * fixture: the plan lands within 1 % of the budget (or, for the default budget only, the closest
 * plan the blocks can reach, with a warning), and the pipeline runs with fewer tokens.
 */
const FIXTURES = ['tiny-vit', 'tiny-deit', 'tiny-vit-3', 'fmnist-deit', 'fmnist-vit'] as const;

describe.each(FIXTURES)('%s', (name) => {
  it.each([undefined, 0.5])('budget %s: planned, run, measured', async (budget) => {
    const classifier = await loadClassifier(name);
    const warnings: string[] = [];
    // a budget the shallow model's default blocks cannot reach must be refused
    const expectsRefusal = name === 'tiny-vit-3' && budget === 0.5;
    let refused = false;
    try {
      // two random images through the model's own processor (the fixtures differ in size and channels)
      const bytes = xorshift32Bytes(3, 2 * 40 * 30 * 3);
      const raw = [0, 1].map((i) => new RawImage(new Uint8ClampedArray(bytes.subarray(i * 3600, (i + 1) * 3600)), 40, 30, 3));
      const input = (await (classifier as unknown as { processor: (im: RawImage[]) => Promise<{ pixel_values: Tensor }> }).processor(raw)).pixel_values;
      const plain = await logits(classifier, input);
      const jmp = await enableJMP(classifier, budget === undefined ? { warn: (m) => warnings.push(m) } : { budget, warn: (m) => warnings.push(m) });
      try {
        const info = jmp.info!;
        const share = info.gmacs.planned / info.gmacs.plain;
        const target = budget ?? 0.65;
        if (warnings.length === 0) expect(Math.abs(share - target)).toBeLessThanOrEqual(0.01);
        else {
          // only the default budget falls back, and only where the blocks cannot reach it
          expect(budget).toBeUndefined();
          expect(warnings[0]).toMatch(/default budget \(0\.65 of the plain GMACs\) is out of reach/);
          expect(share).toBeGreaterThan(target);
        }
        const out = await logits(classifier, input);
        expect(out.every(Number.isFinite)).toBe(true);
        expect(maxAbsDiff(out, plain)).toBeGreaterThan(0);
        const stats = jmp.stats();
        expect(stats.meanGmacsPerImage).toBeCloseTo(info.gmacs.planned, 12);
        expect(stats.lastCall!.blocks.some((b) => b.tokensOut < b.tokensIn)).toBe(true);
      } finally {
        await jmp.dispose();
      }
    } catch (e) {
      // a budget the shallow model's default blocks cannot reach is a typed error naming it
      if (!expectsRefusal) throw e;
      expect((e as Error).message).toMatch(/Invalid options\.budget/);
      refused = true;
    } finally {
      await classifier.dispose();
    }
    expect(refused).toBe(expectsRefusal);
  });
});
