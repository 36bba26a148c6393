// The browser benchmark's page (driven by `pnpm bench --browser wasm|webgpu`): a plain and a
// patched pipeline of the same model, timed in alternating rounds on the model alone (the same
// forward-only timing as the Node benchmark), per setting and batch size.
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { enableJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import { median, timeAlternating } from './timing.js';

const here = new URL('./', document.baseURI);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = new URL('models/', here).pathname;
env.useBrowserCache = false;
(env.backends.onnx as { wasm: { wasmPaths: unknown } }).wasm.wasmPaths = new URL('ort/', here).pathname;

type Model = ((inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>) & object;
type Classifier = { model: Model; dispose(): Promise<void> };

export interface BenchParams {
  model: string;
  device: 'wasm' | 'webgpu';
  dtype: string;
  batch: number;
  runs: number;
  warmups: number;
  settings: { label: string; options: JMPOptions }[];
}
export interface BenchRow {
  label: string;
  plainMs: number;
  patchedMs: number;
  gmacs: number;
}

/** Seeded pixels in [-1, 1] (as the Node benchmark). */
function randomPixels(batch: number): Tensor {
  const data = new Float32Array(batch * 3 * 224 * 224);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (x / 0x7fffffff) * 2 - 1;
  }
  return new Tensor('float32', data, [batch, 3, 224, 224]);
}

async function bench(params: BenchParams): Promise<BenchRow[]> {
  const load = async () => (await pipeline('image-classification', params.model, { device: params.device, dtype: params.dtype as 'fp32' })) as unknown as Classifier;
  const plain = await load();
  const patched = await load();
  const x = randomPixels(params.batch);
  const rows: BenchRow[] = [];
  try {
    for (const setting of params.settings) {
      const jmp = await enableJMP(patched as never, setting.options);
      try {
        const [plainMs, patchedMs] = await timeAlternating([() => plain.model({ pixel_values: x }), () => patched.model({ pixel_values: x })], {
          warmups: params.warmups,
          runs: params.runs,
        });
        rows.push({ label: setting.label, plainMs: median(plainMs!), patchedMs: median(patchedMs!), gmacs: jmp.stats().meanGmacsPerImage });
        console.log(`[bench] ${setting.label} batch ${params.batch}: plain ${median(plainMs!).toFixed(1)} ms, patched ${median(patchedMs!).toFixed(1)} ms`);
      } finally {
        await jmp.dispose();
      }
    }
  } finally {
    await plain.dispose();
    await patched.dispose();
  }
  return rows;
}

async function adapter(): Promise<string | null> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu;
  const a = gpu ? await gpu.requestAdapter() : null;
  if (!a) return null;
  const info = a.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}

Object.assign(globalThis, { jmpBench: { bench, adapter } });
document.getElementById('status')!.textContent = 'ready';
