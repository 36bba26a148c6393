import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JMPOptions } from '@jmpjs/transformers-patch';

/** What the bench page returns per setting (apps/eval/demo/src/bench.ts). */
export interface BrowserBenchRow {
  label: string;
  plainMs: number;
  patchedMs: number;
  gmacs: number;
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
