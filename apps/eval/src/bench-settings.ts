// What every bench mode shares: the settings it times, how one setting is timed against the plain
// pipeline, the table's rows and the `--json` file.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Tensor } from '@huggingface/transformers';
import { DEFAULT_BUDGET, enableJMP, inspectJMP, type JMPHandle, type JMPModelInfo } from '@jmpjs/transformers-patch';
import { UsageError, type Args } from './args.js';
import type { Classifier } from './classifier.js';
import { describeParams } from './evaluate.js';
import { buildSettings, jmpBlocks, rText, type MethodName, type Setting } from './settings.js';
import { alternatingRounds } from './timing.js';
import type { BenchJson, BenchResult } from './types.js';

/** The bench options every mode reads (parsed once by benchCommand). */
export interface BenchOptions {
  dtype: string;
  runs: number;
  batches: number[];
  methods: MethodName[];
  tau: number;
  tauSpec: number;
  runner: string;
}

/** What JMP finds in the model, from a pipeline loaded for that and released. */
export async function probeInfo(load: () => Promise<Classifier>): Promise<JMPModelInfo> {
  const probe = await load();
  try {
    return await inspectJMP(probe, { strategy: 'prune' });
  } finally {
    await probe.dispose();
  }
}

/** The settings a benchmark times: each method at the default schedule (and keep = 1 with --keep-one), on the chosen runner. */
export function benchSettings(args: Args, methods: readonly MethodName[], info: JMPModelInfo, tau: number, tauSpec: number, runner: string): Setting[] {
  const settings = buildSettings(methods, { shape: info.shape, tau, tauSpec, headOnly: info.headOnly }, false)
    .filter((s) => s.method !== 'baseline')
    .map((s) => ({ ...s, options: { ...s.options!, runner: runner as 'auto' } }));
  // the library's default JMP: its default budget (0.65 of the plain GMACs) plans the keep rate at
  // the model's default blocks (every block from the second on CLIP-B/32's 49 patches)
  if (!args['keep-rates']) {
    const i = settings.findIndex((s) => s.method === 'jmp');
    if (i >= 0) {
      const { keep: _keep, blocks: _blocks, ...rest } = settings[i]!.options!;
      settings.splice(i, 1, { ...settings[i]!, options: { ...rest, budget: DEFAULT_BUDGET } });
    }
  }
  // --blocks: the default JMP again at other reduction blocks, same budget, timed in the same rounds
  if (args.blocks !== undefined) {
    const blocks = args.blocks.split(',').map((b) => Number(b));
    if (blocks.length === 0 || !blocks.every((b) => Number.isInteger(b) && b >= 1 && b <= info.shape.depth)) {
      throw new UsageError(`--blocks: expected block numbers 1…${info.shape.depth}, comma-separated, found '${args.blocks}'`);
    }
    const base = settings.find((s) => s.method === 'jmp');
    if (!base) throw new UsageError('--blocks: times the default JMP at other blocks; add jmp to --methods');
    const { keep: _keep, blocks: _blocks, ...rest } = base.options!;
    settings.splice(settings.indexOf(base) + 1, 0, { ...base, options: { ...rest, budget: rest.budget ?? DEFAULT_BUDGET, blocks } });
  }
  // keep = 1 without the head-only last block: what the graph's added work costs alone
  if (args['keep-one'])
    settings.unshift({
      method: 'jmp',
      options: { strategy: 'prune', keep: 1, blocks: jmpBlocks(info.shape), headOnly: false, runner: runner as 'auto' },
      plannedGmacs: 0,
    });
  return settings;
}

/** One row of the benchmark's table. */
export function benchLine(batch: number, setting: Setting, gmacs: number, plainMs: number, patchedMs: number): string {
  return `batch ${String(batch).padStart(2)}  ${setting.method.padEnd(9)} ${summary(setting).padEnd(18)} ${gmacs.toFixed(2)} GMACs  plain ${plainMs.toFixed(1).padStart(8)} ms  patched ${patchedMs.toFixed(1).padStart(8)} ms  speedup ${(plainMs / patchedMs).toFixed(3)}x`;
}

export function summary(s: Setting): string {
  const p = describeParams(s.options) as { keep?: number; r?: number; strategy?: string; budget?: number };
  const at =
    s.options?.blocks && s.options.budget !== undefined
      ? ` @${s.options.blocks.length === 1 ? s.options.blocks[0] : `${s.options.blocks[0]}…${s.options.blocks.at(-1)}/${s.options.blocks.length}`}`
      : '';
  return p.r !== undefined ? `r ${rText(p.r)}` : p.keep === undefined && p.budget !== undefined ? `budget ${p.budget}${at}` : `keep ${p.keep}`;
}

export function entry(setting: Setting, batch: number, gmacs: number, ms: number): BenchResult {
  return {
    method: setting.method,
    params: describeParams(setting.options),
    gmacs,
    top1: null,
    top5: null,
    throughput: (batch * 1000) / ms,
    latencyMsP50: batch === 1 ? ms : null,
    mergeShare: null,
    batchSize: batch,
  };
}

/** One setting on the patched pipeline, timed against the plain one in alternating rounds; the GMACs it ran at. */
export async function timeAgainstPlain(plain: Classifier, patched: Classifier, setting: Setting, x: Tensor, runs: number) {
  const jmp: JMPHandle = await enableJMP(patched, setting.options!);
  try {
    const { plainMs, patchedMs } = await alternatingRounds(plain, patched, x, runs);
    return { plainMs, patchedMs, gmacs: jmp.stats().meanGmacsPerImage };
  } finally {
    await jmp.dispose();
  }
}

/** Writes a benchmark's `--json` file (random pixels, no accuracy) and says where. */
export async function writeBenchJson(
  file: string,
  o: { model: string; device: string; dtype: string; batches: number[]; results: BenchResult[] },
  before = '',
): Promise<void> {
  const json: BenchJson = {
    model: o.model,
    dataset: 'random pixels',
    images: 0,
    device: o.device,
    dtype: o.dtype,
    batchSize: o.batches[0]!,
    results: o.results,
  };
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`${before}json: ${file}`);
}
