import type { Tensor } from '@huggingface/transformers';
import type { Classifier } from './classifier.js';
import { interrupt, InterruptedError } from './progress.js';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Pause before each timed forward. onnxruntime's CPU thread pool spins for a while after a run; with
 * two sessions in one process (the plain and the patched pipeline), the threads of the one that just
 * ran keep spinning on the cores the other needs. On 2 cores that doubled the batch-1 time of both
 * (plain DeiT-S 52 ms alternating against 25 ms alone). A user's pipeline runs one session at a time,
 * so each forward is timed after the other session's threads have gone back to sleep.
 */
export const SETTLE_MS = 30;
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, SETTLE_MS));

/** Milliseconds of one forward of the pipeline's model (after {@link SETTLE_MS} of quiet). */
export async function timedForward(c: Classifier, x: Tensor): Promise<number> {
  await settle();
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

/**
 * {@link alternatingRounds} for several pairs at once: each round times every pair's plain then
 * patched forward, starting one pair later than the round before, so that no pair always runs
 * first. Returns each pair's times, `[plainMs, patchedMs]`, in the pairs' order.
 */
export async function rotatingRounds(pairs: readonly (readonly [Classifier, Classifier])[], x: Tensor, runs: number): Promise<[number[], number[]][]> {
  for (const [plain, patched] of pairs) {
    await timedForward(plain, x);
    await timedForward(patched, x);
  }
  const times = pairs.map((): [number[], number[]] => [[], []]);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < pairs.length; k++) {
      if (interrupt.requested) throw new InterruptedError();
      const i = (r + k) % pairs.length;
      const [plain, patched] = pairs[i]!;
      times[i]![0].push(await timedForward(plain, x));
      times[i]![1].push(await timedForward(patched, x));
    }
  }
  return times;
}
