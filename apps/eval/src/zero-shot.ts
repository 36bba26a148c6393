import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, type Tensor } from '@huggingface/transformers';
import { modelPath } from '@jmpjs/fixtures';
import { enableJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import { UsageError, budgetArg, int, type Args } from './args.js';
import { committedDataset } from './data.js';
import { pairedCounts } from './evaluate.js';
import { Progress, interrupt, InterruptedError } from './progress.js';

type ZeroShot = {
  model: ((inputs: Record<string, unknown>) => Promise<Record<string, Tensor>>) & { config: Record<string, unknown> };
  processor: (images: unknown[]) => Promise<{ pixel_values: Tensor }>;
  tokenizer: (texts: string[], options: Record<string, unknown>) => Record<string, Tensor>;
  dispose(): Promise<void>;
};

/** The Fashion-MNIST class names, as the committed classifiers label them. */
async function fmnistClassNames(): Promise<string[]> {
  const config = JSON.parse(await readFile(path.join(modelPath('fmnist-deit'), 'config.json'), 'utf8')) as { id2label: Record<string, string> };
  return Object.keys(config.id2label)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => config.id2label[k]!);
}

function argmaxRows(x: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c]! > x[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/**
 * `eval zero-shot`: a CLIP or SigLIP zero-shot pipeline (default: the committed tiny-clip; or tiny-siglip) on Fashion-MNIST
 * images with the class names as prompts ("a photo of a {class}"), plain and with JMP (the default,
 * or `--budget`): how often JMP's top-1 is the plain pipeline's, each one's top-1 against the labels,
 * and the paired counts. The same batches go through both.
 */
export async function zeroShotCommand(args: Args): Promise<void> {
  const model = args.model ?? 'tiny-clip';
  // the committed zero-shot fixtures by name, else a folder
  const dir = model === 'tiny-clip' || model === 'tiny-siglip' ? path.join(path.dirname(modelPath('tiny-clip')), model) : model;
  const dtype = args.dtype ?? 'fp32';
  if (!['fp32', 'fp16', 'q8'].includes(dtype)) throw new UsageError(`--dtype: expected fp32, fp16 or q8, found '${dtype}'`);
  const data = committedDataset(args.data ?? 'fmnist-test');
  const limit = Math.min(data.size, int('limit', args.limit, 1000));
  const batchSize = int('batch', args.batch, 32);
  const budget = budgetArg(args.budget);
  const names = await fmnistClassNames();
  const prompts = names.map((n) => `a photo of a ${n}`);
  const pipe = (await pipeline('zero-shot-image-classification', dir, { dtype: dtype as 'fp32' })) as unknown as ZeroShot;
  try {
    const text = pipe.tokenizer(prompts, { padding: 'max_length', truncation: true });
    const progress = new Progress(2 * limit, 'plain');
    const top1 = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let start = 0; start < limit; start += batchSize) {
        if (interrupt.requested) throw new InterruptedError();
        const images = [];
        for (let i = start; i < Math.min(limit, start + batchSize); i++) images.push(await data.image(i));
        const { pixel_values } = await pipe.processor(images);
        const { logits_per_image } = await pipe.model({ ...text, pixel_values });
        out.push(...argmaxRows(logits_per_image!.data as Float32Array, prompts.length));
        progress.tick(images.length);
      }
      return out;
    };
    const plain = await top1();
    const options: JMPOptions = budget === undefined ? {} : { budget };
    const jmp = await enableJMP(pipe as never, options);
    let reduced: number[];
    try {
      progress.setLabel('jmp');
      reduced = await top1();
    } finally {
      progress.finish();
    }
    const info = jmp.info!;
    const stats = jmp.stats();
    await jmp.dispose();
    const labels = Array.from({ length: limit }, (_, i) => data.label(i));
    const correct = (p: number[]) => Uint8Array.from(p, (c, i) => (c === labels[i] ? 1 : 0));
    const [cPlain, cJmp] = [correct(plain), correct(reduced)];
    const agree = reduced.filter((c, i) => c === plain[i]).length;
    const pct = (n: number) => `${((100 * n) / limit).toFixed(2)} %`;
    const sum = (c: Uint8Array) => c.reduce((a, b) => a + b, 0);
    const p = pairedCounts(cJmp, cPlain);
    console.log(
      `zero-shot: ${dir} (${dtype}) on ${data.name}, ${limit} images, prompts "a photo of a {class}" for the ${names.length} classes, batch ${batchSize}`,
    );
    console.log(
      `JMP: ${Object.keys(options).length ? `budget ${budget}` : 'the default'} (keep ${info.schedule.map((s) => s.amount.toFixed(4)).join('/')} at blocks ${info.reductionBlocks.join(', ')}, head-only last block ${info.headOnly ? 'on' : 'off'}): vision tower ${stats.meanGmacsPerImage.toFixed(4)} GMACs against ${stats.plainGmacsPerImage.toFixed(4)} (${((stats.meanGmacsPerImage / stats.plainGmacsPerImage - 1) * 100).toFixed(1)} %)`,
    );
    console.log(`top-1 agreement with the plain pipeline: ${pct(agree)} (${agree} of ${limit})`);
    console.log(`top-1 against the labels: plain ${pct(sum(cPlain))}, JMP ${pct(sum(cJmp))} (+${p.gained} / −${p.lost} against the plain pipeline)`);
  } finally {
    await pipe.dispose();
  }
}
