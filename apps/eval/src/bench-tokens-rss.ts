// The peak RSS of one pipeline alone, for `bench --tokens` (bench-tokens.ts runs this file in a fresh
// Node process per model and pipeline): loads the pipeline (with JMP when asked), runs two forwards
// at each batch size in turn and prints, as one JSON line, the process's high-water mark after each
// batch (process.resourceUsage().maxRSS, MiB). The mark never falls: a batch's figure covers the
// load and the batches before it too.
import { env, pipeline } from '@huggingface/transformers';
import { enableJMP } from '@jmpjs/transformers-patch';
import type { RssJob } from './bench-tokens.js';
import type { Classifier } from './classifier.js';
import { randomPixels } from './random-pixels.js';

env.allowRemoteModels = false;

const job = JSON.parse(process.argv[2]!) as RssJob;
const pipe = (await pipeline(job.task as 'image-classification', job.dir, {
  dtype: job.dtype as 'fp32',
  device: job.device as 'cpu',
})) as unknown as Classifier;
const jmp = job.jmp ? await enableJMP(pipe, job.jmp) : undefined;
const peak: Record<number, number> = {};
for (const batch of job.batches) {
  const x = randomPixels(batch, job.size);
  for (let i = 0; i < 2; i++) await pipe.model({ pixel_values: x });
  peak[batch] = process.resourceUsage().maxRSS / 1024; // KiB -> MiB
}
await jmp?.dispose();
await pipe.dispose();
console.log(JSON.stringify(peak));
