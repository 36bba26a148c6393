// `bench --tokens`: speed as the token count grows. One model per token count (random weights,
// generated on first use into tooling/fixtures/cache), each timed at each batch size: the plain
// pipeline against the library's default JMP (`enableJMP(pipe)`: default budget, every default) in
// alternating rounds, the GMACs ceiling from the cost model, and the peak RSS of each pipeline alone
// (a fresh Node process per model and pipeline: bench-tokens-rss.ts).
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from '@huggingface/transformers';
import { ensureBenchModel } from '@jmpjs/fixtures';
import { enableJMP, type JMPHandle, type JMPOptions } from '@jmpjs/transformers-patch';
import { UsageError, budgetArg, int, type Args } from './args.js';
import type { Classifier } from './classifier.js';
import { randomPixels } from './random-pixels.js';
import { alternatingRounds, median, timedForward } from './timing.js';

/** One row of `bench --tokens`: a benchmark model and the input size that gives its patch count. */
export interface TokenShape {
  /** Patch tokens (the class and distillation tokens not counted). */
  tokens: number;
  /** The benchmark model (tooling/fixtures ensureBenchModel). */
  model: 'deit-small' | 'vit-small-384' | 'depth-anything-small';
  task: 'image-classification' | 'depth-estimation';
  /** Side of the square input, pixels. */
  size: number;
  label: string;
}

export const TOKEN_SHAPES: readonly TokenShape[] = [
  { tokens: 196, model: 'deit-small', task: 'image-classification', size: 224, label: 'DeiT-S/16 at 224' },
  { tokens: 576, model: 'vit-small-384', task: 'image-classification', size: 384, label: 'ViT-S/16 at 384' },
  { tokens: 1369, model: 'depth-anything-small', task: 'depth-estimation', size: 518, label: 'Depth Anything V2-S at 518' },
];

/** Options that choose something `--tokens` fixes (the models, the method) or does not do. */
const NOT_WITH_TOKENS = [
  'model',
  'shapes',
  'opset',
  'attention',
  'clip',
  'head-only-ab',
  'methods',
  'blocks',
  'keep-one',
  'keep-rates',
  'tau',
  'tau-spec',
] as const;

/** The `--tokens` list: `all`, or token counts (196, 576, 1369) or model names, comma-separated, each once. */
export function parseTokenShapes(spec: string): TokenShape[] {
  if (spec === 'all') return [...TOKEN_SHAPES];
  const known = TOKEN_SHAPES.map((s) => `${s.tokens} (${s.model})`).join(', ');
  const shapes = spec.split(',').map((t) => {
    const s = TOKEN_SHAPES.find((x) => String(x.tokens) === t.trim() || x.model === t.trim());
    if (!s) throw new UsageError(`--tokens: expected all, or a list of ${known}; found '${t}'`);
    return s;
  });
  if (new Set(shapes).size !== shapes.length) throw new UsageError(`--tokens: each once, found '${spec}'`);
  return shapes;
}

export interface TokenBenchOptions {
  shapes: TokenShape[];
  runs: number;
  batches: number[];
  dtype: string;
  browser: 'wasm' | 'webgpu' | undefined;
  /** JMP options beyond the defaults: the runner (--runner) and the budget (--budget), when given. */
  jmp: JMPOptions;
  /** --profile: onnxruntime's per-node profile of each shape, plain and with JMP, instead of timing (Node only). */
  profile: boolean;
}

/** The options of `bench --tokens` from the command line (batches 1 and 8 by default, 5 rounds). */
export function tokenBenchOptions(args: Args, dtype: string): TokenBenchOptions {
  const clash = NOT_WITH_TOKENS.filter((k) => args[k] !== undefined);
  if (clash.length > 0) throw new UsageError(`--tokens times the default JMP on its own benchmark models: not with ${clash.map((k) => `--${k}`).join(', ')}`);
  const browser = args.browser;
  if (browser !== undefined && browser !== 'wasm' && browser !== 'webgpu') throw new UsageError(`--browser: expected wasm or webgpu, found '${browser}'`);
  const runner = args.runner;
  if (runner !== undefined && !['auto', 'compiled', 'segments'].includes(runner))
    throw new UsageError(`--runner: expected auto, compiled or segments, found '${runner}'`);
  if (args.profile && browser !== undefined) throw new UsageError("--profile reads onnxruntime-node's profiler: not with --browser");
  const budget = budgetArg(args.budget);
  return {
    shapes: parseTokenShapes(args.tokens!),
    runs: int('runs', args.runs, 5),
    batches: (args.batches ?? '1,8').split(',').map((b) => int('batches', b, 1)),
    dtype,
    browser,
    jmp: { ...(runner ? { runner: runner as 'auto' } : {}), ...(budget !== undefined ? { budget } : {}) },
    profile: args.profile === true,
  };
}

/** One shape at one batch size: medians of the alternating rounds, the cost model's GMACs per image, peak RSS. */
export interface TokenResult {
  tokens: number;
  model: string;
  label: string;
  batch: number;
  plainMs: number;
  /** null: JMP did not run on this model (see note). */
  jmpMs: number | null;
  plainGmacs: number | null;
  jmpGmacs: number | null;
  /** Peak resident set of a fresh process with the one pipeline, MiB (null: not measured). */
  rssPlainMiB: number | null;
  rssJmpMiB: number | null;
  note?: string;
}

const fx = (v: number | null, digits: number, suffix = '') => (v === null ? '—' : `${v.toFixed(digits)}${suffix}`);

/** The results as a Markdown table (printed as is, and pasted into docs/eval-speed.md). */
export function formatTokenTable(results: readonly TokenResult[]): string[] {
  const lines = [
    '| patches | model | batch | plain ms | JMP ms | speedup | GMACs/img plain → JMP | ceiling | peak RSS MiB plain / JMP |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const speedup = r.jmpMs === null ? '—' : `${(r.plainMs / r.jmpMs).toFixed(3)}×`;
    const ceiling = r.plainGmacs !== null && r.jmpGmacs !== null ? `${(r.plainGmacs / r.jmpGmacs).toFixed(2)}×` : '—';
    const gmacs = `${fx(r.plainGmacs, 2)} → ${fx(r.jmpGmacs, 2)}`;
    lines.push(
      `| ${r.tokens} | ${r.label} | ${r.batch} | ${r.plainMs.toFixed(1)} | ${fx(r.jmpMs, 1)} | ${speedup} | ${gmacs} | ${ceiling} | ${fx(r.rssPlainMiB, 0)} / ${fx(r.rssJmpMiB, 0)} |`,
    );
  }
  return lines;
}

type Loaded = Classifier & { model: Classifier['model'] };

/** `bench --tokens <list>`: every shape in turn, in Node (or in headless Chromium with --browser). */
export async function benchTokensCommand(args: Args, o: TokenBenchOptions): Promise<void> {
  const device = (args.device ?? 'cpu') as 'cpu';
  const where = o.browser ? `headless Chromium, onnxruntime-web on ${o.browser}` : `Node, onnxruntime-node on ${device}`;
  console.log(
    `bench --tokens: ${o.shapes.map((s) => `${s.model} (${s.tokens} patches)`).join(', ')}; ${o.dtype}, ${where}; the plain pipeline against enableJMP's defaults${o.jmp.runner ? ` (runner ${o.jmp.runner})` : ''}${o.jmp.budget !== undefined ? ` at budget ${o.jmp.budget}` : ''}, ${o.profile ? `${o.runs} profiled forwards each` : `${o.runs} alternating rounds`}, batches ${o.batches.join(', ')}`,
  );
  console.log(
    `(random weights: only speed means something here; load average at the start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})\n`,
  );
  if (o.profile) return profileShapes(o, device);
  const results: TokenResult[] = [];
  for (const shape of o.shapes) {
    const dir = await ensureBenchModel(shape.model, { dtypes: [o.dtype] });
    const rows = o.browser ? await browserShape(shape, dir, o) : await nodeShape(shape, dir, o, device);
    if (!o.browser) {
      // each pipeline alone in a fresh process: its peak RSS after each batch
      const plainRss = await peakRss({ dir, task: shape.task, dtype: o.dtype, device, size: shape.size, batches: o.batches, jmp: null });
      const jmpRss = rows.some((r) => r.jmpMs !== null)
        ? await peakRss({ dir, task: shape.task, dtype: o.dtype, device, size: shape.size, batches: o.batches, jmp: o.jmp })
        : null;
      for (const r of rows) {
        r.rssPlainMiB = plainRss?.[r.batch] ?? null;
        r.rssJmpMiB = jmpRss?.[r.batch] ?? null;
      }
    }
    results.push(...rows);
  }
  console.log(`\n${formatTokenTable(results).join('\n')}`);
  for (const r of results) if (r.note) console.log(`- ${r.model}, batch ${r.batch}: ${r.note}`);
  console.log(
    `\nspeedup: plain time / JMP time, medians of the same alternating rounds; ceiling: plain GMACs / JMP GMACs per image (the cost model's count for the tokens each call had)${o.browser ? '' : '; peak RSS: the high-water mark (process.resourceUsage().maxRSS) of a fresh Node process that loads the one pipeline and runs two forwards at each batch size in turn, read after that batch'}. Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (args.json) {
    await mkdir(path.dirname(path.resolve(args.json)), { recursive: true });
    await writeFile(args.json, JSON.stringify({ dtype: o.dtype, where, runs: o.runs, results }, null, 2) + '\n');
    console.log(`json: ${args.json}`);
  }
}

async function nodeShape(shape: TokenShape, dir: string, o: TokenBenchOptions, device: 'cpu'): Promise<TokenResult[]> {
  const load = async () => (await pipeline(shape.task, dir, { dtype: o.dtype as 'fp32', device })) as unknown as Loaded;
  const plain = await load();
  const patched = await load();
  const rows: TokenResult[] = [];
  let jmp: JMPHandle | undefined;
  let note: string | undefined;
  try {
    try {
      jmp = await enableJMP(patched, o.jmp);
      const i = jmp.info;
      console.log(
        `${shape.model}: ${i ? `JMP at blocks ${i.reductionBlocks.join(', ')}, planned ${i.gmacs.planned.toFixed(2)} of ${i.gmacs.plain.toFixed(2)} GMACs per image` : 'JMP left the pipeline unchanged (passthrough)'}`,
      );
    } catch (e) {
      note = `JMP not run: ${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`;
      console.log(`${shape.model}: ${note}; the plain pipeline alone`);
    }
    for (const batch of o.batches) {
      const x = randomPixels(batch, shape.size);
      if (jmp) {
        jmp.resetStats();
        const { plainMs, patchedMs } = await alternatingRounds(plain, patched, x, o.runs);
        const s = jmp.stats();
        rows.push(row(shape, batch, median(plainMs), median(patchedMs), s.plainGmacsPerImage, s.meanGmacsPerImage));
      } else {
        await timedForward(plain, x);
        const plainMs: number[] = [];
        for (let k = 0; k < o.runs; k++) plainMs.push(await timedForward(plain, x));
        rows.push({ ...row(shape, batch, median(plainMs), null, null, null), ...(note ? { note } : {}) });
      }
      const r = rows.at(-1)!;
      console.log(
        `${shape.model.padEnd(20)} batch ${String(batch).padStart(2)}  plain ${r.plainMs.toFixed(1).padStart(8)} ms  JMP ${fx(r.jmpMs, 1).padStart(8)} ms  speedup ${r.jmpMs ? (r.plainMs / r.jmpMs).toFixed(3) : '—'}x  load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
  } finally {
    await jmp?.dispose();
    await plain.dispose();
    await patched.dispose();
  }
  return rows;
}

/** `bench --tokens … --profile`: per shape and batch, the kernel time of each node group, plain and with JMP. */
async function profileShapes(o: TokenBenchOptions, device: 'cpu'): Promise<void> {
  const { WARM_UPS, profileSetting, profileTable } = await import('./profile.js');
  for (const shape of o.shapes) {
    const dir = await ensureBenchModel(shape.model, { dtypes: [o.dtype] });
    const load = async (sessionOptions: Record<string, unknown>) =>
      (await pipeline(shape.task, dir, { dtype: o.dtype as 'fp32', device, session_options: sessionOptions })) as unknown as Loaded;
    for (const batch of o.batches) {
      const x = randomPixels(batch, shape.size);
      const plain = await profileSetting(load, null, x, o.runs);
      const jmp = await profileSetting(load, o.jmp, x, o.runs);
      console.log(`${shape.label} (${shape.tokens} patches), ${o.runs} profiled forwards after ${WARM_UPS} warm-ups`);
      console.log(
        profileTable(batch, [
          { label: 'plain', profile: plain },
          { label: 'jmp', profile: jmp },
        ]) + '\n',
      );
    }
  }
}

function row(shape: TokenShape, batch: number, plainMs: number, jmpMs: number | null, plainGmacs: number | null, jmpGmacs: number | null): TokenResult {
  return { tokens: shape.tokens, model: shape.model, label: shape.label, batch, plainMs, jmpMs, plainGmacs, jmpGmacs, rssPlainMiB: null, rssJmpMiB: null };
}

async function browserShape(shape: TokenShape, dir: string, o: TokenBenchOptions): Promise<TokenResult[]> {
  const { benchInBrowser } = await import('./bench-browser.js');
  const rows: TokenResult[] = [];
  await benchInBrowser({
    modelDir: dir,
    device: o.browser!,
    gpu: 'swiftshader',
    dtype: o.dtype,
    batches: o.batches,
    runs: o.runs,
    task: shape.task,
    size: shape.size,
    settings: [{ label: 'jmp', options: o.jmp }],
    onRow: (batch, r) => {
      rows.push(row(shape, batch, r.plainMs, r.patchedMs, r.plainGmacs ?? null, r.gmacs));
      console.log(`${shape.model.padEnd(20)} batch ${String(batch).padStart(2)}  plain ${r.plainMs.toFixed(1)} ms  JMP ${r.patchedMs.toFixed(1)} ms`);
    },
  });
  return rows;
}

/** What bench-tokens-rss.ts takes (JSON, its one argument). */
export interface RssJob {
  dir: string;
  task: string;
  dtype: string;
  device: string;
  size: number;
  batches: number[];
  /** JMP's options, or null for the plain pipeline. */
  jmp: JMPOptions | null;
}

/** Runs bench-tokens-rss.js in a fresh Node process: MiB by batch, or null when it failed (said on stderr). */
async function peakRss(job: RssJob): Promise<Record<number, number> | null> {
  const script = fileURLToPath(new URL('./bench-tokens-rss.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        console.error(`  (peak RSS of ${job.jmp ? 'JMP' : 'plain'} ${path.basename(job.dir)}: the child exited ${code})`);
        resolve(null);
      } else resolve(JSON.parse(line) as Record<number, number>);
    });
  });
}
