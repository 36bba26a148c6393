import path from 'node:path';
import { RawImage, Tensor, pipeline } from '@huggingface/transformers';
import { modelPath, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions, createdSessions, liveSessions } from './hardening/sessions.js';
import { check, checkUntouched, flushTally, maxDiff, pipelineState, trial, typedError, type Outcome } from './hardening/harness.js';
import { JmpStateError, UnsupportedModelError, enableJMP, type JMPHandle, type JMPOptions } from '../src/index.js';
import { zeroShotOutputs, type ZeroShot } from './helpers.js';

/**
 * Hardening, lifecycle of the architectures added after the ViT / DeiT suite: CLIP and SigLIP
 * (zero-shot-image-classification and image-feature-extraction) and DINOv2 (image-classification
 * and image-feature-extraction), on the tiny fixtures. Each: enable → run → disable → run → enable
 * again → run → dispose → run, dispose twice, enable() after dispose(), enableJMP twice (in a row
 * and at once), a new handle after dispose(), pipeline.dispose() with JMP on and off (then calls,
 * enable() and enableJMP are JmpStateErrors), disable() while calls are in flight, 8 calls in
 * flight at once, 10 off/on cycles, the segments runner (refused: a typed error, the pipeline
 * untouched) and keep = 1 (the plain outputs within 1e-5).
 *
 * Every result is compared with the same input's result from a sequential run on another
 * pipeline instance (with the default JMP, or plain), bit for bit; every case loads its own
 * pipeline and checks that the onnxruntime sessions it made are all released (no leak).
 */
countSessions();
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

type Pipe = { model: unknown; dispose(): Promise<void> } & ((...args: unknown[]) => Promise<unknown>);

interface Subject {
  name: string;
  load(): Promise<Pipe>;
  /** The pipeline's outputs for input i (0 … 7), flattened. */
  run(p: Pipe, i: number): Promise<Float32Array>;
  /**
   * A call awaits the processor before it reaches the model's forward (the whole pipeline runs): a
   * call started just before disable() may reach the forward after it, and then runs plain.
   */
  preprocesses?: boolean;
}

const sibling = (name: string) => path.join(path.dirname(modelPath('tiny-clip')), name);
const LABELS = ['a photo of a shirt', 'a photo of a bag', 'a photo of a boot'];
/** Seeded pixel values in [−1, 1], [2, 3, 28, 28]. */
const crops = Array.from(
  { length: 8 },
  (_, i) =>
    new Tensor(
      'float32',
      Float32Array.from(xorshift32Bytes(500 + i, 2 * 3 * 28 * 28), (v) => (v / 255 - 0.5) / 0.5),
      [2, 3, 28, 28],
    ),
);
/** Seeded RGB images (the pipeline's processor resizes them). */
const images = Array.from({ length: 8 }, (_, i) =>
  [0, 1].map((k) => new RawImage(new Uint8ClampedArray(xorshift32Bytes(700 + 2 * i + k, 36 * 30 * 3)), 36, 30, 3)),
);

function flat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const zeroShot = (name: string, dir: string): Subject => ({
  name,
  load: async () => (await pipeline('zero-shot-image-classification', dir, { dtype: 'fp32' })) as unknown as Pipe,
  run: async (p, i) => {
    const out = await zeroShotOutputs(p as unknown as ZeroShot, LABELS, crops[i]!);
    return flat(
      Object.keys(out)
        .sort()
        .map((k) => out[k]!),
    );
  },
});
const features = (name: string, dir: string): Subject => ({
  name,
  preprocesses: true,
  load: async () => (await pipeline('image-feature-extraction', dir, { dtype: 'fp32' })) as unknown as Pipe,
  run: async (p, i) => Float32Array.from(((await p(images[i]!)) as Tensor).data as Float32Array),
});
const SUBJECTS: Subject[] = [
  zeroShot('CLIP zero-shot', modelPath('tiny-clip')),
  features('CLIP image-feature-extraction', modelPath('tiny-clip')),
  zeroShot('SigLIP zero-shot', sibling('tiny-siglip')),
  features('SigLIP image-feature-extraction', sibling('tiny-siglip')),
  {
    name: 'DINOv2 image-classification',
    load: async () => (await pipeline('image-classification', modelPath('tiny-dinov2'), { dtype: 'fp32' })) as unknown as Pipe,
    run: async (p, i) => {
      const { logits } = await (p.model as (x: unknown) => Promise<{ logits: Tensor }>)({ pixel_values: crops[i]! });
      return Float32Array.from(logits.data as Float32Array);
    },
  },
  features('DINOv2 image-feature-extraction', sibling('tiny-dinov2-features')),
];

const OPTIONS: JMPOptions = { warn: () => {} }; // the default JMP
const refs = new Map<string, { plain: Float32Array[]; jmp: Float32Array[] }>();

beforeAll(async () => {
  // Sequential references, each input alone, plain and with JMP, on a pipeline of their own (this
  // also makes transformers.js create the sessions of its own tensor ops, which it keeps, before
  // any case counts sessions).
  for (const s of SUBJECTS) {
    const p = await s.load();
    const plain: Float32Array[] = [];
    const jmp: Float32Array[] = [];
    for (let i = 0; i < 8; i++) plain.push(await s.run(p, i));
    const handle = await enableJMP(p, OPTIONS);
    for (let i = 0; i < 8; i++) jmp.push(await s.run(p, i));
    await handle.dispose();
    for (let i = 0; i < 8; i++) check(maxDiff(plain[i]!, jmp[i]!) > 1e-6, `${s.name}: JMP gives the plain outputs, the checks below could not tell them apart`);
    await p.dispose();
    refs.set(s.name, { plain, jmp });
  }
});
afterAll(() => {
  flushTally('architectures');
});

type Settled = { ok: true; value: Float32Array } | { ok: false; error: unknown };
const settle = (p: Promise<Float32Array>): Promise<Settled> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

describe.each(SUBJECTS)('$name', (s) => {
  const name = (what: string) => `${s.name}: ${what}`;
  const ref = () => refs.get(s.name)!;
  /** Result of input i is the sequential `kind` result, bit for bit. */
  const checkResult = (r: Settled, i: number, kind: 'plain' | 'jmp', what: string) => {
    check(r.ok, `${what}: call ${i} failed: ${r.ok ? '' : String((r as { error: unknown }).error)}`);
    const d = maxDiff(r.value, ref()[kind][i]!);
    check(d === 0, `${what}: call ${i} is not the sequential ${kind} result (${d})`);
  };
  const call = (p: Pipe, i: number) => settle(s.run(p, i));
  /** A fresh pipeline for the case, disposed after it (so that the leak check sees all its sessions). */
  async function withPipeline(run: (p: Pipe) => Promise<Outcome>): Promise<Outcome> {
    const p = await s.load();
    try {
      return await run(p);
    } finally {
      await p.dispose().catch(() => undefined);
    }
  }

  it('enable → run → disable → run → enable → run → dispose → run: JMP, plain, JMP, plain', async () => {
    await trial('lifecycle', name('enable, disable, enable again, dispose'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        check(jmp.enabled && jmp.info !== null, 'not on');
        checkResult(await call(p, 0), 0, 'jmp', 'on');
        await jmp.disable();
        check(!jmp.enabled, 'still on after disable()');
        checkResult(await call(p, 1), 1, 'plain', 'off');
        await jmp.enable();
        checkResult(await call(p, 2), 2, 'jmp', 'on again');
        check(jmp.stats().calls === 2, `${jmp.stats().calls} calls with JMP`);
        await jmp.dispose();
        checkResult(await call(p, 3), 3, 'plain', 'after dispose');
        return 'correct';
      }),
    );
  });

  it('dispose() twice, disable() after dispose(): no-ops; calls plain', async () => {
    await trial('lifecycle', name('dispose twice'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        await jmp.dispose();
        await jmp.dispose();
        await jmp.disable();
        await Promise.all([jmp.dispose(), jmp.dispose()]);
        checkResult(await call(p, 4), 4, 'plain', 'after');
        return 'correct';
      }),
    );
  });

  it('enable() after dispose(): JmpStateError; the pipeline plain', async () => {
    await trial('lifecycle', name('enable() after dispose()'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        await jmp.dispose();
        await typedError(() => jmp.enable(), JmpStateError);
        checkResult(await call(p, 5), 5, 'plain', 'after');
        return 'typed';
      }),
    );
  });

  it('enableJMP twice in a row: JmpStateError; the first handle keeps working', async () => {
    await trial('lifecycle', name('enableJMP twice in a row'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        const created = createdSessions();
        await typedError(() => enableJMP(p, { strategy: 'prune', keep: 0.5 }), JmpStateError);
        check(createdSessions() === created, 'the second enableJMP created sessions');
        checkResult(await call(p, 6), 6, 'jmp', 'first handle');
        await jmp.dispose();
        return 'typed';
      }),
    );
  });

  it('enableJMP twice at once: one handle, one JmpStateError', async () => {
    await trial('lifecycle', name('enableJMP twice at once'), () =>
      withPipeline(async (p) => {
        const both = await Promise.allSettled([enableJMP(p, OPTIONS), enableJMP(p, OPTIONS)]);
        const handles = both.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<JMPHandle>).value);
        const errors = both.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
        check(handles.length === 1 && errors.length === 1, `${handles.length} handles, ${errors.length} errors`);
        await typedError(() => Promise.reject(errors[0]), JmpStateError);
        checkResult(await call(p, 7), 7, 'jmp', 'the handle');
        await handles[0]!.dispose();
        checkResult(await call(p, 7), 7, 'plain', 'after dispose');
        return 'typed';
      }),
    );
  });

  it('a new handle after dispose(): the same JMP results', async () => {
    await trial('lifecycle', name('a new handle after dispose()'), () =>
      withPipeline(async (p) => {
        const first = await enableJMP(p, OPTIONS);
        checkResult(await call(p, 0), 0, 'jmp', 'first handle');
        await first.dispose();
        const second = await enableJMP(p, OPTIONS);
        checkResult(await call(p, 0), 0, 'jmp', 'second handle');
        await second.dispose();
        return 'correct';
      }),
    );
  });

  it('pipeline.dispose() with JMP on: calls, enable() and enableJMP are JmpStateErrors; all released', async () => {
    await trial('lifecycle', name('pipeline.dispose() with JMP on'), async () => {
      const p = await s.load();
      const jmp = await enableJMP(p, OPTIONS);
      checkResult(await call(p, 1), 1, 'jmp', 'before');
      await p.dispose();
      check(!jmp.enabled, 'the handle is still on');
      await typedError(() => s.run(p, 1), JmpStateError);
      await typedError(() => jmp.enable(), JmpStateError);
      await typedError(() => enableJMP(p, OPTIONS), JmpStateError);
      await jmp.disable();
      await jmp.dispose();
      await jmp.dispose();
      return 'typed';
    });
  });

  it('pipeline.dispose() with JMP off: released; later calls and enable() are JmpStateErrors', async () => {
    await trial('lifecycle', name('pipeline.dispose() with JMP off'), async () => {
      const p = await s.load();
      const jmp = await enableJMP(p, OPTIONS);
      await jmp.disable();
      await p.dispose();
      await typedError(() => s.run(p, 2), JmpStateError);
      await typedError(() => jmp.enable(), JmpStateError);
      await jmp.dispose();
      return 'typed';
    });
  });

  it('disable() while 4 calls are in flight: they finish with JMP; calls during the switch run plain', async () => {
    await trial('lifecycle', name('disable() during calls in flight'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        const early = [0, 1, 2, 3].map((i) => call(p, i));
        const switched = jmp.disable();
        await nextTask();
        const late = [4, 5].map((i) => call(p, i));
        await switched;
        for (const [i, r] of (await Promise.all(early)).entries()) {
          if (!s.preprocesses) checkResult(r, i, 'jmp', 'in flight');
          else {
            // still in the processor when disable() began: JMP or plain, never an error
            check(r.ok, `in flight: call ${i} failed: ${r.ok ? '' : String((r as { error: unknown }).error)}`);
            check(
              maxDiff(r.value, ref().jmp[i]!) === 0 || maxDiff(r.value, ref().plain[i]!) === 0,
              `in flight: call ${i} is neither the JMP nor the plain result`,
            );
          }
        }
        (await Promise.all(late)).forEach((r, i) => checkResult(r, i + 4, 'plain', 'during the switch'));
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('8 calls in flight at once: each the sequential result of its input', async () => {
    await trial('lifecycle', name('8 calls in flight at once'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call(p, i)));
        results.forEach((r, i) => checkResult(r, i, 'jmp', '8 at once'));
        check(jmp.stats().calls === 8, `stats: ${jmp.stats().calls} calls`);
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it('disable() / enable() 10 times: no session left behind', async () => {
    await trial('lifecycle', name('disable() / enable() 10 times'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, OPTIONS);
        const live = liveSessions();
        for (let k = 0; k < 10; k++) {
          await jmp.disable();
          checkResult(await call(p, k % 8), k % 8, 'plain', `off ${k}`);
          await jmp.enable();
          checkResult(await call(p, k % 8), k % 8, 'jmp', `on ${k}`);
          check(liveSessions() === live, `cycle ${k}: ${liveSessions() - live} more sessions alive`);
        }
        await jmp.dispose();
        return 'correct';
      }),
    );
  });

  it("runner 'segments': UnsupportedModelError before any work; the pipeline untouched", async () => {
    await trial('lifecycle', name("runner 'segments' refused"), () =>
      withPipeline(async (p) => {
        const before = pipelineState(p);
        await typedError(() => enableJMP(p, { ...OPTIONS, runner: 'segments', keep: 0.7 }), UnsupportedModelError);
        checkUntouched(p, before);
        checkResult(await call(p, 3), 3, 'plain', 'after');
        // and a handle afterwards works
        const jmp = await enableJMP(p, OPTIONS);
        checkResult(await call(p, 3), 3, 'jmp', 'a handle after the refusal');
        await jmp.dispose();
        return 'typed';
      }),
    );
  });

  it('keep = 1: the plain outputs (1e-5); then the plain pipeline, bit for bit', async () => {
    await trial('lifecycle', name('keep = 1'), () =>
      withPipeline(async (p) => {
        const jmp = await enableJMP(p, { strategy: 'prune', keep: 1 });
        const r = await call(p, 6);
        check(r.ok, `failed: ${r.ok ? '' : String((r as { error: unknown }).error)}`);
        const d = maxDiff(r.value, ref().plain[6]!);
        check(d <= 1e-5, `keep 1 differs from the plain outputs by ${d}`);
        await jmp.dispose();
        checkResult(await call(p, 6), 6, 'plain', 'after');
        return 'correct';
      }),
    );
  });
});
