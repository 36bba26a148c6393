import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, type Tensor } from '@huggingface/transformers';
import { baselineMacs } from '@jmpjs/core';
import { ensureBenchModel } from '@jmpjs/fixtures';
import { DEFAULT_BUDGET, enableJMP, inspectJMP, type JMPHandle } from '@jmpjs/transformers-patch';
import { UsageError, int, num, type Args } from './args.js';
import { describeParams } from './evaluate.js';
import type { Classifier } from './classifier.js';
import { buildSettings, jmpBlocks, parseMethods, rText, METHODS, type Setting } from './settings.js';
import { randomPixels } from './random-pixels.js';
import { alternatingRounds, median, rotatingRounds } from './timing.js';
import type { BenchJson, BenchResult } from './types.js';

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
  if (browser) return benchBrowserCommand(args, { dir, dtype, runs, batches, methods, tau, tauSpec, runner, device: browser, gpu, load });
  if (args.profile) return profileCommand(args, { dir, dtype, runs, batches, methods, tau, tauSpec, runner });
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
  info: Awaited<ReturnType<typeof inspectJMP>>,
  batches: number[],
  runs: number,
  prefix: string,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const batch of batches) {
    const x = randomPixels(batch);
    const baseTimes: number[] = [];
    for (const setting of settings) {
      const { plainMs, patchedMs, gmacs } = await compare(plain, patched, setting, x, runs);
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

/** `bench --profile`: per node group, the kernel time of a plain and of each patched forward. */
async function profileCommand(
  args: Args,
  o: { dir: string; dtype: string; runs: number; batches: number[]; methods: ReturnType<typeof parseMethods>; tau: number; tauSpec: number; runner: string },
): Promise<void> {
  const { profileSetting, profileTable } = await import('./profile.js');
  const load = async (sessionOptions: Record<string, unknown>) =>
    (await pipeline('image-classification', o.dir, {
      dtype: o.dtype as 'fp32',
      device: (args.device ?? 'cpu') as 'cpu',
      session_options: sessionOptions,
    })) as unknown as Classifier;
  const settings = benchSettings(args, o.methods, await probeInfo(() => load({})), o.tau, o.tauSpec, o.runner);
  console.log(
    `bench --profile: ${o.dir} (${o.dtype}, ${args.device ?? 'cpu'}, runner ${o.runner}), ${o.runs} profiled forwards per setting after one warm-up\n`,
  );
  for (const batch of o.batches) {
    const x = randomPixels(batch);
    const rows = [{ label: 'plain', profile: await profileSetting(load, null, x, o.runs) }];
    for (const setting of settings) rows.push({ label: `${setting.method} ${summary(setting)}`, profile: await profileSetting(load, setting, x, o.runs) });
    console.log(profileTable(batch, rows) + '\n');
  }
}

/** What JMP finds in the model, from a pipeline loaded for that and released. */
async function probeInfo(load: () => Promise<Classifier>): Promise<Awaited<ReturnType<typeof inspectJMP>>> {
  const probe = await load();
  try {
    return await inspectJMP(probe, { strategy: 'prune' });
  } finally {
    await probe.dispose();
  }
}

/** The settings a benchmark times: each method at the default schedule (and keep = 1 with --keep-one), on the chosen runner. */
function benchSettings(
  args: Args,
  methods: ReturnType<typeof parseMethods>,
  info: Awaited<ReturnType<typeof inspectJMP>>,
  tau: number,
  tauSpec: number,
  runner: string,
): Setting[] {
  const settings = buildSettings(methods, { shape: info.shape, tau, tauSpec, headOnly: info.headOnly }, false)
    .filter((s) => s.method !== 'baseline')
    .map((s) => ({ ...s, options: { ...s.options!, runner: runner as 'auto' } }));
  // the library's default JMP: its default budget (0.65 of the plain GMACs) plans the keep rate at
  // the model's default blocks (every block from the second on CLIP-B/32's 49 patches)
  if (!args['keep-rates']) {
    const i = settings.findIndex((s) => s.method === 'jmp');
    if (i >= 0) {
      const { keep: _keep, blocks: _blocks, ...rest } = settings[i]!.options!;
      settings.splice(i, 1, { ...settings[i]!, options: { ...rest, budget: DEFAULT_BUDGET } });
    }
  }
  // --blocks: the default JMP again at other reduction blocks, same budget, timed in the same rounds
  if (args.blocks !== undefined) {
    const blocks = args.blocks.split(',').map((b) => Number(b));
    if (blocks.length === 0 || !blocks.every((b) => Number.isInteger(b) && b >= 1 && b <= info.shape.depth)) {
      throw new UsageError(`--blocks: expected block numbers 1…${info.shape.depth}, comma-separated, found '${args.blocks}'`);
    }
    const base = settings.find((s) => s.method === 'jmp');
    if (!base) throw new UsageError('--blocks: times the default JMP at other blocks; add jmp to --methods');
    const { keep: _keep, blocks: _blocks, ...rest } = base.options!;
    settings.splice(settings.indexOf(base) + 1, 0, { ...base, options: { ...rest, budget: rest.budget ?? DEFAULT_BUDGET, blocks } });
  }
  // keep = 1 without the head-only last block: what the graph's added work costs alone
  if (args['keep-one'])
    settings.unshift({
      method: 'jmp',
      options: { strategy: 'prune', keep: 1, blocks: jmpBlocks(info.shape), headOnly: false, runner: runner as 'auto' },
      plannedGmacs: 0,
    });
  return settings;
}

/** One row of the benchmark's table. */
function benchLine(batch: number, setting: Setting, gmacs: number, plainMs: number, patchedMs: number): string {
  return `batch ${String(batch).padStart(2)}  ${setting.method.padEnd(9)} ${summary(setting).padEnd(18)} ${gmacs.toFixed(2)} GMACs  plain ${plainMs.toFixed(1).padStart(8)} ms  patched ${patchedMs.toFixed(1).padStart(8)} ms  speedup ${(plainMs / patchedMs).toFixed(3)}x`;
}

function summary(s: Setting): string {
  const p = describeParams(s.options) as { keep?: number; r?: number; strategy?: string; budget?: number };
  const at =
    s.options?.blocks && s.options.budget !== undefined
      ? ` @${s.options.blocks.length === 1 ? s.options.blocks[0] : `${s.options.blocks[0]}…${s.options.blocks.at(-1)}/${s.options.blocks.length}`}`
      : '';
  return p.r !== undefined ? `r ${rText(p.r)}` : p.keep === undefined && p.budget !== undefined ? `budget ${p.budget}${at}` : `keep ${p.keep}`;
}

function entry(setting: Setting, batch: number, gmacs: number, ms: number): BenchResult {
  return {
    method: setting.method,
    params: describeParams(setting.options),
    gmacs,
    top1: null,
    top5: null,
    throughput: (batch * 1000) / ms,
    latencyMsP50: batch === 1 ? ms : null,
    mergeShare: null,
    batchSize: batch,
  };
}

async function compare(plain: Classifier, patched: Classifier, setting: Setting, x: Tensor, runs: number) {
  const jmp: JMPHandle = await enableJMP(patched, setting.options!);
  try {
    const { plainMs, patchedMs } = await alternatingRounds(plain, patched, x, runs);
    return { plainMs, patchedMs, gmacs: jmp.stats().meanGmacsPerImage };
  } finally {
    await jmp.dispose();
  }
}

/** `bench --browser wasm|webgpu`: the same settings and table, timed in headless Chromium. */
async function benchBrowserCommand(
  args: Args,
  o: {
    dir: string;
    dtype: string;
    runs: number;
    batches: number[];
    methods: ReturnType<typeof parseMethods>;
    tau: number;
    tauSpec: number;
    runner: string;
    device: 'wasm' | 'webgpu';
    gpu: 'swiftshader' | 'hardware';
    load: () => Promise<Classifier>;
  },
): Promise<void> {
  // the plan's sizes come from a Node pipeline of the same model (nothing is timed in Node)
  const settings = benchSettings(args, o.methods, await probeInfo(o.load), o.tau, o.tauSpec, o.runner);
  console.log(
    `bench: ${o.dir} (${o.dtype}) in headless Chromium on ${o.device}${o.device === 'webgpu' ? ` (${o.gpu})` : ''}, runner ${o.runner}, ${o.runs} alternating rounds per setting, batches ${o.batches.join(', ')}`,
  );
  if (o.device === 'webgpu' && o.gpu === 'swiftshader') console.log('(SwiftShader is WebGPU in software: these timings say nothing about a GPU)');
  console.log(`(τ ${o.tau} / ${o.tauSpec} for the adaptive strategies: the benchmark model has random weights, so only speed means something here)\n`);
  const { benchInBrowser } = await import('./bench-browser.js');
  const results: BenchResult[] = [];
  const { adapter } = await benchInBrowser({
    modelDir: o.dir,
    device: o.device,
    gpu: o.gpu,
    dtype: o.dtype,
    batches: o.batches,
    runs: o.runs,
    settings: settings.map((s, i) => ({ label: String(i), options: s.options! })),
    onRow: (batch, row) => {
      const setting = settings[Number(row.label)]!;
      results.push(entry(setting, batch, row.gmacs, row.patchedMs));
      console.log(benchLine(batch, setting, row.gmacs, row.plainMs, row.patchedMs));
    },
  });
  if (adapter) console.log(`\nWebGPU adapter: ${adapter}`);
  if (args.json) {
    await writeBenchJson(args.json, { model: o.dir, device: `browser-${o.device}`, dtype: o.dtype, batches: o.batches, results });
  }
}

/** The export shapes of the DeiT-S fixture that `bench --shapes` knows. */
export const SHAPES: Record<string, { opset: number; attention: 'eager' | 'sdpa' }> = {
  eager14: { opset: 14, attention: 'eager' },
  opset11: { opset: 11, attention: 'eager' },
  sdpa14: { opset: 14, attention: 'sdpa' },
};

/**
 * `bench --shapes`: the DeiT-S fixture exported several ways, every shape's plain and patched
 * pipelines loaded at once and timed in the same rounds (each round times every shape's plain and
 * patched forward, the shapes' order rotating from round to round). The shapes' ratios then come
 * from the same minutes of the machine, and can be compared with each other: the last columns
 * give each shape's speedup over the first shape's, and how fast its plain and its patched
 * pipeline run against the first shape's (above 1: faster).
 */
async function benchShapesCommand(
  args: Args,
  o: { dtype: string; runs: number; batches: number[]; methods: ReturnType<typeof parseMethods>; tau: number; tauSpec: number; runner: string },
): Promise<void> {
  const names = args.shapes!.split(',');
  for (const sh of names) if (!SHAPES[sh]) throw new UsageError(`--shapes: expected a list of ${Object.keys(SHAPES).join(', ')}, found '${sh}'`);
  if (new Set(names).size !== names.length) throw new UsageError(`--shapes: each shape once, found '${args.shapes}'`);
  const device = (args.device ?? 'cpu') as 'cpu';
  const shapes: { name: string; dir: string; plain: Classifier; patched: Classifier }[] = [];
  try {
    for (const name of names) {
      const dir = await ensureBenchModel('deit-small', { dtypes: [o.dtype], ...SHAPES[name]! });
      const load = async () => (await pipeline('image-classification', dir, { dtype: o.dtype as 'fp32', device })) as unknown as Classifier;
      const plain = await load();
      shapes.push({ name, dir, plain, patched: await load() });
    }
    const info = await inspectJMP(shapes[0]!.patched, { strategy: 'prune' });
    const settings = benchSettings(args, o.methods, info, o.tau, o.tauSpec, o.runner);
    console.log(
      `bench --shapes: the DeiT-S fixture as ${names.join(', ')} (${o.dtype}, ${device}, runner ${o.runner}), ${o.runs} rounds per setting, each timing every shape's plain and patched pipeline, batches ${o.batches.join(', ')}`,
    );
    console.log(`(τ ${o.tau} / ${o.tauSpec} for the adaptive strategies: the benchmark model has random weights, so only speed means something here)\n`);
    const results = new Map<string, BenchResult[]>(names.map((n) => [n, []]));
    for (const batch of o.batches) {
      const x = randomPixels(batch);
      for (const setting of settings) {
        const handles: JMPHandle[] = [];
        try {
          for (const s of shapes) handles.push(await enableJMP(s.patched, setting.options!));
          const times = await rotatingRounds(
            shapes.map((s) => [s.plain, s.patched] as const),
            x,
            o.runs,
          );
          const [b0, p0] = [median(times[0]![0]), median(times[0]![1])];
          for (const [i, s] of shapes.entries()) {
            const b = median(times[i]![0]);
            const p = median(times[i]![1]);
            const gmacs = handles[i]!.stats().meanGmacsPerImage;
            results.get(s.name)!.push(entry(setting, batch, gmacs, p));
            // against the first shape: the speedup's ratio, and each pipeline's time (plain, patched)
            const vs =
              i === 0 ? '' : `  vs ${names[0]}: speedup ${(b / p / (b0 / p0)).toFixed(3)}, plain ${(b0 / b).toFixed(3)}x, patched ${(p0 / p).toFixed(3)}x`;
            console.log(`${s.name.padEnd(8)} ${benchLine(batch, setting, gmacs, b, p)}${vs}`);
          }
        } finally {
          for (const h of handles) await h.dispose();
        }
      }
    }
    if (args.json) {
      for (const s of shapes) {
        const file = args.json.replace(/(\.json)?$/, `-${s.name}.json`);
        await writeBenchJson(file, { model: s.dir, device, dtype: o.dtype, batches: o.batches, results: results.get(s.name)! });
      }
    }
  } finally {
    for (const s of shapes) {
      await s.plain.dispose();
      await s.patched.dispose();
    }
  }
}

/** Writes a benchmark's `--json` file (random pixels, no accuracy) and says where. */
async function writeBenchJson(
  file: string,
  o: { model: string; device: string; dtype: string; batches: number[]; results: BenchResult[] },
  before = '',
): Promise<void> {
  const json: BenchJson = {
    model: o.model,
    dataset: 'random pixels',
    images: 0,
    device: o.device,
    dtype: o.dtype,
    batchSize: o.batches[0]!,
    results: o.results,
  };
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`${before}json: ${file}`);
}
