import { pipeline } from '@huggingface/transformers';
import { ensureBenchModel } from '@jmpjs/fixtures';
import { enableJMP, inspectJMP, type JMPHandle } from '@jmpjs/transformers-patch';
import { UsageError, type Args } from './args.js';
import { benchLine, benchSettings, entry, writeBenchJson, type BenchOptions } from './bench-settings.js';
import type { Classifier } from './classifier.js';
import { randomPixels } from './random-pixels.js';
import { median, rotatingRounds } from './timing.js';
import type { BenchResult } from './types.js';

/** The export shapes of the DeiT-S fixture that `bench --shapes` knows. */
export const SHAPES: Record<string, { opset: number; attention: 'eager' | 'sdpa' }> = {
  eager14: { opset: 14, attention: 'eager' },
  opset11: { opset: 11, attention: 'eager' },
  sdpa14: { opset: 14, attention: 'sdpa' },
};

/**
 * `bench --shapes`: the DeiT-S fixture exported several ways, every shape's plain and patched
 * pipelines loaded at once and timed in the same rounds (each round times every shape's plain and
 * patched forward, the shapes' order rotating from round to round). The shapes' ratios then come
 * from the same minutes of the machine, and can be compared with each other: the last columns
 * give each shape's speedup over the first shape's, and how fast its plain and its patched
 * pipeline run against the first shape's (above 1: faster).
 */
export async function benchShapesCommand(args: Args, o: BenchOptions): Promise<void> {
  const names = args.shapes!.split(',');
  for (const sh of names) if (!SHAPES[sh]) throw new UsageError(`--shapes: expected a list of ${Object.keys(SHAPES).join(', ')}, found '${sh}'`);
  if (new Set(names).size !== names.length) throw new UsageError(`--shapes: each shape once, found '${args.shapes}'`);
  const device = (args.device ?? 'cpu') as 'cpu';
  const shapes: { name: string; dir: string; plain: Classifier; patched: Classifier }[] = [];
  try {
    for (const name of names) {
      const dir = await ensureBenchModel('deit-small', { dtypes: [o.dtype], ...SHAPES[name]! });
      const load = async () => (await pipeline('image-classification', dir, { dtype: o.dtype as 'fp32', device })) as unknown as Classifier;
      const plain = await load();
      shapes.push({ name, dir, plain, patched: await load() });
    }
    const info = await inspectJMP(shapes[0]!.patched, { strategy: 'prune' });
    const settings = benchSettings(args, o.methods, info, o.tau, o.tauSpec, o.runner);
    console.log(
      `bench --shapes: the DeiT-S fixture as ${names.join(', ')} (${o.dtype}, ${device}, runner ${o.runner}), ${o.runs} rounds per setting, each timing every shape's plain and patched pipeline, batches ${o.batches.join(', ')}`,
    );
    console.log(`(τ ${o.tau} / ${o.tauSpec} for the adaptive strategies: the benchmark model has random weights, so only speed means something here)\n`);
    const results = new Map<string, BenchResult[]>(names.map((n) => [n, []]));
    for (const batch of o.batches) {
      const x = randomPixels(batch);
      for (const setting of settings) {
        const handles: JMPHandle[] = [];
        try {
          for (const s of shapes) handles.push(await enableJMP(s.patched, setting.options!));
          const times = await rotatingRounds(
            shapes.map((s) => [s.plain, s.patched] as const),
            x,
            o.runs,
          );
          const [b0, p0] = [median(times[0]![0]), median(times[0]![1])];
          for (const [i, s] of shapes.entries()) {
            const b = median(times[i]![0]);
            const p = median(times[i]![1]);
            const gmacs = handles[i]!.stats().meanGmacsPerImage;
            results.get(s.name)!.push(entry(setting, batch, gmacs, p));
            // against the first shape: the speedup's ratio, and each pipeline's time (plain, patched)
            const vs =
              i === 0 ? '' : `  vs ${names[0]}: speedup ${(b / p / (b0 / p0)).toFixed(3)}, plain ${(b0 / b).toFixed(3)}x, patched ${(p0 / p).toFixed(3)}x`;
            console.log(`${s.name.padEnd(8)} ${benchLine(batch, setting, gmacs, b, p)}${vs}`);
          }
        } finally {
          for (const h of handles) await h.dispose();
        }
      }
    }
    if (args.json) {
      for (const s of shapes) {
        const file = args.json.replace(/(\.json)?$/, `-${s.name}.json`);
        await writeBenchJson(file, { model: s.dir, device, dtype: o.dtype, batches: o.batches, results: results.get(s.name)! });
      }
    }
  } finally {
    for (const s of shapes) {
      await s.plain.dispose();
      await s.patched.dispose();
    }
  }
}
