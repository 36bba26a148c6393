import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JmpStateError, calibrateJMP, enableJMP, type CalibrateJMPOptions, type JMPPlan } from '../src/index.js';
import { loadClassifier, logits, maxAbsDiff, pixels, type Classifier } from './helpers.js';

/**
 * calibrateJMP on a pipeline whose JMP handle is off calibrates it as if the handle were not there,
 * and gives the handle back off and working; with the handle on, a JmpStateError says what to do.
 */
describe('calibrateJMP with a JMP handle on the pipeline', { timeout: 120_000 }, () => {
  let vit: Classifier;
  const images = pixels(16, 77);
  const options: CalibrateJMPOptions = { budget: 0.6, taus: [0.5, 0.9], perBlock: false };
  const handleOptions = { strategy: 'merge', keep: 0.7 } as const;
  let plain: Float32Array;
  let reference: JMPPlan;
  beforeAll(async () => {
    vit = await loadClassifier('tiny-vit');
    plain = await logits(vit, images);
    reference = await calibrateJMP(vit, images, options); // no handle
  }, 120_000);
  afterAll(async () => {
    await vit.dispose();
  }, 120_000);

  it('handle off: the plan of the plain pipeline; the handle stays off, and turns on and off as before', async () => {
    const jmp = await enableJMP(vit, handleOptions);
    try {
      const reduced = await logits(vit, images);
      expect(maxAbsDiff(reduced, plain)).toBeGreaterThan(0);
      await jmp.disable();
      const calls = jmp.stats().calls;

      const plan = await calibrateJMP(vit, images, options);
      expect(plan).toEqual(reference);

      // back on the pipeline, still off: plain outputs, none of calibrateJMP's calls counted
      expect(jmp.enabled).toBe(false);
      expect(maxAbsDiff(await logits(vit, images), plain)).toBe(0);
      expect(jmp.stats().calls).toBe(calls);
      // still the pipeline's handle: a second enableJMP is refused, as before the calibration
      await expect(enableJMP(vit, handleOptions)).rejects.toSatisfy((e) => JmpStateError.isInstance(e) && /set up \(now off\)/.test((e as Error).message));
      // and it turns on (its own options, not the plan's) and off again
      await jmp.enable();
      expect(maxAbsDiff(await logits(vit, images), reduced)).toBe(0);
      await jmp.disable();
      expect(maxAbsDiff(await logits(vit, images), plain)).toBe(0);
    } finally {
      await jmp.dispose();
    }
    expect(maxAbsDiff(await logits(vit, images), plain)).toBe(0);
  });

  it("handle off: the handle's enable() called during the calibration waits for it", async () => {
    const jmp = await enableJMP(vit, handleOptions);
    try {
      await jmp.disable();
      const order: string[] = [];
      const calibrated = calibrateJMP(vit, images, options).then((plan) => {
        order.push('calibrated');
        return plan;
      });
      const enabled = jmp.enable().then(() => order.push('enabled'));
      const [plan] = await Promise.all([calibrated, enabled]);
      expect(order).toEqual(['calibrated', 'enabled']);
      expect(plan).toEqual(reference);
      expect(jmp.enabled).toBe(true);
    } finally {
      await jmp.dispose();
    }
  });

  it('handle on: a JmpStateError that says to call jmp.disable(), before any forward; the handle stays on', async () => {
    const jmp = await enableJMP(vit, handleOptions);
    try {
      const reduced = await logits(vit, images);
      let forwards = 0;
      const error = await calibrateJMP(vit, images, { ...options, onProgress: () => forwards++ }).catch((e: unknown) => e);
      expect(JmpStateError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/jmp\.disable\(\) first/);
      expect(forwards).toBe(0);
      expect(jmp.enabled).toBe(true);
      expect(maxAbsDiff(await logits(vit, images), reduced)).toBe(0);
    } finally {
      await jmp.dispose();
    }
  });

  it("after the calibration, pipeline.dispose() is seen by the handle (it watches the pipeline's session of then)", async () => {
    const own = await loadClassifier('tiny-vit');
    const jmp = await enableJMP(own, handleOptions);
    await jmp.disable();
    expect(await calibrateJMP(own, images, options)).toEqual(reference);
    await own.dispose();
    await expect(jmp.enable()).rejects.toSatisfy((e) => JmpStateError.isInstance(e) && /pipeline\.dispose\(\)/.test((e as Error).message));
    await expect(enableJMP(own, handleOptions)).rejects.toSatisfy((e) => JmpStateError.isInstance(e) && /disposed/.test((e as Error).message));
    await jmp.dispose();
  });
});
