import { Tensor } from '@huggingface/transformers';
import { tokenFates } from '@jmpjs/core';
import { enableJMP, type JMPHandle, type JMPOptions } from '@jmpjs/transformers-patch';
import type { Classifier } from './classifier.js';
import type { Dataset } from './data.js';
import { InterruptedError, interrupt, type Progress } from './progress.js';
import type { Setting } from './settings.js';
import { alternatingRounds, median } from './timing.js';
import type { EvalResult, PatchFates, SigmaDistribution, TokenMapImage } from './types.js';

/** Preprocessed inputs, made once and shared by every setting (preprocessing is the same for all). */
export interface Batch {
  pixels: Tensor;
  labels: number[];
}

export async function prepareBatches(classifier: Classifier, data: Dataset, limit: number, batchSize: number, progress: Progress): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let start = 0; start < limit; start += batchSize) {
    if (interrupt.requested) throw new InterruptedError();
    const end = Math.min(limit, start + batchSize);
    const images = [];
    const labels = [];
    for (let i = start; i < end; i++) {
      images.push(await data.image(i));
      labels.push(data.label(i));
    }
    const { pixel_values } = await classifier.processor(images);
    out.push({ pixels: pixel_values, labels });
    progress.tick(end - start);
  }
  return out;
}

/** Rows of a batch as a new tensor. */
export function sliceBatch(t: Tensor, from: number, to: number): Tensor {
  const [, ...rest] = t.dims as number[];
  const per = rest.reduce((a, b) => a * b, 1);
  return new Tensor('float32', (t.data as Float32Array).slice(from * per, to * per), [to - from, ...rest]);
}

function rankOf(row: Float32Array, label: number): number {
  const v = row[label]!;
  let rank = 0;
  for (let i = 0; i < row.length; i++) if (row[i]! > v || (row[i] === v && i < label)) rank++;
  return rank;
}

export interface SettingRun {
  result: EvalResult;
  /** σ of each image at each reduction block (JMP adaptive strategies). */
  sigma: Map<number, number[]>;
  /** 1 where the image's top-1 was right, in dataset order: for paired counts between settings. */
  correct: Uint8Array;
  /** The logits `[images, classes]` in dataset order, when `keepLogits` asked for them. */
  logits?: Float32Array;
}

export interface RunOptions {
  classifier: Classifier;
  batches: Batch[];
  baselineGmacs: number;
  numClasses: number;
  /** Single-image forwards timed for the latency percentiles (0: none). */
  latencyRuns: number;
  /**
   * A second, never patched pipeline of the same model: the setting's speed is timed against it in
   * `speedRuns` alternating rounds on the first batch (the paired `speedup`).
   */
  plain?: Classifier;
  speedRuns?: number;
  progress: Progress;
  /** Keep every image's logits (`SettingRun.logits`): calibrate compares them with the plain model's. */
  keepLogits?: boolean;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** Runs one setting over the prepared batches: accuracy, GMACs, throughput, latency, decisions. */
export async function runSetting(setting: Setting, o: RunOptions): Promise<SettingRun> {
  const { classifier, batches } = o;
  let jmp: JMPHandle | undefined;
  if (setting.options) jmp = await enableJMP(classifier, setting.options);
  try {
    // One untimed call so that both sides are measured warm.
    await classifier.model({ pixel_values: sliceBatch(batches[0]!.pixels, 0, 1) });
    jmp?.resetStats();
    let correct1 = 0;
    let correct5 = 0;
    let images = 0;
    let seconds = 0;
    let mergedTokens = 0;
    let removedTokens = 0;
    const correct = new Uint8Array(batches.reduce((a, b) => a + b.labels.length, 0));
    const kept = o.keepLogits ? new Float32Array(correct.length * o.numClasses) : undefined;
    const sigma = new Map<number, number[]>();
    for (const batch of batches) {
      if (interrupt.requested) throw new InterruptedError();
      const t0 = performance.now();
      const { logits } = await classifier.model({ pixel_values: batch.pixels });
      seconds += (performance.now() - t0) / 1000;
      const data = logits.data as Float32Array;
      const C = o.numClasses;
      kept?.set(data.subarray(0, batch.labels.length * C), images * C);
      batch.labels.forEach((label, b) => {
        const r = rankOf(data.subarray(b * C, (b + 1) * C), label);
        if (r === 0) {
          correct1++;
          correct[images + b] = 1;
        }
        if (r < 5) correct5++;
      });
      images += batch.labels.length;
      const call = jmp?.stats().lastCall;
      if (call) {
        for (const image of call.images) {
          for (const r of image) {
            mergedTokens += r.merged;
            removedTokens += r.merged + r.pruned;
            if (!Number.isNaN(r.sigma)) {
              const list = sigma.get(r.block) ?? [];
              list.push(r.sigma);
              sigma.set(r.block, list);
            }
          }
        }
      }
      o.progress.tick(batch.labels.length);
    }
    const latencies: number[] = [];
    const first = batches[0]!;
    for (let i = 0; i < o.latencyRuns; i++) {
      if (interrupt.requested) throw new InterruptedError();
      const x = sliceBatch(first.pixels, i % first.labels.length, (i % first.labels.length) + 1);
      const t0 = performance.now();
      await classifier.model({ pixel_values: x });
      latencies.push(performance.now() - t0);
    }
    let speedup: number | null = null;
    if (o.plain && o.speedRuns) {
      if (jmp) {
        const { plainMs, patchedMs } = await alternatingRounds(o.plain, classifier, first.pixels, o.speedRuns);
        speedup = median(plainMs) / median(patchedMs);
      } else speedup = 1;
    }
    const stats = jmp?.stats();
    let mergeShare: number | null = null;
    // the share of what merged, where JMP chooses: per image (adaptive) or per token (adaptive-token)
    const strategy = setting.options && (setting.options.method ?? 'jmp') === 'jmp' ? (setting.options.strategy ?? 'adaptive-token') : undefined;
    if (strategy === 'adaptive' && stats) {
      const d = Object.values(stats.decisions);
      const merges = d.reduce((a, x) => a + x.merge, 0);
      const total = d.reduce((a, x) => a + x.merge + x.prune, 0);
      mergeShare = total > 0 ? merges / total : null;
    } else if (strategy === 'adaptive-token') {
      mergeShare = removedTokens > 0 ? mergedTokens / removedTokens : null;
    }
    const result: EvalResult = {
      method: setting.method,
      params: describeParams(setting.options),
      gmacs: stats ? stats.meanGmacsPerImage : o.baselineGmacs,
      top1: correct1 / images,
      top5: o.numClasses > 5 ? correct5 / images : null,
      throughput: images / seconds,
      speedup,
      latencyMsP50: latencies.length ? percentile(latencies, 0.5) : null,
      latencyMsP95: latencies.length ? percentile(latencies, 0.95) : null,
      mergeShare,
    };
    return { result, sigma, correct, ...(kept ? { logits: kept } : {}) };
  } finally {
    await jmp?.dispose();
  }
}

/** Images right in `a` and wrong in `b` (gained), and the other way round (lost). */
export function pairedCounts(a: Uint8Array, b: Uint8Array): { gained: number; lost: number } {
  let gained = 0;
  let lost = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) gained++;
    else if (!a[i] && b[i]) lost++;
  }
  return { gained, lost };
}

export function describeParams(options: JMPOptions | null): Record<string, unknown> {
  if (!options) return {};
  if (options.plan) {
    const { keep, blocks, tau, strategy } = options.plan.options;
    return {
      strategy,
      keep: keep.every((k) => k === keep[0]) ? Number(keep[0]!.toFixed(4)) : keep.map((k) => Number(k.toFixed(4))),
      blocks,
      tau,
      budget: options.plan.budget,
    };
  }
  const { method, strategy, keep, budget, blocks, tau, r, proportionalAttention } = options;
  return Object.fromEntries(Object.entries({ method, strategy, keep, budget, blocks, tau, r, proportionalAttention }).filter(([, v]) => v !== undefined));
}

export function sigmaDistributions(sigma: Map<number, number[]>, tau: number): SigmaDistribution[] {
  return [...sigma.entries()].sort((a, b) => a[0] - b[0]).map(([block, values]) => ({ block, tau, values }));
}

/**
 * What happened to every patch of a few images at each reduction block of `options`: the
 * schedule is run truncated after each block, with source tracking.
 */
export async function tokenMaps(
  classifier: Classifier,
  data: Dataset,
  indices: number[],
  options: JMPOptions,
  labels: string[],
): Promise<{ grid: [number, number]; images: TokenMapImage[] }> {
  const blocks = options.blocks ?? [4, 7, 10];
  const raw = await Promise.all(indices.map((i) => data.image(i)));
  const { pixel_values } = await classifier.processor(raw);
  const perBlock: PatchFates[][] = indices.map(() => []);
  let predicted: number[] = [];
  let grid: [number, number] = [0, 0];
  for (let k = 1; k <= blocks.length; k++) {
    const keep = Array.isArray(options.keep) ? options.keep.slice(0, k) : options.keep;
    const jmp = await enableJMP(classifier, { ...options, blocks: blocks.slice(0, k), ...(keep !== undefined ? { keep } : {}), trackSources: true });
    try {
      const { logits } = await classifier.model({ pixel_values });
      const call = jmp.stats().lastCall!;
      const P = jmp.info!.protectedTokens;
      const patches = call.sources!.originalTokens - P;
      const side = Math.round(Math.sqrt(patches));
      grid = [side, patches / side];
      indices.forEach((_, b) => {
        const fates = tokenFates(call.sources!, b, call.finalTokens)
          .slice(P)
          .map((f) =>
            f.fate === 'kept' ? { f: 'k' as const } : f.fate === 'merged' ? { f: 'm' as const, into: f.into < 0 ? -1 : f.into - P } : { f: 'p' as const },
          );
        perBlock[b]!.push({ block: blocks[k - 1]!, decision: call.images[b]![k - 1]!.decision, fates });
      });
      if (k === blocks.length) {
        const d = logits.data as Float32Array;
        const C = d.length / indices.length;
        predicted = indices.map((_, b) => {
          let best = 0;
          for (let c = 1; c < C; c++) if (d[b * C + c]! > d[b * C + best]!) best = c;
          return best;
        });
      }
    } finally {
      await jmp.dispose();
    }
  }
  return {
    grid,
    images: indices.map((i, b) => ({
      label: labels[data.label(i)] ?? String(data.label(i)),
      predicted: labels[predicted[b]!] ?? String(predicted[b]),
      width: raw[b]!.width,
      height: raw[b]!.height,
      channels: raw[b]!.channels,
      pixels: Array.from(raw[b]!.data),
      blocks: perBlock[b]!,
    })),
  };
}
