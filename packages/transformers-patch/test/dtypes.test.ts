import { describe, expect, it } from 'vitest';
import { enableJMP } from '../src/index.js';
import { argmaxRows, loadClassifier, logits, pixels } from './helpers.js';

/**
 * fp16 and q8 files with reduction: both runners run them and agree on token counts, on the top-1
 * class where it is clear and on the logits within a dtype tolerance (fp16 reorders near-equal
 * importances, so the selections may differ slightly between the runners' float16 and float32
 * arithmetic): 0.05·(1 + max|logit|).
 */
describe.each(['tiny-vit', 'tiny-deit'])('%s: fp16 and q8 with reduction', (name) => {
  it.each(['fp16', 'q8'] as const)('%s: compiled and segments agree', async (dtype) => {
    const classifier = await loadClassifier(name, dtype);
    const input = pixels(4, 31);
    const out: Record<string, Float32Array> = {};
    const tokens: Record<string, number[]> = {};
    try {
      for (const runner of ['compiled', 'segments'] as const) {
        const jmp = await enableJMP(classifier, { strategy: 'merge', keep: 0.7, runner });
        out[runner] = await logits(classifier, input);
        tokens[runner] = jmp.stats().lastCall!.blocks.map((b) => b.tokensIn);
        await jmp.dispose();
      }
    } finally {
      await classifier.dispose();
    }
    expect(tokens.compiled).toEqual(tokens.segments);
    const a = out.compiled!;
    const b = out.segments!;
    expect(a.every(Number.isFinite)).toBe(true);
    const scale = 1 + Math.max(...Array.from(b, Math.abs));
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThanOrEqual(0.05 * scale);
    // the same top-1 class, except where the two best classes are a near-tie (within the tolerance
    // above): there the runners' different rounding (re-quantized activations with q8) may swap them
    const top = argmaxRows(b, 10);
    const clear = top.map((c, r) => Array.from(b.subarray(r * 10, r * 10 + 10)).every((v, j) => j === c || b[r * 10 + c]! - v > 0.05 * scale));
    expect(clear.filter(Boolean).length).toBeGreaterThan(0);
    expect(argmaxRows(a, 10).filter((_, r) => clear[r])).toEqual(top.filter((_, r) => clear[r]));
  });
});
