import { check, maxDiff, type Outcome } from './harness.js';

/**
 * The hardening suites' calls: pipelines loaded for one case, calls started at once and settled,
 * and their results checked against the same inputs' sequential results.
 */

/** A call's value, or the error it threw (so that calls started at once can all be awaited). */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** The error of a settled call, for messages ('' where it returned). */
export const failure = (r: Settled<unknown>): string => (r.ok ? '' : String(r.error));

/** Resolves on the next task: calls started before it have begun. */
export const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs a case on a fresh pipeline, disposed after it (so that the leak check sees all its sessions). */
export async function withPipeline<P extends { dispose(): Promise<void> }>(load: () => Promise<P>, run: (p: P) => Promise<Outcome>): Promise<Outcome> {
  const p = await load();
  try {
    return await run(p);
  } finally {
    await p.dispose().catch(() => undefined);
  }
}

/** Call i returned `expected`, the sequential `kind` result of its input, bit for bit. */
export function checkSequential(r: Settled<Float32Array>, expected: Float32Array, i: number, kind: 'plain' | 'jmp', what: string): void {
  check(r.ok, `${what}: call ${i} failed: ${failure(r)}`);
  const d = maxDiff(r.value, expected);
  check(d === 0, `${what}: call ${i} is not the sequential ${kind} result (${d})`);
}

/** Call i returned the sequential plain or the sequential JMP result of its input (bit for bit), never an error. */
export function checkPlainOrJmp(r: Settled<Float32Array>, plain: Float32Array, jmp: Float32Array, i: number, what: string): void {
  check(r.ok, `${what}: call ${i} failed: ${failure(r)}`);
  check(maxDiff(r.value, plain) === 0 || maxDiff(r.value, jmp) === 0, `${what}: call ${i} is neither the plain nor the JMP result`);
}

/** The parts end to end. */
export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
