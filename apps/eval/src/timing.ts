import type { Tensor } from '@huggingface/transformers';
import type { Classifier } from './evaluate.js';
import { interrupt, InterruptedError } from './progress.js';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Milliseconds of one forward of the pipeline's model. */
export async function timedForward(c: Classifier, x: Tensor): Promise<number> {
  const t0 = performance.now();
  await c.model({ pixel_values: x });
  return performance.now() - t0;
}

/**
 * Times a plain and a patched pipeline on the same input in alternating rounds, after one untimed
 * call each, so that both see the same machine load. Ratios of these medians are the only speed
 * comparison worth making on a shared machine.
 */
export async function alternatingRounds(plain: Classifier, patched: Classifier, x: Tensor, runs: number): Promise<{ plainMs: number[]; patchedMs: number[] }> {
  await timedForward(plain, x);
  await timedForward(patched, x);
  const plainMs: number[] = [];
  const patchedMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (interrupt.requested) throw new InterruptedError();
    plainMs.push(await timedForward(plain, x));
    patchedMs.push(await timedForward(patched, x));
  }
  return { plainMs, patchedMs };
}
