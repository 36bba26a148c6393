import { it } from 'vitest';
import { JmpStateError, enableJMP, type JMPHandle, type JMPOptions } from '../../src/index.js';
import { checkPlainOrJmp, checkSequential, nextTask, settle, withPipeline, type Settled } from './calls.js';
import { check, trial, typedError, type Outcome } from './harness.js';
import { createdSessions, liveSessions } from './sessions.js';

/**
 * The lifecycle cases of a pipeline (hardening-lifecycle: the tiny DeiT per runner;
 * hardening-architectures: CLIP, SigLIP, DINOv2): the case kinds, and the cases both suites run.
 * Every result is compared with the same input's sequential result (`ref`), bit for bit.
 */
export interface LifecycleSubject<P> {
  /** The case's name in the tally. */
  name(what: string): string;
  /** A fresh pipeline. */
  load(): Promise<P>;
  /** The JMP options the cases enable. */
  options: JMPOptions;
  /** The pipeline's outputs for input i, flattened. */
  run(p: P, i: number): Promise<Float32Array>;
  /** The sequential results of every input, plain and with `options`. */
  ref(): { plain: Float32Array[]; jmp: Float32Array[] };
}

export type Kind = 'plain' | 'jmp';

export function lifecycleSuite<P extends { dispose(): Promise<void> }>(s: LifecycleSubject<P>) {
  const call = (p: P, i: number) => settle(s.run(p, i));
  /** Result i is the sequential `kind` result of input i, bit for bit. */
  const checkResult = (r: Settled<Float32Array>, i: number, kind: Kind, what: string) => checkSequential(r, s.ref()[kind][i]!, i, kind, what);
  /** A call on input i now, checked with {@link checkResult}. */
  const checkCall = async (p: P, i: number, kind: Kind, what: string) => checkResult(await call(p, i), i, kind, what);

  /** A case on a fresh pipeline ({@link withPipeline}). */
  const pipelineCase = (title: string, what: string, run: (p: P) => Promise<Outcome>) =>
    it(title, () => trial('lifecycle', s.name(what), () => withPipeline(s.load, run)));
  /** A case on a fresh pipeline with JMP on: `run` gets the pipeline and the handle. */
  const jmpCase = (title: string, what: string, run: (p: P, jmp: JMPHandle) => Promise<Outcome>) =>
    pipelineCase(title, what, async (p) => run(p, await enableJMP(p as never, s.options)));

  return {
    call,
    checkResult,
    checkCall,
    pipelineCase,
    jmpCase,

    /** enable() after dispose(): a JmpStateError; input i then runs plain. */
    enableAfterDispose: (title: string, i: number) =>
      jmpCase(title, 'enable() after dispose()', async (p, jmp) => {
        await jmp.dispose();
        await typedError(() => jmp.enable(), JmpStateError);
        await checkCall(p, i, 'plain', 'after');
        return 'typed';
      }),

    /** enableJMP again (`second`) while JMP is on: a JmpStateError that creates no session; the first handle keeps working (input i). */
    enableTwiceInARow: (title: string, second: JMPOptions, i: number) =>
      jmpCase(title, 'enableJMP twice in a row', async (p, jmp) => {
        const created = createdSessions();
        await typedError(() => enableJMP(p as never, second), JmpStateError);
        check(createdSessions() === created, 'the second enableJMP created sessions');
        await checkCall(p, i, 'jmp', 'first handle');
        await jmp.dispose();
        return 'typed';
      }),

    /** enableJMP twice at once: one handle and one JmpStateError; input i runs with JMP, then plain after dispose(). */
    enableTwiceAtOnce: (title: string, i: number) =>
      pipelineCase(title, 'enableJMP twice at once', async (p) => {
        const both = await Promise.allSettled([enableJMP(p as never, s.options), enableJMP(p as never, s.options)]);
        const handles = both.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<JMPHandle>).value);
        const errors = both.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
        check(handles.length === 1 && errors.length === 1, `${handles.length} handles, ${errors.length} errors`);
        await typedError(() => Promise.reject(errors[0]), JmpStateError);
        await checkCall(p, i, 'jmp', 'the handle');
        await handles[0]!.dispose();
        await checkCall(p, i, 'plain', 'after dispose');
        return 'typed';
      }),

    /**
     * pipeline.dispose() with JMP on or off: after it a call (input i) and enable() are
     * JmpStateErrors, the handle is off, and with JMP on enableJMP is a JmpStateError too;
     * disable() and dispose() are no-ops.
     */
    pipelineDisposed: (title: string, what: string, on: boolean, i: number) =>
      it(title, () =>
        trial('lifecycle', s.name(what), async () => {
          const p = await s.load();
          const jmp = await enableJMP(p as never, s.options);
          if (!on) await jmp.disable();
          await p.dispose();
          check(!jmp.enabled, 'the handle is still on');
          await typedError(() => s.run(p, i), JmpStateError);
          await typedError(() => jmp.enable(), JmpStateError);
          if (on) await typedError(() => enableJMP(p as never, s.options), JmpStateError);
          await jmp.disable();
          await jmp.dispose();
          await jmp.dispose();
          return 'typed';
        }),
      ),

    /**
     * disable() while inputs 0 … 3 are in flight: they finish with JMP — or, where the pipeline
     * `preprocesses` (the call may still be in the processor when disable() begins), with JMP or
     * plain, never an error; the `late` calls made during the switch (inputs 4, 5, …) run plain.
     * With `after`: the stats count the 4 calls with JMP, and input `after` then runs plain.
     */
    disableInFlight: (title: string, { late, preprocesses = false, after }: { late: number; preprocesses?: boolean; after?: number }) =>
      jmpCase(title, 'disable() during calls in flight', async (p, jmp) => {
        const early = [0, 1, 2, 3].map((i) => call(p, i));
        const switched = jmp.disable();
        await nextTask();
        const during = Array.from({ length: late }, (_, k) => call(p, 4 + k));
        await switched;
        for (const [i, r] of (await Promise.all(early)).entries()) {
          if (!preprocesses) checkResult(r, i, 'jmp', 'in flight');
          else checkPlainOrJmp(r, s.ref().plain[i]!, s.ref().jmp[i]!, i, 'in flight');
        }
        (await Promise.all(during)).forEach((r, k) => checkResult(r, k + 4, 'plain', 'during the switch'));
        if (after !== undefined) {
          check(jmp.stats().calls === 4, `${jmp.stats().calls} calls ran with JMP`);
          await checkCall(p, after, 'plain', 'after');
        }
        await jmp.dispose();
        return 'correct';
      }),

    /** The first n inputs at once, each its sequential JMP result; the stats count n calls (and `images` images, when given). */
    atOnce: (title: string, what: string, n: number, images?: number) =>
      jmpCase(title, what, async (p, jmp) => {
        const results = await Promise.all(Array.from({ length: n }, (_, i) => call(p, i)));
        results.forEach((r, i) => checkResult(r, i, 'jmp', `${n} at once`));
        const stats = jmp.stats();
        check(stats.calls === n && (images === undefined || stats.images === images), `stats: ${stats.calls} calls, ${stats.images} images`);
        await jmp.dispose();
        return 'correct';
      }),

    /** disable() / enable() `times` times, each followed by a call (the inputs in turn, of `inputs`); no more sessions alive after a cycle than before. */
    onOff: (title: string, what: string, times: number, inputs: number) =>
      jmpCase(title, what, async (p, jmp) => {
        const live = liveSessions();
        for (let k = 0; k < times; k++) {
          await jmp.disable();
          await checkCall(p, k % inputs, 'plain', `off ${k}`);
          await jmp.enable();
          await checkCall(p, k % inputs, 'jmp', `on ${k}`);
          check(liveSessions() === live, `cycle ${k}: ${liveSessions() - live} more sessions alive`);
        }
        await jmp.dispose();
        return 'correct';
      }),
  };
}
