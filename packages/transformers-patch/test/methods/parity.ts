import { Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableJMP, type CallRecord } from '../../src/index.js';
import { jmpReference, loadClassifier, logits, maxAbsDiff, type Classifier, type ReferenceCase } from '../helpers.js';

type Method = 'jmp' | 'tome' | 'evit';

/** The image classifiers with an independent reference, and the runners each is checked through. */
const MODELS = [
  ['tiny-vit', ['compiled', 'segments']],
  ['tiny-deit', ['compiled', 'segments']],
  // DINOv2 (28×28 crops, a head on the class token and the size-weighted mean of the patch tokens):
  // the compiled runner, the one that runs it
  ['tiny-dinov2', ['compiled']],
] as const;

const ofMethod = (method: Method) => (c: ReferenceCase) => (c.options.method ?? 'jmp') === method;

/**
 * One method's parity test: the compiled graph (graph/methods/<method>/) and the segments runner
 * (`@jmpjs/core`'s methods/<method>/ between the graph's pieces) against an independent reference,
 * tooling/fixtures/jmp_reference.py, which runs the PyTorch fixture model block by block with its own
 * JMP / ToMe / EViT step (written from the spec, not from this code) and stores the logits; its cases
 * include the default metric 'hidden' and match 'nearest'. τ values were chosen there away from
 * every σ / m_j. Tolerance: the reference file's (1e-4 on the logits). Then the token sources of both
 * runners (trackSources), which must be the same.
 */
export function parity(method: Method): void {
  describe.each(MODELS)(`%s: ${method}, patched pipeline = independent PyTorch reference`, (name, runners) => {
    const { ref, pixels: pixels4 } = jmpReference(name);
    const { height, width } = ref.inputs;
    let classifier: Classifier;
    beforeAll(async () => {
      classifier = await loadClassifier(name);
    });
    afterAll(async () => {
      await classifier.dispose();
    });

    // Every case through each runner: the compiled graph and the segments.
    const runs = ref.cases.filter(ofMethod(method)).flatMap((c) => runners.map((runner) => [`${c.name} (${runner})`, c, runner] as const));
    it('has cases', () => expect(runs.length).toBeGreaterThan(0));
    it.each(runs)('%s', async (_name, c, runner) => {
      const per = 3 * height * width;
      const input = new Tensor('float32', pixels4.slice(0, c.batch * per), [c.batch, 3, height, width]);
      const jmp = await enableJMP(classifier, { ...c.options, runner });
      expect(jmp.info!.runner).toBe(runner);
      try {
        const out = await logits(classifier, input);
        const call = jmp.stats().lastCall!;
        expect(call.blocks.map((b) => b.tokensIn)).toEqual(c.tokens);
        expect(call.images.map((image) => image.map((r) => r.decision))).toEqual(c.decisions);
        expect(maxAbsDiff(out, c.logits.flat())).toBeLessThanOrEqual(ref.tolerance);
      } finally {
        await jmp.dispose();
      }
    });
  });

  describe.each(['tiny-vit', 'tiny-deit'])(`%s: ${method}, token sources (trackSources) from the compiled graph = from the segments`, (name) => {
    const { ref, pixels } = jmpReference(name);
    const input = new Tensor('float32', pixels, [ref.inputs.batch, 3, 224, 224]);
    let classifier: Classifier;
    beforeAll(async () => {
      classifier = await loadClassifier(name);
    });
    afterAll(async () => {
      await classifier.dispose();
    });

    const cases = ref.cases.filter((c) => c.batch === 4 && ofMethod(method)(c));
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const after: NonNullable<CallRecord['sourcesAfter']>[] = [];
      for (const runner of ['compiled', 'segments'] as const) {
        const jmp = await enableJMP(classifier, { ...c.options, runner, trackSources: true });
        try {
          await logits(classifier, input);
          after.push(jmp.stats().lastCall!.sourcesAfter!);
        } finally {
          await jmp.dispose();
        }
      }
      const [compiled, segments] = after;
      expect(compiled!.map((s) => [s.block, s.tokens])).toEqual(segments!.map((s) => [s.block, s.tokens]));
      expect(compiled!.length).toBe(c.options.blocks!.length);
      compiled!.forEach((s, i) => {
        expect(Array.from(s.sources.assignment), `block ${s.block}`).toEqual(Array.from(segments![i]!.sources.assignment));
        expect(Array.from(s.sources.anchors), `block ${s.block}`).toEqual(Array.from(segments![i]!.sources.anchors));
      });
    });
  });
}
