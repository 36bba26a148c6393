import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JMPOptions } from '@jmpjs/transformers-patch';
import type { Args } from './args.js';
import { benchLine, benchSettings, entry, probeInfo, writeBenchJson, type BenchOptions } from './bench-settings.js';
import type { Classifier } from './classifier.js';
import type { BenchResult } from './types.js';

/** What the bench page returns per setting (apps/eval/demo/src/bench.ts). */
export interface BrowserBenchRow {
  label: string;
  plainMs: number;
  patchedMs: number;
  gmacs: number;
  /** The plain model's GMACs per image (the cost model's). */
  plainGmacs?: number;
}

interface PageApi {
  jmpBench: {
    bench(params: {
      model: string;
      device: string;
      dtype: string;
      batch: number;
      runs: number;
      warmups: number;
      settings: { label: string; options: JMPOptions }[];
      task?: string;
      size?: number;
    }): Promise<BrowserBenchRow[]>;
    adapter(): Promise<string | null>;
  };
}

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Runs the benchmark in headless Chromium: builds the demo's pages with Vite, serves them and the
 * model folder on localhost, and times a plain and a patched pipeline of the model in the page
 * (transformers.js's web build on onnxruntime-web, device `wasm` or `webgpu`).
 */
export async function benchInBrowser(params: {
  modelDir: string;
  device: 'wasm' | 'webgpu';
  /** WebGPU adapter: SwiftShader (any machine, for correctness only) or the machine's GPU. */
  gpu: 'swiftshader' | 'hardware';
  dtype: string;
  batches: number[];
  runs: number;
  settings: { label: string; options: JMPOptions }[];
  /** The pipeline's task (default image-classification) and the input's side (default 224). */
  task?: string;
  size?: number;
  onRow: (batch: number, row: BrowserBenchRow) => void;
}): Promise<{ adapter: string | null }> {
  const { build } = await import('vite');
  const { hasChromium, launchChromium, missingChromiumMessage, serveStatic } = await import('@jmpjs/browser-testing');
  if (!hasChromium()) throw new Error(missingChromiumMessage('--browser'));
  const dir = await mkdtemp(path.join(tmpdir(), 'jmp-bench-page-'));
  const name = path.basename(params.modelDir);
  try {
    await build({ configFile: path.join(appDir, 'vite.demo.config.ts'), logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } });
    const server = await serveStatic({ [`/models/${name}/`]: params.modelDir, '/': dir });
    const context = await launchChromium({ webgpu: params.device === 'webgpu' ? (params.gpu === 'hardware' ? 'hardware' : true) : false });
    try {
      const page = await context.newPage();
      page.on('console', (m) => {
        // (transformers.js probes for files an image model does not have: those 404s are expected)
        if ((m.type() === 'error' && !m.text().includes('status of 404')) || m.text().startsWith('[bench]')) console.error(`  (page) ${m.text()}`);
      });
      await page.goto(`${server.url}/bench.html`);
      await page.waitForFunction(() => (globalThis as unknown as { jmpBench?: unknown }).jmpBench !== undefined);
      const adapter = params.device === 'webgpu' ? await page.evaluate(() => (globalThis as unknown as PageApi).jmpBench.adapter()) : null;
      if (params.device === 'webgpu' && !adapter) throw new Error('no WebGPU adapter in Chromium (flags, or no GPU driver)');
      for (const batch of params.batches) {
        const rows = await page.evaluate((p) => (globalThis as unknown as PageApi).jmpBench.bench(p), {
          model: name,
          device: params.device,
          dtype: params.dtype,
          batch,
          runs: params.runs,
          warmups: 1,
          settings: params.settings,
          ...(params.task ? { task: params.task } : {}),
          ...(params.size ? { size: params.size } : {}),
        });
        for (const row of rows) params.onRow(batch, row);
      }
      return { adapter };
    } finally {
      await context.cleanup();
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `bench --browser wasm|webgpu`: the same settings and table, timed in headless Chromium. */
export async function benchBrowserCommand(
  args: Args,
  o: BenchOptions & { dir: string; device: 'wasm' | 'webgpu'; gpu: 'swiftshader' | 'hardware'; load: () => Promise<Classifier> },
): Promise<void> {
  // the plan's sizes come from a Node pipeline of the same model (nothing is timed in Node)
  const settings = benchSettings(args, o.methods, await probeInfo(o.load), o.tau, o.tauSpec, o.runner);
  console.log(
    `bench: ${o.dir} (${o.dtype}) in headless Chromium on ${o.device}${o.device === 'webgpu' ? ` (${o.gpu})` : ''}, runner ${o.runner}, ${o.runs} alternating rounds per setting, batches ${o.batches.join(', ')}`,
  );
  if (o.device === 'webgpu' && o.gpu === 'swiftshader') console.log('(SwiftShader is WebGPU in software: these timings say nothing about a GPU)');
  console.log(`(τ ${o.tau} / ${o.tauSpec} for the adaptive strategies: the benchmark model has random weights, so only speed means something here)\n`);
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
