import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { JmpError, type JmpArgumentError, type JmpStateError, type UnsupportedModelError } from '../../src/index.js';
import { createdSessions, liveSessions } from './sessions.js';

/**
 * The hardening suite's bookkeeping. Every case is run through {@link trial}, which classifies
 * what happened — a typed error, a documented fallback to the plain pipeline, a correct result,
 * or a failure (an untyped error, or a typed one that only wraps it; a wrong result, a hang,
 * leaked sessions) — records it, and fails the test on a failure. `pnpm hardening`
 * (scripts/hardening.mjs) collects the records of every file (JMP_HARDENING_DIR) and prints the
 * tally. A case that exposes a known bug is an `it.fails` naming it: recorded as failed.
 */
export type Kind = 'models' | 'images' | 'options' | 'plans' | 'calibration' | 'lifecycle' | 'zero-shot';
/** What a case gave. `failed`: crashed (untyped error), hung, leaked or returned a wrong result. */
export type Outcome = 'typed' | 'fallback' | 'correct' | 'failed';

export interface CaseRecord {
  kind: Kind;
  name: string;
  outcome: Outcome;
  detail?: string;
}

const records: CaseRecord[] = [];

export function record(kind: Kind, name: string, outcome: Outcome, detail?: string): void {
  records.push({ kind, name, outcome, ...(detail ? { detail } : {}) });
}

/** Writes this file's records for `pnpm hardening` (only when JMP_HARDENING_DIR is set). */
export function flushTally(file: string): void {
  const dir = process.env.JMP_HARDENING_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${file}.json`), JSON.stringify(records, null, 1));
}

/**
 * A typed error that only wraps an untyped one from inside this package or onnxruntime ("an error
 * while planning (TypeError: …)", "JMP's forward failed inside onnxruntime", onnxruntime failing
 * to load a graph JMP built): typed on the outside, a crash inside. Says which, or null.
 */
export function wrappedCrash(error: unknown): string | null {
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = [
    /found an error while planning \(/,
    /JMP's forward failed inside onnxruntime/,
    /looked for onnxruntime to load the (compiled|segment) model/,
  ].find((r) => r.test(message));
  return wrapped ? `a typed error wrapping a crash: ${message}` : null;
}

/**
 * What a typed error must be: a JmpError, not one wrapping a crash ({@link wrappedCrash}), whose
 * message names what was expected and what was found. Throws the error itself when it is untyped
 * (so that {@link trial} reports it as such).
 */
export function checkTypedError(error: unknown): asserts error is JmpError {
  if (!JmpError.isInstance(error)) throw error;
  const crash = wrappedCrash(error);
  check(crash === null, crash ?? '');
  check(/(expected|looked for) .+, found .+/.test(error.message), `the message does not say what was expected and found: ${error.message}`);
}

/** A check of a case that did not hold (a wrong result, an untyped error). */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/**
 * Runs one case: `run` returns the outcome it observed, with a detail to report if it likes
 * (throwing {@link CheckFailed} when a check does not hold). Untyped errors, hangs (no answer within `timeoutMs`) and sessions left alive
 * (`leakCheck`, the default: onnxruntime sessions alive after the case = before it) are failures.
 */
export async function trial(
  kind: Kind,
  name: string,
  run: () => Promise<Outcome | { outcome: Outcome; detail: string }>,
  { timeoutMs = 60_000, leakCheck = true }: { timeoutMs?: number; leakCheck?: boolean } = {},
): Promise<Outcome> {
  const live = liveSessions();
  let outcome: Outcome;
  let detail: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckFailed(`hang: no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const result = await Promise.race([run(), hang]);
    outcome = typeof result === 'string' ? result : result.outcome;
    if (typeof result !== 'string') detail = result.detail;
    if (leakCheck && liveSessions() !== live) {
      outcome = 'failed';
      detail = `leak: ${liveSessions() - live} onnxruntime session(s) left alive`;
    }
  } catch (e) {
    outcome = 'failed';
    detail =
      e instanceof CheckFailed
        ? e.message
        : JmpError.isInstance(e)
          ? `unexpected ${e.name}: ${e.message}`
          : `untyped error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  } finally {
    clearTimeout(timer);
  }
  record(kind, name, outcome, detail);
  expect(outcome, detail ?? name).not.toBe('failed');
  return outcome;
}

type ErrorClass = typeof JmpArgumentError | typeof UnsupportedModelError | typeof JmpStateError;

/**
 * What a call threw, which must be a typed error (of `cls` when given) whose message names what
 * was expected and what was found. Returns the error; a result or an untyped error fails the case.
 */
export async function typedError(call: () => unknown, cls?: ErrorClass): Promise<JmpError> {
  let error: unknown;
  try {
    const result = (await call()) as { dispose?: unknown } | undefined;
    // An unexpected handle is disposed, so that a failing case leaves the pipeline to the next one.
    if (typeof result?.dispose === 'function') await (result.dispose as () => Promise<void>)();
  } catch (e) {
    error = e;
  }
  check(error !== undefined, `expected a typed error${cls ? ` (${cls.name})` : ''}, got a result`);
  checkTypedError(error); // untyped: thrown again, reported as such by trial()
  check(!cls || cls.isInstance(error), `expected ${cls?.name}, got ${error.name}: ${error.message}`);
  return error;
}

/** What a pipeline's model looks like from outside, to check that a failed call changed nothing. */
export interface PipelineState {
  session: unknown;
  forward: PropertyDescriptor | undefined;
  created: number;
}

export function pipelineState(pipe: { model: unknown }): PipelineState {
  const model = pipe.model as { sessions: { model: unknown } };
  return { session: model.sessions.model, forward: Object.getOwnPropertyDescriptor(model, 'forward'), created: createdSessions() };
}

/** The pipeline is as it was: same session, same forward, no session created meanwhile. */
export function checkUntouched(pipe: { model: unknown }, before: PipelineState): void {
  const now = pipelineState(pipe);
  check(now.session === before.session, 'the pipeline has another session');
  check(now.forward?.value === before.forward?.value, "the pipeline's forward changed");
  check(now.created === before.created, `${now.created - before.created} onnxruntime session(s) were created before the error`);
}

/** Largest |a − b|, NaN-aware (a NaN anywhere gives Infinity). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Pipeline outputs (one list of {label, score} per image) as numbers per label, for comparisons. */
export type Scores = { label: string; score: number }[][];

export function normalizeOutput(out: unknown): Scores {
  const list = Array.isArray((out as unknown[])[0]) ? out : [out]; // an array of images gives one list per image
  return (list as { label: string; score: number }[][]).map((image) => [...image].sort((x, y) => x.label.localeCompare(y.label)));
}

/** Same labels per image and scores within `tolerance`. */
export function checkScores(a: Scores, b: Scores, tolerance: number, what: string): void {
  check(a.length === b.length, `${what}: ${a.length} vs ${b.length} images`);
  a.forEach((image, i) => {
    const other = b[i]!;
    check(image.length === other.length && image.every((r, j) => r.label === other[j]!.label), `${what}: image ${i} has other labels`);
    const d = maxDiff(
      image.map((r) => r.score),
      other.map((r) => r.score),
    );
    check(d <= tolerance, `${what}: image ${i} scores differ by ${d} (> ${tolerance})`);
  });
}
