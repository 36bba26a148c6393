/**
 * Speed of the patched pipeline against the plain one, measured side by side in one run on the
 * DeiT-S-architecture fixture (generated and cached on first use): segmenting overhead at keep = 1
 * and the speedup of the default schedule (keep 0.7 at blocks 4/7/10), at batch 1 and 32.
 *
 *   pnpm --filter @jmpjs/transformers-patch bench [-- --runs 10 --batches 1,32 --dtype fp32]
 *
 * Two pipelines of the model, one plain and one patched, run alternately (after a warm-up call each)
 * so that drift on a shared machine hits both alike; the figure is the ratio of median latencies.
 */
import { Tensor, env, pipeline } from '@huggingface/transformers';
import { ensureBenchModel } from '@jmpjs/fixtures';
import { enableJMP, type JMPHandle, type JMPOptions } from '../src/index.js';

env.allowRemoteModels = false;
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const RUNS = Number(arg('runs', '10'));
const BATCHES = arg('batches', '1,32').split(',').map(Number);
const DTYPE = arg('dtype', 'fp32') as 'fp32' | 'fp16' | 'q8';

type Model = (inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>;
const dir = await ensureBenchModel('deit-small', { dtypes: [DTYPE] });
type Classifier = { model: Model; dispose(): Promise<void> };
const load = async () => (await pipeline('image-classification', dir, { dtype: DTYPE })) as unknown as Classifier;
// Two pipelines of the same model: one stays plain, the other is patched (warm sessions on both sides).
const plainClassifier = await load();
const patchedClassifier = await load();

function input(batch: number): Tensor {
  const data = new Float32Array(batch * 3 * 224 * 224);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (x / 0x7fffffff) * 2 - 1;
  }
  return new Tensor('float32', data, [batch, 3, 224, 224]);
}

async function time(classifier: Classifier, x: Tensor): Promise<number> {
  const t0 = performance.now();
  await classifier.model({ pixel_values: x });
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function compare(label: string, options: JMPOptions, batch: number): Promise<void> {
  const x = input(batch);
  const jmp: JMPHandle = await enableJMP(patchedClassifier, options);
  const plain: number[] = [];
  const patched: number[] = [];
  await time(plainClassifier, x);
  await time(patchedClassifier, x);
  for (let round = 0; round < RUNS; round++) {
    plain.push(await time(plainClassifier, x));
    patched.push(await time(patchedClassifier, x));
  }
  const gmacs = jmp.stats().lastCall!.gmacsPerImage;
  await jmp.dispose();
  const mp = median(plain);
  const mq = median(patched);
  console.log(
    `${label.padEnd(34)} batch ${String(batch).padStart(2)}: plain ${mp.toFixed(1).padStart(8)} ms, patched ${mq.toFixed(1).padStart(8)} ms, ` +
      `speedup ${(mp / mq).toFixed(3)}x, ${gmacs.toFixed(2)} GMACs/image`,
  );
}

console.log(`DeiT-S architecture (${DTYPE}), onnxruntime-node cpu, median of ${RUNS} alternating rounds`);
for (const batch of BATCHES) {
  await compare('keep = 1 (segmenting overhead)', { strategy: 'prune', keep: 1 }, batch);
  await compare('JMP default schedule (merge path)', { strategy: 'merge', keep: 0.7 }, batch);
  await compare('JMP default schedule (prune path)', { strategy: 'prune', keep: 0.7 }, batch);
}
await plainClassifier.dispose();
await patchedClassifier.dispose();
