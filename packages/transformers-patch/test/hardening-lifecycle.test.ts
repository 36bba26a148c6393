import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions, createdSessions, liveSessions } from './hardening/sessions.js';
import { check, flushTally, maxDiff, trial, typedError, type Outcome } from './hardening/harness.js';
import { JmpStateError, enableJMP, type JMPHandle, type JMPOptions } from '../src/index.js';
import { loadClassifier, logits, pixels, type Classifier } from './helpers.js';

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

beforeAll(async () => {
  // Sequential references: each input alone, plain and with JMP (per runner).
  const p = await loadClassifier(MODEL);
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

type Settled = { ok: true; value: Float32Array } | { ok: false; error: unknown };
const settle = (p: Promise<Float32Array>): Promise<Settled> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Result i equals the sequential result `ref` of the same input (bit for bit), or else fails the case. */
function checkResult(r: Settled, i: number, ref: 'plain' | 'jmp', runner: Runner, what: string): void {
  check(r.ok, `${what}: call ${i} failed: ${r.ok ? '' : String((r as { error: unknown }).error)}`);
  const expected = ref === 'plain' ? plainRef[i]! : jmpRef[runner][i]!;
  const d = maxDiff(r.value, expected);
  check(d === 0, `${what}: call ${i} is not the sequential ${ref} result (${d})`);
}

/** A fresh pipeline for a case, disposed after it (so that the leak check sees all its sessions). */
async function withPipeline(run: (p: Classifier) => Promise<Outcome>): Promise<Outcome> {
  const p = await loadClassifier(MODEL);
  try {
    return await run(p);
  } finally {
    await p.dispose().catch(() => undefined);
  }
}

describe.each(RUNNERS)('lifecycle (%s runner)', (runner) => {
  const name = (what: string) => `${what} (${runner})`;

  it('enableJMP twice in a row: JmpStateError; the first handle keeps working', async () => {
    await trial('lifecycle', name('enableJMP twice in a row'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        await typedError(() => enableJMP(p, { strategy: 'prune' }), JmpStateError);
        checkResult(await settle(logits(p, xs[0]!)), 0, 'jmp', runner, 'first handle');
        await jmp.dispose();
        return 'typed';
      }),
    );
  });

  it('enableJMP twice at once: one handle, one JmpStateError', async () => {
    await trial('lifecycle', name('enableJMP twice at once'), () =>
      withPipeline(async (p) => {
        const both = await Promise.allSettled([enableJMP(p, options(runner)), enableJMP(p, options(runner))]);
        const handles = both.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<JMPHandle>).value);
        const errors = both.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
        check(handles.length === 1 && errors.length === 1, `${handles.length} handles, ${errors.length} errors`);
        await typedError(() => Promise.reject(errors[0]), JmpStateError);
        checkResult(await settle(logits(p, xs[1]!)), 1, 'jmp', runner, 'the handle');
        await handles[0]!.dispose();
        checkResult(await settle(logits(p, xs[1]!)), 1, 'plain', runner, 'after dispose');
        return 'typed';
      }),
    );
  });

  it('enable() again while on, in a row and twice at once: nothing new is created', async () => {
    await trial('lifecycle', name('enable() while on, in a row and at once'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const created = createdSessions();
        await jmp.enable();
        await Promise.all([jmp.enable(), jmp.enable()]);
        check(createdSessions() === created, `${createdSessions() - created} sessions created`);
        checkResult(await settle(logits(p, xs[2]!)), 2, 'jmp', runner, 'after');
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('enable() twice at once after disable(): one set of sessions', async () => {
    await trial('lifecycle', name('enable() twice at once after disable()'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const live = liveSessions();
        await jmp.disable();
        await Promise.all([jmp.enable(), jmp.enable()]);
        check(liveSessions() === live, `${liveSessions() - live} more sessions alive than with one enable()`);
        checkResult(await settle(logits(p, xs[3]!)), 3, 'jmp', runner, 'after');
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('disable() while 4 calls are in flight: they finish with JMP; calls during the switch run plain', async () => {
    await trial('lifecycle', name('disable() during calls in flight'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const early = [0, 1, 2, 3].map((i) => settle(logits(p, xs[i]!)));
        const switched = jmp.disable();
        await nextTask();
        const late = [4, 5, 6, 7].map((i) => settle(logits(p, xs[i]!)));
        await switched;
        (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'jmp', runner, 'in flight'));
        (await Promise.all(late)).forEach((r, i) => checkResult(r, i + 4, 'plain', runner, 'during the switch'));
        check(jmp.stats().calls === 4, `${jmp.stats().calls} calls ran with JMP`);
        checkResult(await settle(logits(p, xs[8]!)), 8, 'plain', runner, 'after');
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('enable() while 4 plain calls are in flight: they finish plain; calls after it run with JMP', async () => {
    await trial('lifecycle', name('enable() during calls in flight'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        await jmp.disable();
        const early = [0, 1, 2, 3].map((i) => settle(logits(p, xs[i]!)));
        const switched = jmp.enable();
        const during = [4, 5].map((i) => settle(logits(p, xs[i]!)));
        await switched;
        (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'plain', runner, 'in flight'));
        // Calls made while enable() plans still run plain; the rest run with JMP: either, never an error.
        for (const [k, r] of (await Promise.all(during)).entries()) {
          check(r.ok, `during the switch: ${r.ok ? '' : String((r as { error: unknown }).error)}`);
          const i = k + 4;
          check(maxDiff(r.value, plainRef[i]!) === 0 || maxDiff(r.value, jmpRef[runner][i]!) === 0, `during the switch: call ${i} is neither result`);
        }
        checkResult(await settle(logits(p, xs[6]!)), 6, 'jmp', runner, 'after');
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('enableJMP while plain calls (made before it) are in flight: they finish plain', async () => {
    await trial('lifecycle', name('enableJMP during calls in flight'), () =>
      withPipeline(async (p) => {
        const early = [0, 1, 2, 3].map((i) => settle(logits(p, xs[i]!)));
        const jmp = await enableJMP(p, options(runner));
        (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'plain', runner, 'in flight'));
        checkResult(await settle(logits(p, xs[4]!)), 4, 'jmp', runner, 'after');
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('dispose() while 4 calls are in flight: they finish with JMP; later calls are plain', async () => {
    await trial('lifecycle', name('dispose() during calls in flight'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const early = [0, 1, 2, 3].map((i) => settle(logits(p, xs[i]!)));
        const disposed = jmp.dispose();
        await nextTask();
        const late = [4, 5].map((i) => settle(logits(p, xs[i]!)));
        await disposed;
        (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'jmp', runner, 'in flight'));
        (await Promise.all(late)).forEach((r, i) => checkResult(r, i + 4, 'plain', runner, 'during dispose'));
        return 'correct';
      }),
    );
  });

  it('pipeline.dispose() while 4 calls are in flight: they finish; everything is released', async () => {
    await trial('lifecycle', name('pipeline.dispose() during calls in flight'), async () => {
      const p = await loadClassifier(MODEL);
      const jmp = await enableJMP(p, options(runner));
      const early = [0, 1, 2, 3].map((i) => settle(logits(p, xs[i]!)));
      await p.dispose();
      (await Promise.all(early)).forEach((r, i) => checkResult(r, i, 'jmp', runner, 'in flight'));
      check(!jmp.enabled, 'the handle is still on');
      return 'correct';
    });
  });

  it('calls after pipeline.dispose(), enable(), enableJMP: JmpStateError', async () => {
    await trial('lifecycle', name('calls after pipeline.dispose()'), async () => {
      const p = await loadClassifier(MODEL);
      const jmp = await enableJMP(p, options(runner));
      await p.dispose();
      await typedError(() => logits(p, xs[0]!), JmpStateError);
      await typedError(() => jmp.enable(), JmpStateError);
      await typedError(() => enableJMP(p, options(runner)), JmpStateError);
      await jmp.disable();
      await jmp.dispose();
      return 'typed';
    });
  });

  it('pipeline.dispose() while JMP is off: released; later calls are JmpStateErrors', async () => {
    await trial('lifecycle', name('pipeline.dispose() with JMP off'), async () => {
      const p = await loadClassifier(MODEL);
      const jmp = await enableJMP(p, options(runner));
      await jmp.disable();
      await p.dispose();
      await typedError(() => logits(p, xs[0]!), JmpStateError);
      await typedError(() => jmp.enable(), JmpStateError);
      return 'typed';
    });
  });

  it('calls after jmp.dispose() are the plain pipeline’s', async () => {
    await trial('lifecycle', name('calls after dispose()'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        await jmp.dispose();
        for (const i of [0, 1]) checkResult(await settle(logits(p, xs[i]!)), i, 'plain', runner, 'after dispose');
        await jmp.disable(); // no-ops
        await jmp.dispose();
        const again = await enableJMP(p, options(runner)); // a new handle works
        checkResult(await settle(logits(p, xs[2]!)), 2, 'jmp', runner, 'new handle');
        await again.dispose();
        return 'correct';
      }),
    );
  });

  it('enable() after dispose(): JmpStateError', async () => {
    await trial('lifecycle', name('enable() after dispose()'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        await jmp.dispose();
        await typedError(() => jmp.enable(), JmpStateError);
        checkResult(await settle(logits(p, xs[0]!)), 0, 'plain', runner, 'after');
        return 'typed';
      }),
    );
  });

  it('16 calls in flight at once: each the sequential result of its input', async () => {
    await trial('lifecycle', name('16 calls in flight at once'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const results = await Promise.all(xs.map((x) => settle(logits(p, x))));
        results.forEach((r, i) => checkResult(r, i, 'jmp', runner, '16 at once'));
        check(jmp.stats().calls === 16 && jmp.stats().images === 32, `stats: ${jmp.stats().calls} calls`);
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('16 calls in flight while disable() and enable() run: each plain or JMP, never an error', async () => {
    await trial('lifecycle', name('16 calls in flight across disable() / enable()'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const calls: Promise<Settled>[] = [];
        const switches: Promise<void>[] = [];
        for (let i = 0; i < 16; i++) {
          calls.push(settle(logits(p, xs[i]!)));
          if (i === 4) switches.push(jmp.disable());
          if (i === 10) switches.push(jmp.enable());
          if (i % 3 === 0) await nextTask();
        }
        await Promise.all(switches);
        for (const [i, r] of (await Promise.all(calls)).entries()) {
          check(r.ok, `call ${i} failed: ${r.ok ? '' : String((r as { error: unknown }).error)}`);
          check(maxDiff(r.value, plainRef[i]!) === 0 || maxDiff(r.value, jmpRef[runner][i]!) === 0, `call ${i} is neither the plain nor the JMP result`);
        }
        check(jmp.enabled, 'not on after enable()');
        checkResult(await settle(logits(p, xs[0]!)), 0, 'jmp', runner, 'after');
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('disable() / enable() 20 times: no session left behind', async () => {
    await trial('lifecycle', name('disable() / enable() 20 times'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, options(runner));
        const live = liveSessions();
        for (let k = 0; k < 20; k++) {
          await jmp.disable();
          checkResult(await settle(logits(p, xs[k % 16]!)), k % 16, 'plain', runner, `off ${k}`);
          await jmp.enable();
          checkResult(await settle(logits(p, xs[k % 16]!)), k % 16, 'jmp', runner, `on ${k}`);
          check(liveSessions() === live, `cycle ${k}: ${liveSessions() - live} more sessions alive`);
        }
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

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
