// Timing in the page: every function warmed up, then timed in rounds that alternate the order, so
// that the pipelines compared see the same conditions (thermal state, other tabs, GC).

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Pause before each timed call, as in the Node benchmark (src/timing.ts): onnxruntime's threads
 * spin for a while after a run, and with two sessions those of the one that just ran would take
 * the cores from the other.
 */
const SETTLE_MS = 30;

/** Milliseconds per call of each function: `runs` each after `warmups` untimed calls. */
export async function timeAlternating(fns: readonly (() => Promise<unknown>)[], options: { warmups: number; runs: number }): Promise<number[][]> {
  for (let w = 0; w < options.warmups; w++) for (const fn of fns) await fn();
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < options.runs; r++) {
    const order = fns.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const t0 = performance.now();
      await fns[i]!();
      times[i]!.push(performance.now() - t0);
    }
  }
  return times;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}
