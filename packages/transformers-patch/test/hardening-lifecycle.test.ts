import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions, createdSessions, liveSessions } from './hardening/sessions.js';
import { check, flushTally, maxDiff, trial } from './hardening/harness.js';
import { checkPlainOrJmp, nextTask, type Settled } from './hardening/calls.js';
import { lifecycleSuite } from './hardening/lifecycle.js';
import { enableJMP, type JMPOptions } from '../src/index.js';
import { loadClassifier, logits, pixels } from './helpers.js';

/**
 * Hardening, lifecycle, on the tiny DeiT with both runners: enabling twice (in a row and at once),
 * enable / disable / dispose / pipeline.dispose() while calls are in flight, calls after dispose,
 * 16 calls in flight at once, on-off churn, and 1 000 calls in a row with RSS measured. Every
 * result is compared with the same input's result from a sequential run (with JMP, or plain);
 * every case checks that the onnxruntime sessions it made are released (no leak).
 */
countSessions();
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const RUNNERS = ['compiled', 'segments'] as const;
type Runner = (typeof RUNNERS)[number];
const MODEL = 'tiny-deit';
const options = (runner: Runner): JMPOptions => ({ strategy: 'merge', keep: 0.7, runner });
const xs = Array.from({ length: 16 }, (_, i) => pixels(2, 100 + i));
let plainRef: Float32Array[] = [];
const jmpRef = {} as Record<Runner, Float32Array[]>;
const load = () => loadClassifier(MODEL);

beforeAll(async () => {
  // Sequential references: each input alone, plain and with JMP (per runner).
  const p = await load();
  plainRef = [];
  for (const x of xs) plainRef.push(await logits(p, x));
  for (const runner of RUNNERS) {
    const jmp = await enableJMP(p, options(runner));
    jmpRef[runner] = [];
    for (const x of xs) jmpRef[runner].push(await logits(p, x));
    await jmp.dispose();
  }
  await p.dispose();
  for (let i = 0; i < xs.length; i++)
    check(maxDiff(plainRef[i]!, jmpRef.compiled[i]!) > 1e-3, 'JMP gives the plain logits: the checks below could not tell them apart');
});
afterAll(() => {
  flushTally('lifecycle');
});

describe.each(RUNNERS)('lifecycle (%s runner)', (runner) => {
  const name = (what: string) => `${what} (${runner})`;
  const { call, checkResult, checkCall, pipelineCase, jmpCase, ...cases } = lifecycleSuite({
    name,
    load,
    options: options(runner),
    run: (p, i) => logits(p, xs[i]!),
    ref: () => ({ plain: plainRef, jmp: jmpRef[runner] }),
  });

  cases.enableTwiceInARow('enableJMP twice in a row: JmpStateError; the first handle keeps working', { strategy: 'prune' }, 0);
  cases.enableTwiceAtOnce('enableJMP twice at once: one handle, one JmpStateError', 1);

  jmpCase('enable() again while on, in a row and twice at once: nothing new is created', 'enable() while on, in a row and at once', async (p, jmp) => {
    const created = createdSessions();
    await jmp.enable();
    await Promise.all([jmp.enable(), jmp.enable()]);
    check(createdSessions() === created, `${createdSessions() - created} sessions created`);
    await checkCall(p, 2, 'jmp', 'after');
    await jmp.dispose();
    return 'correct';
  });

  jmpCase('enable() twice at once after disable(): one set of sessions', 'enable() twice at once after disable()', async (p, jmp) => {
    const live = liveSessions();
    await jmp.disable();
    await Promise.all([jmp.enable(), jmp.enable()]);
    check(liveSessions() === live, `${liveSessions() - live} more sessions alive than with one enable()`);
    await checkCall(p, 3, 'jmp', 'after');
    await jmp.dispose();
    return 'correct';
  });

  cases.disableInFlight('disable() while 4 calls are in flight: they finish with JMP; calls during the switch run plain', { late: 4, after: 8 });

  jmpCase('enable() while 4 plain calls are in flight: they finish plain; calls after it run with JMP', 'enable() during calls in flight', async (p, jmp) => {
    await jmp.disable();
    const early = [0, 1, 2, 3].map((i) => call(p, i));
    const switched = jmp.enable();
    const during = [4, 5].map((i) => call(p, i));
    await switched;
    (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'plain', 'in flight'));
    // Calls made while enable() plans still run plain; the rest run with JMP: either, never an error.
    (await Promise.all(during)).forEach((r, k) => checkPlainOrJmp(r, plainRef[k + 4]!, jmpRef[runner][k + 4]!, k + 4, 'during the switch'));
    await checkCall(p, 6, 'jmp', 'after');
    await jmp.dispose();
    return 'correct';
  });

  pipelineCase('enableJMP while plain calls (made before it) are in flight: they finish plain', 'enableJMP during calls in flight', async (p) => {
    const early = [0, 1, 2, 3].map((i) => call(p, i));
    const jmp = await enableJMP(p, options(runner));
    (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'plain', 'in flight'));
    await checkCall(p, 4, 'jmp', 'after');
    await jmp.dispose();
    return 'correct';
  });

  jmpCase('dispose() while 4 calls are in flight: they finish with JMP; later calls are plain', 'dispose() during calls in flight', async (p, jmp) => {
    const early = [0, 1, 2, 3].map((i) => call(p, i));
    const disposed = jmp.dispose();
    await nextTask();
    const late = [4, 5].map((i) => call(p, i));
    await disposed;
    (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'jmp', 'in flight'));
    (await Promise.all(late)).forEach((r, i) => checkResult(r, i + 4, 'plain', 'during dispose'));
    return 'correct';
  });

  it('pipeline.dispose() while 4 calls are in flight: they finish; everything is released', async () => {
    await trial('lifecycle', name('pipeline.dispose() during calls in flight'), async () => {
      const p = await load();
      const jmp = await enableJMP(p, options(runner));
      const early = [0, 1, 2, 3].map((i) => call(p, i));
      await p.dispose();
      (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'jmp', 'in flight'));
      check(!jmp.enabled, 'the handle is still on');
      return 'correct';
    });
  });

  cases.pipelineDisposed('calls after pipeline.dispose(), enable(), enableJMP: JmpStateError', 'calls after pipeline.dispose()', true, 0);
  cases.pipelineDisposed('pipeline.dispose() while JMP is off: released; later calls are JmpStateErrors', 'pipeline.dispose() with JMP off', false, 0);

  jmpCase('calls after jmp.dispose() are the plain pipeline’s', 'calls after dispose()', async (p, jmp) => {
    await jmp.dispose();
    for (const i of [0, 1]) await checkCall(p, i, 'plain', 'after dispose');
    await jmp.disable(); // no-ops
    await jmp.dispose();
    const again = await enableJMP(p, options(runner)); // a new handle works
    await checkCall(p, 2, 'jmp', 'new handle');
    await again.dispose();
    return 'correct';
  });

  cases.enableAfterDispose('enable() after dispose(): JmpStateError', 0);
  cases.atOnce('16 calls in flight at once: each the sequential result of its input', '16 calls in flight at once', 16, 32);

  jmpCase(
    '16 calls in flight while disable() and enable() run: each plain or JMP, never an error',
    '16 calls in flight across disable() / enable()',
    async (p, jmp) => {
      const calls: Promise<Settled<Float32Array>>[] = [];
      const switches: Promise<void>[] = [];
      for (let i = 0; i < 16; i++) {
        calls.push(call(p, i));
        if (i === 4) switches.push(jmp.disable());
        if (i === 10) switches.push(jmp.enable());
        if (i % 3 === 0) await nextTask();
      }
      await Promise.all(switches);
      (await Promise.all(calls)).forEach((r, i) => checkPlainOrJmp(r, plainRef[i]!, jmpRef[runner][i]!, i, 'across the switches'));
      check(jmp.enabled, 'not on after enable()');
      await checkCall(p, 0, 'jmp', 'after');
      await jmp.dispose();
      return 'correct';
    },
  );

  cases.onOff('disable() / enable() 20 times: no session left behind', 'disable() / enable() 20 times', 20, 16);

  it('1 000 calls in a row: RSS flat (own process, tiny DeiT, batch 1)', async () => {
    await trial(
      'lifecycle',
      name('1 000 calls in a row'),
      async () => {
        // The memory bench's child mode: 50 warm-up calls, then RSS after GC before and after 1 000 calls.
        const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
        const r = spawnSync(
          process.execPath,
          ['--expose-gc', '--conditions=source', '--import', 'tsx', 'bench/memory.bench.ts', '--child', `jmp:${MODEL}:1000`, '--runner', runner],
          {
            cwd: dir,
            encoding: 'utf8',
            timeout: 110_000,
          },
        );
        check(r.status === 0, `the child failed: ${r.stderr.slice(-500)}`);
        const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rssAfterWarmupMB: number; rssEndMB: number; rssEveryHundredMB: number[] };
        const growth = m.rssEndMB - m.rssAfterWarmupMB;
        const secondHalf = m.rssEveryHundredMB[9]! - m.rssEveryHundredMB[4]!;
        const mb = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)} MB`;
        const detail = `RSS ${m.rssAfterWarmupMB.toFixed(1)} MB after 50 calls, ${m.rssEndMB.toFixed(1)} MB after 1 000 (${mb(growth)}; calls 500 → 1 000: ${mb(secondHalf)})`;
        console.log(`[hardening] ${runner}: ${detail}`);
        // A leak grows linearly: 16 KiB per call would add 8 MB over the second 500 calls. The
        // allocator's warm-up (segments: no CPU arena) levels off within the first few hundred
        // calls, in steps of a few MB.
        check(secondHalf < 8 && growth < 64, `leak? ${detail}`);
        return { outcome: 'correct', detail };
      },
      { timeoutMs: 115_000, leakCheck: false },
    );
  });
});
