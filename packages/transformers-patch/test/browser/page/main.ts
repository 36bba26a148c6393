/// <reference lib="dom" />
// The page the browser suite drives: transformers.js's web build (onnxruntime-web) with JMP, on
// `wasm` or `webgpu`. It records every GPU buffer mapped for reading, so that a test can prove
// that nothing but the outputs comes back to the CPU during a forward pass.
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { calibrateJMP, createJMPPipeline, enableJMP, type JMPOptions, type JMPPlan } from '../../../src/index.web.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
(env.backends.onnx as { wasm: { wasmPaths: unknown } }).wasm.wasmPaths = '/ort/';

interface Readback {
  size: number;
}
const readbacks: Readback[] = [];
let counting = false;
const gpuBuffer = (globalThis as { GPUBuffer?: { prototype: { mapAsync: (mode: number, ...rest: unknown[]) => Promise<void>; size: number } } }).GPUBuffer;
if (gpuBuffer) {
  const mapAsync = gpuBuffer.prototype.mapAsync;
  gpuBuffer.prototype.mapAsync = function (this: { size: number }, mode: number, ...rest: unknown[]) {
    if (counting && mode & 1 /* GPUMapMode.READ */) readbacks.push({ size: this.size });
    return mapAsync.call(this, mode, ...rest);
  };
}

export interface CaseInput {
  name: string;
  options: JMPOptions | null;
}
export interface CaseResult {
  name: string;
  logits: number[];
  tokens: number[] | null;
  decisions: string[][] | null;
  runner: string | null;
  /** GPU buffers mapped for reading during the second forward pass (bytes each). */
  readbacks: number[];
}

type Classifier = ((x: unknown, o?: unknown) => Promise<unknown>) & {
  model: ((inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>) & { sessions: Record<string, unknown> };
  tokenizer?: (texts: string[], options: Record<string, unknown>) => Record<string, Tensor>;
  dispose(): Promise<void>;
};

/**
 * Runs each case on one input. `labels`: a CLIP zero-shot pipeline, fed these texts beside the
 * pixels; its `image_embeds` come back as `logits`. `features`: an image-feature-extraction
 * pipeline; its `last_hidden_state` comes back as `logits`. `depth`: a depth-estimation pipeline; its
 * `predicted_depth` comes back as `logits`.
 */
async function run(params: {
  model: string;
  device: 'wasm' | 'webgpu';
  dtype: string;
  pixels: number[];
  dims: number[];
  cases: CaseInput[];
  sessionOptions?: Record<string, unknown>;
  labels?: string[];
  features?: boolean;
  depth?: boolean;
}): Promise<CaseResult[]> {
  const task = params.labels
    ? 'zero-shot-image-classification'
    : params.features
      ? 'image-feature-extraction'
      : params.depth
        ? 'depth-estimation'
        : 'image-classification';
  const classifier = (await pipeline(task, params.model, {
    device: params.device,
    dtype: params.dtype as 'fp32',
    ...(params.sessionOptions ? { session_options: params.sessionOptions } : {}),
  })) as unknown as Classifier;
  const pixels = new Tensor('float32', Float32Array.from(params.pixels), params.dims);
  const input = params.labels
    ? { ...classifier.tokenizer!(params.labels, { padding: 'max_length', truncation: true }), pixel_values: pixels }
    : { pixel_values: pixels };
  const output = params.labels ? 'image_embeds' : params.features ? 'last_hidden_state' : params.depth ? 'predicted_depth' : 'logits';
  const results: CaseResult[] = [];
  try {
    for (const c of params.cases) {
      const jmp = c.options ? await enableJMP(classifier as never, c.options) : null;
      try {
        await classifier.model(input); // first run: shaders, uploads
        readbacks.length = 0;
        counting = true;
        const logits = ((await classifier.model(input)) as unknown as Record<string, Tensor>)[output]!;
        counting = false;
        const call = jmp?.stats().lastCall;
        results.push({
          name: c.name,
          logits: Array.from(logits.data as Float32Array),
          tokens: call ? call.blocks.map((b) => b.tokensIn) : null,
          decisions: call ? call.images.map((image) => image.map((r) => r.decision)) : null,
          runner: jmp?.info?.runner ?? null,
          readbacks: readbacks.map((r) => r.size),
        });
      } finally {
        counting = false;
        await jmp?.dispose();
      }
    }
  } finally {
    await classifier.dispose();
  }
  return results;
}

/** `calls` forward passes in flight at once on one patched pipeline, and the same calls one by one. */
async function concurrent(params: {
  model: string;
  device: 'wasm' | 'webgpu';
  options: JMPOptions;
  pixels: number[];
  dims: number[];
  calls: number;
}): Promise<{ sequential: number[][]; concurrent: number[][] }> {
  const classifier = (await pipeline('image-classification', params.model, { device: params.device, dtype: 'fp32' })) as unknown as Classifier;
  const jmp = await enableJMP(classifier as never, params.options);
  try {
    const per = params.dims.slice(1).reduce((a, b) => a * b, 1);
    // call i gets image i mod B of the batch, so the calls differ
    const inputs = Array.from({ length: params.calls }, (_, i) => {
      const b = i % params.dims[0]!;
      return new Tensor('float32', Float32Array.from(params.pixels.slice(b * per, (b + 1) * per)), [1, ...params.dims.slice(1)]);
    });
    const sequential: number[][] = [];
    for (const input of inputs) sequential.push(Array.from((await classifier.model({ pixel_values: input })).logits.data as Float32Array));
    const results = await Promise.all(inputs.map((input) => classifier.model({ pixel_values: input })));
    return { sequential, concurrent: results.map((r) => Array.from(r.logits.data as Float32Array)) };
  } finally {
    await jmp.dispose();
    await classifier.dispose();
  }
}

/** calibrateJMP on pixel values, then the plan (through JSON) in enableJMP: logits of the planned pipeline. */
async function calibrate(params: {
  model: string;
  device: 'wasm' | 'webgpu';
  pixels: number[];
  dims: number[];
  taus: number[];
}): Promise<{ plan: JMPPlan; progress: number; logits: number[]; planned: number[] }> {
  const classifier = (await pipeline('image-classification', params.model, { device: params.device, dtype: 'fp32' })) as unknown as Classifier;
  try {
    const x = new Tensor('float32', Float32Array.from(params.pixels), params.dims);
    let progress = 0;
    const plan = await calibrateJMP(classifier as never, x, { taus: params.taus, batchSize: 8, onProgress: () => progress++ });
    const jmp = await enableJMP(classifier as never, { plan: JSON.parse(JSON.stringify(plan)) as JMPPlan });
    try {
      const out = await classifier.model({ pixel_values: x });
      return { plan, progress, logits: Array.from(out.logits.data as Float32Array), planned: jmp.info!.schedule.map((s) => s.amount) };
    } finally {
      await jmp.dispose();
    }
  } finally {
    await classifier.dispose();
  }
}

/** createJMPPipeline asked for `webgpu` where no WebGPU adapter is found (stubbed here). */
async function withoutWebGPU(params: {
  model: string;
  options: JMPOptions;
  pixels: number[];
  dims: number[];
}): Promise<{ warnings: string[]; device: string | null; logits: number[] }> {
  const gpu = (navigator as { gpu?: { requestAdapter: () => Promise<unknown> } }).gpu;
  const requestAdapter = gpu?.requestAdapter;
  if (gpu) gpu.requestAdapter = async () => null;
  const warnings: string[] = [];
  try {
    const { classifier, jmp } = await createJMPPipeline(
      params.model,
      { ...params.options, warn: (m) => warnings.push(m) },
      { device: 'webgpu', dtype: 'fp32' },
    );
    try {
      const out = await (classifier as unknown as Classifier).model({ pixel_values: new Tensor('float32', Float32Array.from(params.pixels), params.dims) });
      return { warnings, device: jmp.info?.device ?? null, logits: Array.from(out.logits.data as Float32Array) };
    } finally {
      await jmp.dispose();
      await (classifier as unknown as Classifier).dispose();
    }
  } finally {
    if (gpu && requestAdapter) gpu.requestAdapter = requestAdapter;
  }
}

/**
 * A patched pipeline on WebGPU whose device is lost between two calls (destroyed here): the second
 * call should warn and run on wasm. Leaves this page without WebGPU.
 */
async function deviceLost(params: { model: string; options: JMPOptions; pixels: number[]; dims: number[] }): Promise<{
  warnings: string[];
  before: number[];
  after: number[] | null;
  error: string | null;
  enabled: boolean;
}> {
  const warnings: string[] = [];
  const classifier = (await pipeline('image-classification', params.model, { device: 'webgpu', dtype: 'fp32' })) as unknown as Classifier;
  const jmp = await enableJMP(classifier as never, { ...params.options, warn: (m) => warnings.push(m) });
  const input = new Tensor('float32', Float32Array.from(params.pixels), params.dims);
  try {
    const before = Array.from((await classifier.model({ pixel_values: input })).logits.data as Float32Array);
    const device = await (env.backends.onnx as { webgpu: { device: Promise<{ destroy(): void; lost: Promise<unknown> }> } }).webgpu.device;
    device.destroy();
    await device.lost;
    let after: number[] | null = null;
    let error: string | null = null;
    try {
      after = Array.from((await classifier.model({ pixel_values: input })).logits.data as Float32Array);
    } catch (e) {
      error = String(e);
    }
    return { warnings, before, after, error, enabled: jmp.enabled };
  } finally {
    await jmp.dispose().catch(() => {});
    await classifier.dispose().catch(() => {});
  }
}

/** Whether the WebGPU adapter has shader-f16 (transformers.js needs it for fp16 models on webgpu). */
async function hasShaderF16(): Promise<boolean> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ features: { has(f: string): boolean } } | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  return !!adapter?.features.has('shader-f16');
}

async function hasWebGPU(): Promise<boolean> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return !!gpu && (await gpu.requestAdapter()) !== null;
}

Object.assign(globalThis, { jmpTest: { run, concurrent, withoutWebGPU, deviceLost, hasWebGPU, hasShaderF16, calibrate } });
document.getElementById('status')!.textContent = 'ready';
