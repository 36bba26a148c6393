/**
 * Memory of the patched pipeline against the plain one, each in its own process:
 * - RSS while calling (after GC, the largest of 5 calls) and peak RSS (getrusage maxRSS, which includes
 *   building the segments) over 20 calls on the DeiT-S-architecture fixture at batch 8, plain vs JMP;
 * - RSS growth over 1 000 calls on the tiny DeiT fixture with JMP on (after 50 warm-up calls).
 *
 *   pnpm --filter @jmpjs/transformers-patch bench [-- --runner segments]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { ensureBenchModel, modelPath } from '@jmpjs/fixtures';
import { enableJMP } from '../src/index.js';

env.allowRemoteModels = false;
/** `--runner compiled|segments` (default: auto, the compiled runner). */
const RUNNER = (process.argv.includes('--runner') ? process.argv[process.argv.indexOf('--runner') + 1] : 'auto') as 'auto' | 'compiled' | 'segments';
type Model = (inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>;

function pixels(batch: number): Tensor {
  return new Tensor(
    'float32',
    new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i)),
    [batch, 3, 224, 224],
  );
}

async function child(mode: string): Promise<void> {
  const [kind, model, calls] = mode.split(':') as [string, string, string];
  const dir = model === 'deit-small' ? await ensureBenchModel('deit-small', { dtypes: ['fp32'], quiet: true }) : modelPath(model);
  const classifier = (await pipeline('image-classification', dir)) as unknown as { model: Model; dispose(): Promise<void> };
  if (kind === 'jmp') await enableJMP(classifier, { strategy: 'merge', keep: 0.7, runner: RUNNER });
  const x = pixels(model === 'deit-small' ? 8 : 1);
  const n = Number(calls);
  const warm = Math.min(50, Math.floor(n / 10));
  let rssAfterWarmup = 0;
  const rssEveryHundred: number[] = []; // RSS after GC every 100 calls: a leak grows linearly, allocator warm-up levels off
  for (let i = 0; i < n; i++) {
    await classifier.model({ pixel_values: x });
    if (i === warm - 1) {
      globalThis.gc?.();
      rssAfterWarmup = process.memoryUsage().rss;
    }
    if ((i + 1) % 100 === 0) {
      globalThis.gc?.();
      rssEveryHundred.push(process.memoryUsage().rss / 2 ** 20);
    }
  }
  globalThis.gc?.();
  const rssEnd = process.memoryUsage().rss;
  // Steady state: RSS right after calls, sampled over a few more calls.
  let rssCalls = 0;
  for (let k = 0; k < 5; k++) {
    await classifier.model({ pixel_values: x });
    globalThis.gc?.();
    rssCalls = Math.max(rssCalls, process.memoryUsage().rss);
  }
  console.log(
    JSON.stringify({
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      rssAfterWarmupMB: rssAfterWarmup / 2 ** 20,
      rssEndMB: rssEnd / 2 ** 20,
      rssCallsMB: rssCalls / 2 ** 20,
      rssEveryHundredMB: rssEveryHundred,
    }),
  );
  await classifier.dispose();
}

function run(mode: string): { maxRssMB: number; rssAfterWarmupMB: number; rssEndMB: number; rssCallsMB: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, '--runner', RUNNER], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const i = process.argv.indexOf('--child');
if (i > 0) await child(process.argv[i + 1]!);
else {
  const plain = run('plain:deit-small:20');
  const jmp = run('jmp:deit-small:20');
  console.log(
    `DeiT-S, 20 calls at batch 8: RSS while calling: plain ${plain.rssCallsMB.toFixed(0)} MB, JMP ${jmp.rssCallsMB.toFixed(0)} MB, ratio ${(jmp.rssCallsMB / plain.rssCallsMB).toFixed(3)}`,
  );
  console.log(
    `  peak RSS (with loading): plain ${plain.maxRssMB.toFixed(0)} MB, JMP ${jmp.maxRssMB.toFixed(0)} MB, ratio ${(jmp.maxRssMB / plain.maxRssMB).toFixed(3)}`,
  );
  const long = run('jmp:tiny-deit:1000');
  console.log(
    `tiny-deit, 1 000 calls with JMP: RSS ${long.rssAfterWarmupMB.toFixed(1)} MB after 50 calls, ${long.rssEndMB.toFixed(1)} MB after 1 000 (growth ${(long.rssEndMB - long.rssAfterWarmupMB).toFixed(1)} MB)`,
  );
}
