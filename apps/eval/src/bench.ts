// `pnpm bench`: its options, the default run (the plain and the patched pipeline alternating in
// Node, with --clip the zero-shot CLIP model too) and --head-only-ab. The other modes have a file
// each: --shapes (bench-shapes.ts), --tokens (bench-tokens.ts), --browser (bench-browser.ts), --profile (profile.ts); what
// they share is in bench-settings.ts.
import { pipeline } from '@huggingface/transformers';
import { baselineMacs } from '@jmpjs/core';
import { ensureBenchModel } from '@jmpjs/fixtures';
import { DEFAULT_BUDGET, enableJMP, inspectJMP, type JMPModelInfo } from '@jmpjs/transformers-patch';
import { UsageError, int, num, type Args } from './args.js';
import { benchLine, benchSettings, entry, timeAgainstPlain, writeBenchJson } from './bench-settings.js';
import { benchShapesCommand } from './bench-shapes.js';
import type { Classifier } from './classifier.js';
import { jmpBlocks, parseMethods, METHODS, type Setting } from './settings.js';
import { randomPixels } from './random-pixels.js';
import { median, rotatingRounds } from './timing.js';
import type { BenchResult } from './types.js';

/**
 * Throughput and latency on the DeiT-S-architecture fixture: a plain and a patched pipeline of the
 * same model run alternately (warm), per method at the default schedule, at each batch size. Every
 * ratio is against the plain pipeline measured in the same rounds.
 */
export async function benchCommand(args: Args): Promise<void> {
  const dtypes = (args.dtype ?? 'fp32').split(',');
  for (const d of dtypes) if (!['fp32', 'fp16', 'q8'].includes(d)) throw new UsageError(`--dtype: expected fp32, fp16 or q8 (or a list of them), found '${d}'`);
  if (dtypes.length > 1) {
    // one run per dtype, each with its own plain pipeline (and JSON file: name-<dtype>.json)
    for (const [i, d] of dtypes.entries()) {
      if (i > 0) console.log('');
      const json = args.json ? args.json.replace(/(\.json)?$/, `-${d}.json`) : undefined;
      await benchCommand({ ...args, dtype: d, ...(json ? { json } : {}) });
    }
    return;
  }
  const dtype = dtypes[0]!;
  if (args.tokens !== undefined) {
    const { benchTokensCommand, tokenBenchOptions } = await import('./bench-tokens.js');
    return benchTokensCommand(args, tokenBenchOptions(args, dtype));
  }
  const runs = int('runs', args.runs, 5);
  const batches = (args.batches ?? '1,32').split(',').map((b) => int('batches', b, 1));
  const methods = parseMethods(args.methods ?? METHODS.join(','));
  const tau = num('tau', args.tau) ?? 0.9;
  const tauSpec = num('tau-spec', args['tau-spec']) ?? 0.9;
  const runner = args.runner ?? 'auto';
  if (!['auto', 'compiled', 'segments'].includes(runner)) throw new UsageError(`--runner: expected auto, compiled or segments, found '${runner}'`);
  const browser = args.browser;
  if (browser !== undefined && browser !== 'wasm' && browser !== 'webgpu') throw new UsageError(`--browser: expected wasm or webgpu, found '${browser}'`);
  const gpu = args.gpu ?? 'swiftshader';
  if (gpu !== 'swiftshader' && gpu !== 'hardware') throw new UsageError(`--gpu: expected swiftshader or hardware, found '${gpu}'`);
  if (browser && args.device) throw new UsageError('--device is for Node; in the browser --browser names the device');
  const opset = int('opset', args.opset, 14, 11);
  const attention = args.attention ?? 'eager';
  if (attention !== 'eager' && attention !== 'sdpa') throw new UsageError(`--attention: expected eager or sdpa, found '${attention}'`);
  if (
    args.shapes !== undefined &&
    (args.model !== undefined || args.opset !== undefined || args.attention !== undefined || browser !== undefined || args.profile)
  )
    throw new UsageError('--shapes chooses the fixture exports and times them in Node: not with --model, --opset, --attention, --browser or --profile');
  if ((args.opset !== undefined || args.attention !== undefined) && args.model !== undefined)
    throw new UsageError('--opset and --attention choose the export of the generated DeiT-S model: not with --model');
  if (args.shapes !== undefined) return benchShapesCommand(args, { dtype, runs, batches, methods, tau, tauSpec, runner });
  const dir = args.model ?? (await ensureBenchModel('deit-small', { dtypes: [dtype], opset, attention }));
  const load = async () =>
    (await pipeline('image-classification', dir, { dtype: dtype as 'fp32', device: (args.device ?? 'cpu') as 'cpu' })) as unknown as Classifier;
  if (browser)
    return (await import('./bench-browser.js')).benchBrowserCommand(args, {
      dir,
      dtype,
      runs,
      batches,
      methods,
      tau,
      tauSpec,
      runner,
      device: browser,
      gpu,
      load,
    });
  if (args.profile) return (await import('./profile.js')).profileCommand(args, { dir, dtype, runs, batches, methods, tau, tauSpec, runner });
  if (args['head-only-ab']) return headOnlyAb(load, { dir, runs, batches, tau });
  const results: BenchResult[] = [];
  const plain = await load();
  const patched = await load();
  try {
    const info = await inspectJMP(patched, { strategy: 'prune' });
    console.log(`bench: ${dir} (${dtype}, ${args.device ?? 'cpu'}, runner ${runner}), ${runs} alternating rounds per setting, batches ${batches.join(', ')}`);
    console.log(`(τ ${tau} / ${tauSpec} for the adaptive strategies: the benchmark model has random weights, so only speed means something here)\n`);
    results.push(...(await timeSettings(plain, patched, benchSettings(args, methods, info, tau, tauSpec, runner), info, batches, runs, '')));
  } finally {
    await plain.dispose();
    await patched.dispose();
  }
  if (args.clip) {
    // CLIP ViT-B/32's zero-shot model (random weights), each forward with 10 prompts beside the images
    const clipDir = await ensureBenchModel('clip-b32', { dtypes: [dtype] });
    const loadClip = async () =>
      zeroShotClassifier(await pipeline('zero-shot-image-classification', clipDir, { dtype: dtype as 'fp32', device: (args.device ?? 'cpu') as 'cpu' }));
    const clipPlain = await loadClip();
    const clipPatched = await loadClip();
    try {
      const info = await inspectJMP(clipPatched, { strategy: 'prune' });
      console.log(
        `\nbench --clip: ${clipDir} (zero-shot-image-classification, ${dtype}), the same rounds; every forward also runs the text tower on 10 prompts`,
      );
      results.push(...(await timeSettings(clipPlain, clipPatched, benchSettings(args, methods, info, tau, tauSpec, runner), info, batches, runs, 'clip-b32 ')));
    } finally {
      await clipPlain.dispose();
      await clipPatched.dispose();
    }
  }
  if (args.json) await writeBenchJson(args.json, { model: dir, device: args.device ?? 'cpu', dtype, batches, results }, '\n');
}

/** Times each setting against the plain pipeline in alternating rounds, at each batch size; prints a line each. */
async function timeSettings(
  plain: Classifier,
  patched: Classifier,
  settings: Setting[],
  info: JMPModelInfo,
  batches: number[],
  runs: number,
  prefix: string,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const batch of batches) {
    const x = randomPixels(batch);
    const baseTimes: number[] = [];
    for (const setting of settings) {
      const { plainMs, patchedMs, gmacs } = await timeAgainstPlain(plain, patched, setting, x, runs);
      baseTimes.push(...plainMs);
      const p = median(patchedMs);
      const b = median(plainMs);
      results.push(entry(setting, batch, gmacs, p));
      console.log(prefix + benchLine(batch, setting, gmacs, b, p));
    }
    const b = median(baseTimes);
    results.splice(results.length - settings.length, 0, {
      method: 'baseline',
      params: {},
      gmacs: baselineMacs(info.shape).gmacs,
      top1: null,
      top5: null,
      throughput: (batch * 1000) / b,
      latencyMsP50: batch === 1 ? b : null,
      mergeShare: null,
      batchSize: batch,
    });
  }
  return results;
}

/** The ten prompts every CLIP forward of the benchmark runs beside the images. */
const CLIP_PROMPTS = ['T-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'].map((c) => `a photo of a ${c}`);

/**
 * A zero-shot CLIP pipeline as the benchmark's classifiers are called (`model({ pixel_values })`):
 * its model, with the prompts' text inputs added to every call. enableJMP sees the model itself
 * (the proxy forwards everything else to it).
 */
function zeroShotClassifier(pipe: unknown): Classifier {
  const p = pipe as {
    model: (inputs: Record<string, unknown>) => Promise<Record<string, unknown>>;
    tokenizer: (t: string[], o: Record<string, unknown>) => Record<string, unknown>;
    dispose(): Promise<void>;
  };
  const text = p.tokenizer(CLIP_PROMPTS, { padding: true, truncation: true });
  const model = new Proxy(p.model, { apply: (target, _self, [inputs]: [Record<string, unknown>]) => target({ ...text, ...inputs }) });
  return { ...(p as object), model, dispose: () => p.dispose() } as unknown as Classifier;
}

/**
 * `bench --head-only-ab`: the library's default JMP (budget 0.65) with the head-only last block
 * (blocks 2, 4, …, 10) and without it (2, 4, …, 12), timed in the same rotating rounds against one
 * plain pipeline: the speedups, and the time of the one against the other.
 */
async function headOnlyAb(load: () => Promise<Classifier>, o: { dir: string; runs: number; batches: number[]; tau: number }): Promise<void> {
  const plain = await load();
  const without = await load();
  const withIt = await load();
  try {
    const info = (await inspectJMP(withIt, { strategy: 'prune' })).shape;
    const a = await enableJMP(without, { budget: DEFAULT_BUDGET, tau: o.tau, headOnly: false, blocks: jmpBlocks(info) });
    const b = await enableJMP(withIt, { budget: DEFAULT_BUDGET, tau: o.tau });
    if (!b.info!.headOnly)
      throw new UsageError('--head-only-ab: this model does not take the head-only last block (its head reads more than the class tokens, or it is q8)');
    console.log(
      `bench --head-only-ab: ${o.dir}, ${o.runs} rounds; without: blocks ${a.info!.reductionBlocks.join(', ')}, ${a.info!.gmacs.planned.toFixed(2)} GMACs; with: blocks ${b.info!.reductionBlocks.join(', ')}, ${b.info!.gmacs.planned.toFixed(2)} GMACs (plain ${b.info!.gmacs.plain.toFixed(2)})\n`,
    );
    for (const batch of o.batches) {
      const x = randomPixels(batch);
      const [ta, tb] = await rotatingRounds(
        [
          [plain, without],
          [plain, withIt],
        ],
        x,
        o.runs,
      );
      const p = median([...ta![0], ...tb![0]]);
      const [ma, mb] = [median(ta![1]), median(tb![1])];
      console.log(
        `batch ${String(batch).padStart(2)}  plain ${p.toFixed(1)} ms  without ${ma.toFixed(1)} ms (speedup ${(p / ma).toFixed(3)}x)  with ${mb.toFixed(1)} ms (speedup ${(p / mb).toFixed(3)}x)  with / without time ${(mb / ma).toFixed(3)}`,
      );
    }
  } finally {
    await plain.dispose();
    await without.dispose();
    await withIt.dispose();
  }
}
