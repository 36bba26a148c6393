/// <reference lib="dom" />
// The page the browser suite drives: transformers.js's web build (onnxruntime-web) with JMP, on
// `wasm` or `webgpu`. It records every GPU buffer mapped for reading, so that a test can prove
// that nothing but the outputs comes back to the CPU during a forward pass.
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { enableJMP, type JMPOptions } from '../../../src/index.web.js';

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
  dispose(): Promise<void>;
};

async function run(params: { model: string; device: 'wasm' | 'webgpu'; dtype: string; pixels: number[]; dims: number[]; cases: CaseInput[]; sessionOptions?: Record<string, unknown> }): Promise<CaseResult[]> {
  const classifier = (await pipeline('image-classification', params.model, { device: params.device, dtype: params.dtype as 'fp32', ...(params.sessionOptions ? { session_options: params.sessionOptions } : {}) })) as unknown as Classifier;
  const input = new Tensor('float32', Float32Array.from(params.pixels), params.dims);
  const results: CaseResult[] = [];
  try {
    for (const c of params.cases) {
      const jmp = c.options ? await enableJMP(classifier as never, c.options) : null;
      try {
        await classifier.model({ pixel_values: input }); // first run: shaders, uploads
        readbacks.length = 0;
        counting = true;
        const { logits } = await classifier.model({ pixel_values: input });
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

async function hasWebGPU(): Promise<boolean> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return !!gpu && (await gpu.requestAdapter()) !== null;
}

Object.assign(globalThis, { jmpTest: { run, hasWebGPU } });
document.getElementById('status')!.textContent = 'ready';
