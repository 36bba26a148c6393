import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserSuite, launchChromium, ortWebDist, serveStatic } from '@jmpjs/browser-testing';
import { loadReference, modelPath } from '@jmpjs/fixtures';
import { Tensor, env as hostEnv, pipeline } from '@huggingface/transformers';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateJMP, enableJMP, type JMPOptions, type JMPPlan } from '../src/index.js';
import { buildPage } from './browser/build-page.js';
import type { CaseInput, CaseResult } from './browser/page/main.js';
import { LABELS, jmpReference, loadClassifier, logits, maxAbsDiff, type JmpReference, type ReferenceCase } from './helpers.js';

/**
 * The same patched pipelines in a real Chromium (transformers.js's web build, onnxruntime-web):
 * on `wasm` and on `webgpu` (SwiftShader here: slow, so few cases), against the independent
 * PyTorch reference and against the Node results of the same cases.
 */
const PER_IMAGE = 3 * 224 * 224;
const fixtures = path.dirname(modelPath('tiny-vit'));
// the transformers.js under test (vitest.v3.config.ts points this at v3)
const transformersEntry = fileURLToPath(import.meta.resolve('@huggingface/transformers'));
const hostMajor = Number(hostEnv.version.split('.')[0]);
/**
 * transformers.js v3's onnxruntime-web (1.22) runs WebGPU through JSEP, which computes some of the
 * reduction's shape and rank math on the CPU: per reduction a [B, N] float tensor and a few scalars
 * go back and forth. The results are the same; the "only the outputs are read back" checks are v4's.
 */
const readbacksChecked = hostMajor >= 4;

interface PageApi {
  jmpTest: {
    run(params: {
      model: string;
      device: string;
      dtype: string;
      pixels: number[];
      dims: number[];
      cases: CaseInput[];
      labels?: string[];
      features?: boolean;
    }): Promise<CaseResult[]>;
    hasWebGPU(): Promise<boolean>;
    hasShaderF16(): Promise<boolean>;
    deviceLost(params: { model: string; options: JMPOptions; pixels: number[]; dims: number[] }): Promise<{
      warnings: string[];
      before: number[];
      after: number[] | null;
      error: string | null;
      enabled: boolean;
    }>;
    withoutWebGPU(params: {
      model: string;
      options: JMPOptions;
      pixels: number[];
      dims: number[];
    }): Promise<{ warnings: string[]; device: string | null; logits: number[] }>;
    concurrent(params: {
      model: string;
      device: string;
      options: JMPOptions;
      pixels: number[];
      dims: number[];
      calls: number;
    }): Promise<{ sequential: number[][]; concurrent: number[][] }>;
    calibrate(params: {
      model: string;
      device: string;
      pixels: number[];
      dims: number[];
      taus: number[];
    }): Promise<{ plan: JMPPlan; progress: number; logits: number[]; planned: number[] }>;
  };
}

describe.skipIf(!browserSuite('transformers-patch: pipelines in Chromium (wasm, WebGPU)'))('in Chromium', () => {
  let dir = '';
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let context: BrowserContext & { cleanup(): Promise<void> };
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jmp-browser-'));
    await buildPage(path.join(dir, 'page'), transformersEntry);
    server = await serveStatic({ '/models/': fixtures, '/ort/': ortWebDist(process.cwd(), transformersEntry), '/': path.join(dir, 'page') });
    context = await launchChromium({ webgpu: true });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  }, 120_000);
  afterAll(async () => {
    await context?.cleanup();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The cases in the page (batch × 3 × side × side of `pixels`; `labels` for a zero-shot model, `features` for image-feature-extraction). */
  async function runInPage(
    model: string,
    device: 'wasm' | 'webgpu',
    dtype: string,
    batch: number,
    pixels: Float32Array,
    cases: CaseInput[],
    { side = 224, labels, features, depth }: { side?: number; labels?: readonly string[]; features?: boolean; depth?: boolean } = {},
  ): Promise<CaseResult[]> {
    const data = Array.from(pixels.subarray(0, batch * 3 * side * side));
    return page.evaluate((params) => (globalThis as unknown as PageApi).jmpTest.run(params), {
      model,
      device,
      dtype,
      pixels: data,
      dims: [batch, 3, side, side],
      cases,
      ...(labels ? { labels: [...labels] } : {}),
      ...(features ? { features } : {}),
      ...(depth ? { depth } : {}),
    });
  }

  /**
   * tiny-depth-anything's depth-estimation pipeline in the page and in Node, on the fixture's two
   * reference images: the depth maps of each case (the token grid restored where the neck reads it).
   */
  async function depthInPage(device: 'wasm' | 'webgpu', cases: CaseInput[], tolerance: number): Promise<CaseResult[]> {
    const ref = loadReference('tiny-depth-anything');
    const side = ref.dims[2]!;
    const results = await runInPage('tiny-depth-anything', device, 'fp32', 2, ref.pixelValues, cases, { side, depth: true });
    const pipe = (await pipeline('depth-estimation', modelPath('tiny-depth-anything'), { dtype: 'fp32' })) as unknown as {
      model: (i: unknown) => Promise<Record<string, Tensor>>;
      dispose(): Promise<void>;
    };
    try {
      const input = new Tensor('float32', ref.pixelValues, ref.dims);
      for (const [i, c] of cases.entries()) {
        const jmp = c.options ? await enableJMP(pipe as never, c.options) : null;
        const node = Float32Array.from((await pipe.model({ pixel_values: input })).predicted_depth!.data as Float32Array);
        await jmp?.dispose();
        expect(results[i]!.logits.length, c.name).toBe(2 * side * side);
        expect(results[i]!.runner, c.name).toBe(c.options ? 'compiled' : null);
        expect(maxAbsDiff(Float32Array.from(results[i]!.logits), node), c.name).toBeLessThanOrEqual(tolerance);
      }
    } finally {
      await pipe.dispose();
    }
    return results;
  }

  /** The Node results of the same cases (transformers.js on onnxruntime-node, compiled runner). */
  async function nodeResults(
    model: string,
    dtype: 'fp32' | 'fp16' | 'q8',
    batch: number,
    pixels: Float32Array,
    cases: CaseInput[],
    side = 224,
  ): Promise<Float32Array[]> {
    const classifier = await loadClassifier(model, dtype);
    const input = new Tensor('float32', pixels.slice(0, batch * 3 * side * side), [batch, 3, side, side]);
    const out: Float32Array[] = [];
    try {
      for (const c of cases) {
        const jmp = c.options ? await enableJMP(classifier, c.options) : null;
        out.push(await logits(classifier, input));
        await jmp?.dispose();
      }
    } finally {
      await classifier.dispose();
    }
    return out;
  }

  const compiled = (c: ReferenceCase): CaseInput => ({ name: c.name, options: { ...c.options, runner: 'compiled' } });

  /** Each result is its reference case's: the compiled runner, the token counts, the decisions, and the outputs within `tolerance`. */
  function expectReference(results: CaseResult[], cases: ReferenceCase[], tolerance: number): void {
    cases.forEach((c, i) => {
      const r = results[i]!;
      expect(r.runner, c.name).toBe('compiled');
      expect(r.tokens, c.name).toEqual(c.tokens);
      expect(r.decisions, c.name).toEqual(c.decisions);
      expect(maxAbsDiff(Float32Array.from(r.logits), Float32Array.from(c.logits.flat())), c.name).toBeLessThanOrEqual(tolerance);
    });
  }

  /** The reference cases of batch 4 of a method (and strategy). */
  const pick = (ref: JmpReference, method: string, strategy?: string) =>
    ref.cases.find((c) => c.batch === 4 && c.options.method === method && (strategy === undefined || c.options.strategy === strategy))!;

  /**
   * CLIP's image-feature-extraction (last_hidden_state: the full grid, 4 × 50 × 64) in the page on
   * `device` = in Node (the same cases; no options: plain), within `tolerance`. Returns the page's results.
   */
  async function clipFeaturesInPage(device: 'wasm' | 'webgpu', cases: CaseInput[], tolerance: number): Promise<CaseResult[]> {
    const { ref, pixels } = jmpReference('tiny-clip');
    const side = ref.inputs.height;
    const results = await runInPage('tiny-clip', device, 'fp32', 4, pixels, cases, { side, features: true });
    const pipe = (await pipeline('image-feature-extraction', modelPath('tiny-clip'), { dtype: 'fp32' })) as unknown as {
      model: (i: unknown) => Promise<Record<string, Tensor>>;
      dispose(): Promise<void>;
    };
    try {
      const input = new Tensor('float32', pixels.slice(0, 4 * 3 * side * side), [4, 3, side, side]);
      for (const [i, c] of cases.entries()) {
        const jmp = c.options ? await enableJMP(pipe as never, c.options) : null;
        const node = Float32Array.from((await pipe.model({ pixel_values: input })).last_hidden_state!.data as Float32Array);
        await jmp?.dispose();
        expect(results[i]!.logits.length, c.name).toBe(4 * 50 * 64);
        expect(maxAbsDiff(Float32Array.from(results[i]!.logits), node), c.name).toBeLessThanOrEqual(tolerance);
      }
    } finally {
      await pipe.dispose();
    }
    return results;
  }

  // the opset-11 exports (tooling/fixtures: the same weights) against the same reference, at batch 4
  describe.each([
    ['tiny-vit', 'tiny-vit', [1, 4]],
    ['tiny-deit', 'tiny-deit', [1, 4]],
    ['tiny-vit-op11', 'tiny-vit', [4]],
    ['tiny-deit-op11', 'tiny-deit', [4]],
    // DINOv2 (28×28 crops; the head's patch mean weighted by the merged tokens' sizes)
    ['tiny-dinov2', 'tiny-dinov2', [4]],
  ] as const)('%s on wasm', (model, referenceOf, batches) => {
    const { ref, pixels } = jmpReference(referenceOf);
    const side = ref.inputs.height;
    it.each([...batches])(
      'every reference case at batch %i = PyTorch reference = Node',
      async (batch) => {
        const cases = ref.cases.filter((c) => c.batch === batch);
        const results = await runInPage(model, 'wasm', 'fp32', batch, pixels, cases.map(compiled), { side });
        const node = await nodeResults(model, 'fp32', batch, pixels, cases.map(compiled), side);
        expectReference(results, cases, ref.tolerance);
        cases.forEach((c, i) => expect(maxAbsDiff(Float32Array.from(results[i]!.logits), node[i]!), c.name).toBeLessThanOrEqual(ref.tolerance));
      },
      300_000,
    );
  });

  // CLIP and SigLIP zero-shot (the combined models, text inputs beside the pixels; SigLIP has no
  // class token and its pooling head gets the size bias): image_embeds against the reference
  it.each(['tiny-clip', 'tiny-siglip'])(
    '%s zero-shot on wasm: every reference case at batch 4 = PyTorch reference (image_embeds)',
    async (model) => {
      const { ref, pixels } = jmpReference(model);
      const cases = ref.cases.filter((c) => c.batch === 4);
      const results = await runInPage(model, 'wasm', 'fp32', 4, pixels, cases.map(compiled), { side: ref.inputs.height, labels: LABELS });
      expectReference(results, cases, ref.tolerance);
    },
    300_000,
  );

  // CLIP image-feature-extraction: last_hidden_state with the full token grid given back
  it('tiny-clip image-feature-extraction on wasm: the full token grid = Node', async () => {
    const results = await clipFeaturesInPage(
      'wasm',
      [
        { name: 'plain', options: null },
        { name: 'keep 1', options: { strategy: 'prune', keep: 1 } },
        { name: 'default', options: {} },
        { name: 'tome r6', options: { method: 'tome', r: 6 } },
      ],
      1e-4,
    );
    expect(maxAbsDiff(Float32Array.from(results[1]!.logits), Float32Array.from(results[0]!.logits))).toBeLessThanOrEqual(1e-5);
  }, 300_000);

  // Depth Anything: the DPT neck reads every block's token grid, restored from the reduced tokens
  it('tiny-depth-anything depth-estimation on wasm: keep 1 = plain, and JMP, ToMe = Node', async () => {
    const results = await depthInPage(
      'wasm',
      [
        { name: 'plain', options: null },
        { name: 'keep 1', options: { strategy: 'prune', keep: 1 } },
        { name: 'keep 0.7', options: { keep: 0.7 } },
        { name: 'tome r8', options: { method: 'tome', r: 8 } },
      ],
      1e-4,
    );
    expect(maxAbsDiff(Float32Array.from(results[1]!.logits), Float32Array.from(results[0]!.logits))).toBeLessThanOrEqual(1e-5);
  }, 300_000);

  // SDPA-decomposed attention (tooling/fixtures): its own scaling, so Node is the reference
  it.each([
    ['tiny-vit-sdpa', 'tiny-vit'],
    ['tiny-deit-sdpa', 'tiny-deit'],
  ])(
    '%s on wasm = Node, the reference cases at batch 4 (its own scaling: not the eager reference)',
    async (model, referenceOf) => {
      const { ref, pixels } = jmpReference(referenceOf);
      const cases = ref.cases.filter((c) => c.batch === 4);
      const results = await runInPage(model, 'wasm', 'fp32', 4, pixels, cases.map(compiled));
      const node = await nodeResults(model, 'fp32', 4, pixels, cases.map(compiled));
      cases.forEach((c, i) => {
        expect(results[i]!.runner, c.name).toBe('compiled');
        expect(results[i]!.tokens, c.name).toEqual(c.tokens);
        expect(maxAbsDiff(Float32Array.from(results[i]!.logits), node[i]!), c.name).toBeLessThanOrEqual(ref.tolerance);
      });
    },
    300_000,
  );

  it.for(['fp16', 'q8'] as const)('tiny-deit %s on wasm = Node', { timeout: 300_000 }, async (dtype, ctx) => {
    // v3's wasm (onnxruntime-web 1.22) and Node (onnxruntime-node 1.21) fp16 results: plain 2.4e-4
    // apart, JMP merge 2.2e-3 (two fp16 steps of the largest logit) where v4's are 5e-4: not checked on v3
    if (dtype === 'fp16' && hostMajor < 4) {
      console.log('[skipped] fp16 on wasm = Node: not on transformers.js v3 (see the comment)');
      ctx.skip();
    }
    const { ref, pixels } = jmpReference('tiny-deit');
    const cases = ref.cases.filter((c) => c.batch === 4 && ['adaptive', 'merge'].includes(c.options.strategy ?? '') && c.options.method === 'jmp').slice(0, 2);
    expect(cases.length).toBe(2);
    const inputs: CaseInput[] = [{ name: 'plain', options: null }, ...cases.map(compiled)];
    const [plain, ...results] = await runInPage('tiny-deit', 'wasm', dtype, 4, pixels, inputs);
    const [nodePlain, ...node] = await nodeResults('tiny-deit', dtype, 4, pixels, inputs);
    // wasm's and Node's CPU kernels differ (q8: dynamic quantization rounds differently; measured
    // here, plain 2.2e-2 and JMP 4.6e-2 apart), so the bound scales with how far apart the plain
    // pipelines are, and is at least 1e-3 (fp16: 1.9e-4 plain, 5.1e-4 JMP)
    const bound = Math.max(1e-3, 3 * maxAbsDiff(Float32Array.from(plain!.logits), nodePlain!));
    cases.forEach((c, i) => {
      expect(results[i]!.tokens).toEqual(c.tokens);
      expect(maxAbsDiff(Float32Array.from(results[i]!.logits), node[i]!), c.name).toBeLessThanOrEqual(bound);
    });
  });

  it('16 calls in flight at once on one patched pipeline (wasm) = the same calls one by one', async () => {
    const { ref, pixels } = jmpReference('tiny-deit');
    const c = ref.cases.find((x) => x.batch === 4 && x.options.strategy === 'adaptive')!;
    const out = await page.evaluate((params) => (globalThis as unknown as PageApi).jmpTest.concurrent(params), {
      model: 'tiny-deit',
      device: 'wasm',
      options: { ...c.options, runner: 'compiled' as const },
      pixels: Array.from(pixels.subarray(0, 4 * PER_IMAGE)),
      dims: [4, 3, 224, 224],
      calls: 16,
    });
    expect(out.concurrent).toHaveLength(16);
    out.concurrent.forEach((logitsOf, i) => expect(logitsOf, `call ${i}`).toEqual(out.sequential[i]));
  }, 120_000);

  it("createJMPPipeline asked for 'webgpu' without a WebGPU adapter: warns and runs on wasm", async () => {
    const { ref, pixels } = jmpReference('tiny-deit');
    const c = ref.cases.find((x) => x.batch === 1 && x.options.strategy === 'adaptive')!;
    const out = await page.evaluate((params) => (globalThis as unknown as PageApi).jmpTest.withoutWebGPU(params), {
      model: 'tiny-deit',
      options: { ...c.options, runner: 'compiled' as const },
      pixels: Array.from(pixels.subarray(0, PER_IMAGE)),
      dims: [1, 3, 224, 224],
    });
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toContain("device 'wasm'");
    expect(out.device).toBe('wasm');
    expect(maxAbsDiff(Float32Array.from(out.logits), Float32Array.from(c.logits.flat()))).toBeLessThanOrEqual(ref.tolerance);
  }, 120_000);

  it('calibrateJMP → plan → enableJMP({ plan }) on wasm: the plan Node makes, and the same logits', async () => {
    const { pixels: all } = jmpReference('tiny-vit');
    const n = 16;
    const data = new Float32Array(n * PER_IMAGE);
    for (let i = 0; i < n; i++) data.set(all.subarray((i % 4) * PER_IMAGE, ((i % 4) + 1) * PER_IMAGE), i * PER_IMAGE);
    for (let i = 0; i < data.length; i += 997) data[i] = -data[i]!; // 16 different images
    const taus = [0.5, 0.9];
    const out = await page.evaluate((params) => (globalThis as unknown as PageApi).jmpTest.calibrate(params), {
      model: 'tiny-vit',
      device: 'wasm',
      pixels: Array.from(data),
      dims: [n, 3, 224, 224],
      taus,
    });
    expect(out.progress).toBe(2 * 3); // two batches of 8, plain and two candidates
    expect(out.planned).toEqual(out.plan.options.keep);
    // Node calibrates the same images to the same plan (the graph fingerprint included) and logits
    const classifier = await loadClassifier('tiny-vit');
    try {
      const x = new Tensor('float32', data, [n, 3, 224, 224]);
      const plan = await calibrateJMP(classifier, x, { taus, batchSize: 8 });
      expect(out.plan.model.fingerprint).toBe(plan.model.fingerprint);
      expect(out.plan.options).toEqual(plan.options);
      expect(out.plan.measured.agreement).toBe(plan.measured.agreement);
      const jmp = await enableJMP(classifier, { plan: out.plan });
      try {
        expect(maxAbsDiff(Float32Array.from(out.logits), await logits(classifier, x))).toBeLessThanOrEqual(1e-4);
      } finally {
        await jmp.dispose();
      }
    } finally {
      await classifier.dispose();
    }
  }, 180_000);

  describe('on WebGPU (SwiftShader)', () => {
    let webgpu = false;
    beforeAll(async () => {
      webgpu = await page.evaluate(() => (globalThis as unknown as PageApi).jmpTest.hasWebGPU());
      // WebGPU is part of the suite: without an adapter the browser flags are wrong, not optional
      expect(webgpu, 'navigator.gpu with an adapter (Chromium flags --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader)').toBe(true);
    });

    it('JMP, ToMe and EViT = PyTorch reference (1e-3); token states never read back: only the outputs are', async () => {
      const { ref, pixels } = jmpReference('tiny-deit');
      const cases = [pick(ref, 'jmp', 'adaptive'), pick(ref, 'jmp', 'adaptive-token'), pick(ref, 'tome'), pick(ref, 'evit')];
      const plainCase: CaseInput = { name: 'plain', options: null };
      const results = await runInPage('tiny-deit', 'webgpu', 'fp32', 4, pixels, [plainCase, ...cases.map(compiled)]);
      const [plain, ...patched] = results;
      const numLabels = c0Labels(ref);
      const logitsBytes = 4 * numLabels * 4;
      // the plain pipeline reads back its logits only
      expect(plain!.readbacks).toEqual([logitsBytes]);
      cases.forEach((c, i) => {
        const r = patched[i]!;
        expect(r.tokens, c.name).toEqual(c.tokens);
        expect(r.decisions, c.name).toEqual(c.decisions);
        expect(maxAbsDiff(Float32Array.from(r.logits), Float32Array.from(c.logits.flat())), c.name).toBeLessThanOrEqual(1e-3);
        // Every buffer mapped for reading during the forward pass is a graph output: the logits and,
        // per JMP reduction, σ [B] and the merged count [B] (statistics). Nothing of size
        // tokens × channels, no index tensor, no token count.
        const stats = c.options.method === 'jmp' ? c.options.blocks!.length * 2 : 0;
        if (readbacksChecked)
          expect(
            [...r.readbacks].sort((a, b) => a - b),
            c.name,
          ).toEqual([...Array<number>(stats).fill(4 * 4), logitsBytes]);
      });
    }, 600_000);

    it.each(['tiny-deit-op11', 'tiny-deit-sdpa'])(
      '%s: the reference case (adaptive-token) on WebGPU; only the outputs read back',
      async (model) => {
        const { ref, pixels } = jmpReference('tiny-deit');
        const c = ref.cases.find((x) => x.batch === 4 && x.options.method === 'jmp' && x.options.strategy === 'adaptive-token')!;
        const [r] = await runInPage(model, 'webgpu', 'fp32', 4, pixels, [compiled(c)]);
        expect(r!.runner).toBe('compiled');
        expect(r!.tokens).toEqual(c.tokens);
        expect(r!.decisions).toEqual(c.decisions);
        // the same weights: within 1e-3 of the eager opset-14 reference (SDPA scales q and kᵀ instead of the scores)
        expect(maxAbsDiff(Float32Array.from(r!.logits), Float32Array.from(c.logits.flat()))).toBeLessThanOrEqual(1e-3);
        const logitsBytes = 4 * c0Labels(ref) * 4;
        if (readbacksChecked)
          expect([...r!.readbacks].sort((a, b) => a - b)).toEqual([...Array<number>(c.options.blocks!.length * 2).fill(4 * 4), logitsBytes]);
      },
      600_000,
    );

    // the newer model types on WebGPU: DINOv2's weighted patch mean, CLIP's folded heads, SigLIP's P = 0 and pooling-head bias
    it.each([
      ['tiny-dinov2', undefined],
      ['tiny-clip', LABELS],
      ['tiny-siglip', LABELS],
    ] as const)(
      '%s: the reference cases (adaptive-token, ToMe, EViT) on WebGPU = PyTorch reference (1e-3)',
      async (model, labels) => {
        const { ref, pixels } = jmpReference(model);
        const cases = [pick(ref, 'jmp', 'adaptive-token'), pick(ref, 'tome'), pick(ref, 'evit')];
        const results = await runInPage(model, 'webgpu', 'fp32', 4, pixels, cases.map(compiled), { side: ref.inputs.height, labels });
        expectReference(results, cases, 1e-3);
      },
      600_000,
    );

    it('tiny-clip image-feature-extraction on WebGPU: the full token grid = Node (1e-3)', async () => {
      await clipFeaturesInPage(
        'webgpu',
        [
          { name: 'default', options: {} },
          { name: 'tome r6', options: { method: 'tome', r: 6 } },
        ],
        1e-3,
      );
    }, 600_000);

    it('tiny-depth-anything depth-estimation on WebGPU: JMP = Node (1e-3)', async () => {
      await depthInPage('webgpu', [{ name: 'keep 0.7', options: { keep: 0.7 } }], 1e-3);
    }, 600_000);

    it("match 'nearest' on WebGPU (the float form: one-hots, no index ops) = Node's compiled run (index form), 1e-3", async () => {
      const { pixels } = jmpReference('tiny-deit');
      const cases: CaseInput[] = [
        {
          name: 'nearest, adaptive-token τ 0.6, keys-per-head, even blocks',
          options: {
            match: 'nearest',
            metric: 'keys-per-head',
            strategy: 'adaptive-token',
            tau: 0.6,
            keep: 0.8,
            blocks: [2, 4, 6, 8, 10, 12],
            runner: 'compiled',
          },
        },
      ];
      const [result] = await runInPage('tiny-deit', 'webgpu', 'fp32', 4, pixels, cases);
      const [node] = await nodeResults('tiny-deit', 'fp32', 4, pixels, cases);
      expect(result!.runner).toBe('compiled');
      expect(result!.decisions!.flat()).toContain('mixed'); // some tokens merged, some pruned
      expect(maxAbsDiff(Float32Array.from(result!.logits), node!)).toBeLessThanOrEqual(1e-3);
    }, 600_000);

    it('fp16: JMP = Node fp16 (same token counts, logits within 1e-2), where the adapter has shader-f16', async (ctx) => {
      // SwiftShader has no shader-f16 (transformers.js refuses fp16 on such a device): this runs on real GPUs
      if (!(await page.evaluate(() => (globalThis as unknown as PageApi).jmpTest.hasShaderF16()))) ctx.skip();
      const { ref, pixels } = jmpReference('tiny-vit');
      const c = ref.cases.find((x) => x.batch === 4 && x.options.strategy === 'adaptive')!;
      const [result] = await runInPage('tiny-vit', 'webgpu', 'fp16', 4, pixels, [compiled(c)]);
      const [node] = await nodeResults('tiny-vit', 'fp16', 4, pixels, [compiled(c)]);
      expect(result!.tokens).toEqual(c.tokens);
      expect(maxAbsDiff(Float32Array.from(result!.logits), node!)).toBeLessThanOrEqual(1e-2);
    }, 600_000);

    it('the WebGPU device is lost between two calls: a warning, and the call runs on wasm', async () => {
      const { ref, pixels } = jmpReference('tiny-deit');
      const c = ref.cases.find((x) => x.batch === 1 && x.options.strategy === 'adaptive')!;
      // a page of its own: the lost device stays lost for onnxruntime-web in that page
      const lostPage = await context.newPage();
      try {
        await lostPage.goto(`${server.url}/index.html`);
        await lostPage.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
        const out = await lostPage.evaluate((params) => (globalThis as unknown as PageApi).jmpTest.deviceLost(params), {
          model: 'tiny-deit',
          options: { ...c.options, runner: 'compiled' as const },
          pixels: Array.from(pixels.subarray(0, PER_IMAGE)),
          dims: [1, 3, 224, 224],
        });
        expect(out.error).toBeNull();
        expect(out.enabled).toBe(true);
        expect(out.warnings).toHaveLength(1);
        expect(out.warnings[0]).toMatch(/WebGPU device was lost.*wasm/);
        expect(maxAbsDiff(Float32Array.from(out.before), Float32Array.from(c.logits.flat()))).toBeLessThanOrEqual(1e-3);
        expect(maxAbsDiff(Float32Array.from(out.after!), Float32Array.from(c.logits.flat()))).toBeLessThanOrEqual(ref.tolerance);
      } finally {
        await lostPage.close();
      }
    }, 600_000);
  });
});

function c0Labels(ref: JmpReference): number {
  return ref.cases[0]!.logits[0]!.length;
}
