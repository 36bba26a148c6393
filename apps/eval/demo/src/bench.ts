// The browser benchmark's page (driven by `pnpm bench --browser wasm|webgpu`): a plain and a
// patched pipeline of the same model, timed in alternating rounds on the model alone (the same
// forward-only timing as the Node benchmark), per setting and batch size.
import { pipeline, type Tensor } from '@huggingface/transformers';
import { enableJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import { randomPixels } from '../../src/random-pixels.js';
import './offline-env.js';
import { median, timeAlternating } from './timing.js';

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
  /** The pipeline's task (default image-classification: `bench --tokens` also runs depth-estimation). */
  task?: string;
  /** The input's side (default 224). */
  size?: number;
}
export interface BenchRow {
  label: string;
  plainMs: number;
  patchedMs: number;
  gmacs: number;
  plainGmacs: number;
}

async function bench(params: BenchParams): Promise<BenchRow[]> {
  const load = async () =>
    (await pipeline((params.task ?? 'image-classification') as 'image-classification', params.model, {
      device: params.device,
      dtype: params.dtype as 'fp32',
    })) as unknown as Classifier;
  const plain = await load();
  const patched = await load();
  const x = randomPixels(params.batch, params.size ?? 224);
  const rows: BenchRow[] = [];
  try {
    for (const setting of params.settings) {
      const jmp = await enableJMP(patched as never, setting.options);
      try {
        const [plainMs, patchedMs] = await timeAlternating([() => plain.model({ pixel_values: x }), () => patched.model({ pixel_values: x })], {
          warmups: params.warmups,
          runs: params.runs,
        });
        const stats = jmp.stats();
        rows.push({
          label: setting.label,
          plainMs: median(plainMs!),
          patchedMs: median(patchedMs!),
          gmacs: stats.meanGmacsPerImage,
          plainGmacs: stats.plainGmacsPerImage,
        });
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
