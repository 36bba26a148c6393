import { countMacs, planTokens, type ModelShape } from '@jmpjs/core';
import { inspectJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import { UsageError, int, num, type Args } from './args.js';
import type { Dataset } from './data.js';
import { DEFAULT_CALIBRATION_DATA } from './defaults.js';
import { pairedCounts, prepareBatches, runSetting, type Classifier } from './evaluate.js';
import { Progress } from './progress.js';
import { TARGETS } from './settings.js';

interface Helpers {
  loadClassifier(args: Args): Promise<{ classifier: Classifier; name: string }>;
  loadData(spec: string, classifier: Classifier): Promise<Dataset>;
  labelsOf(classifier: Classifier): string[];
}

/** Where reductions happen and how much each removes, as one scalar to match a GMACs budget. */
type Family = 'three' | 'every' | 'linear';

/** One lever setting: JMP options without the schedule, plus the schedule family. */
export interface Variant {
  name: string;
  family: Family;
  options: Omit<JMPOptions, 'keep' | 'blocks' | 'r'>;
}

const THREE = [4, 7, 10];

function everyBlock(depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => i + 1);
}

/**
 * Per-block keep rates that remove `r` tokens at every block (ToMe's linear schedule, for JMP):
 * keep_l = (U_l − r) / U_l with U_l the unprotected tokens entering block l; empty when the tokens
 * run out.
 */
export function linearKeeps(shape: ModelShape, r: number): number[] | undefined {
  let U = shape.patches;
  const keeps: number[] = [];
  for (let l = 0; l < shape.depth; l++) {
    if (U - r < 1) return undefined;
    keeps.push((U - r) / U);
    U -= r;
  }
  return keeps;
}

function schedule(shape: ModelShape, family: Family, amount: number): { blocks: number[]; keep: number | number[] } | undefined {
  if (family === 'three') return { blocks: THREE.filter((b) => b <= shape.depth), keep: amount };
  if (family === 'every') return { blocks: everyBlock(shape.depth), keep: amount };
  const keep = linearKeeps(shape, amount);
  return keep ? { blocks: everyBlock(shape.depth), keep } : undefined;
}

function planned(shape: ModelShape, s: { blocks: number[]; keep: number | number[] }): number | undefined {
  try {
    return countMacs(shape, planTokens({ schedule: s, method: 'jmp', depth: shape.depth, tokens: shape.patches + shape.protectedTokens, protectedTokens: shape.protectedTokens })).gmacs;
  } catch {
    return undefined;
  }
}

/** The schedule of `family` whose planned GMACs are closest to `(1 − target) · baseline`. */
export function scheduleFor(shape: ModelShape, family: Family, target: number, baseline: number): { blocks: number[]; keep: number | number[]; gmacs: number } {
  const goal = (1 - target) * baseline;
  const amounts = family === 'linear' ? Array.from({ length: shape.patches }, (_, r) => r) : Array.from({ length: 96 }, (_, i) => (100 - i) / 100);
  let best: { blocks: number[]; keep: number | number[]; gmacs: number } | undefined;
  for (const a of amounts) {
    const s = schedule(shape, family, a);
    const g = s && planned(shape, s);
    if (s && g !== undefined && (!best || Math.abs(g - goal) < Math.abs(best.gmacs - goal))) best = { ...s, gmacs: g };
  }
  if (!best) throw new Error(`no ${family} schedule for this model`);
  return best;
}

/** The levers, one change at a time from the paper's rule as reconstructed. */
export function variants(tau: number): Variant[] {
  const red = { select: 'redundancy' as const };
  return [
    { name: 'spec: attention, adaptive, 4/7/10', family: 'three', options: { strategy: 'adaptive', tau } },
    { name: 'attention, merge, 4/7/10', family: 'three', options: { strategy: 'merge' } },
    { name: 'redundancy, merge, 4/7/10', family: 'three', options: { strategy: 'merge', ...red } },
    { name: 'redundancy, merge, every block (keep)', family: 'every', options: { strategy: 'merge', ...red } },
    { name: 'redundancy, merge, every block (r)', family: 'linear', options: { strategy: 'merge', ...red } },
    ...[0.02, 0.05, 0.1].map((w): Variant => ({ name: `redundancy, merge, 4/7/10, importance ${w}`, family: 'three', options: { strategy: 'merge', ...red, importanceWeight: w } })),
    ...[0.02, 0.05, 0.1].map((w): Variant => ({ name: `redundancy, merge, 4/7/10, size ${w}`, family: 'three', options: { strategy: 'merge', ...red, sizeWeight: w } })),
    ...[0.5, 0.7, 0.9].map((t): Variant => ({ name: `redundancy, adaptive-token τ ${t}, 4/7/10`, family: 'three', options: { strategy: 'adaptive-token', tau: t, ...red } })),
    ...[0.7, 0.8, 0.9].map((t): Variant => ({ name: `redundancy, adaptive τ ${t}, 4/7/10`, family: 'three', options: { strategy: 'adaptive', tau: t, ...red } })),
  ];
}

/**
 * `pnpm eval ablate`: each lever at each GMACs target on one split, with top-1, the difference to
 * the plain model and the paired counts. Calibration images by default: this is where choices are
 * made; run it on test images only to confirm.
 */
export async function ablateCommand(args: Args, h: Helpers): Promise<void> {
  const { classifier, name } = await h.loadClassifier(args);
  try {
    const data = await h.loadData(args.data ?? DEFAULT_CALIBRATION_DATA, classifier);
    const limit = Math.min(data.size, int('limit', args.limit, data.size));
    const batchSize = int('batch', args.batch, 32);
    const tau = num('tau', args.tau);
    if (tau === undefined) throw new UsageError('ablate: --tau (of the paper\'s rule, from `calibrate`) is required');
    const info = await inspectJMP(classifier, { strategy: 'prune' });
    const shape = info.shape;
    const baseline = countMacs(shape, planTokens({ schedule: { blocks: [1], keep: 1 }, method: 'jmp', depth: shape.depth, tokens: shape.patches + shape.protectedTokens, protectedTokens: shape.protectedTokens })).gmacs;
    const list = variants(tau).filter((_, i) => !args.only || args.only.split(',').map(Number).includes(i));
    const targets = args.targets ? args.targets.split(',').map(Number) : TARGETS;
    console.log(`ablate: ${name} on ${data.name} (${limit} images), targets ${targets.map((t) => `−${t * 100} %`).join(', ')}`);
    const prep = new Progress(limit, 'preprocessing');
    const batches = await prepareBatches(classifier, data, limit, batchSize, prep);
    prep.finish();
    const numClasses = h.labelsOf(classifier).length;
    const progress = new Progress(limit * (1 + list.length * targets.length + targets.length), '');
    const common = { classifier, batches, baselineGmacs: baseline, numClasses, latencyRuns: 0, progress };
    const base = await runSetting({ method: 'baseline', options: null, plannedGmacs: baseline }, common);
    const rows: string[] = [];
    const line = (label: string, gmacs: number, top1: number, correct: Uint8Array) => {
      const p = pairedCounts(correct, base.correct);
      rows.push(`${label.padEnd(44)} ${((gmacs / baseline - 1) * 100).toFixed(1).padStart(6)}% ${(top1 * 100).toFixed(2).padStart(7)}% ${((top1 - base.result.top1) * 100).toFixed(2).padStart(7)}  ${`+${p.gained}/−${p.lost}`.padStart(10)}`);
    };
    for (const target of targets) {
      for (const v of list) {
        const s = scheduleFor(shape, v.family, target, baseline);
        progress.setLabel(`${v.name} −${target * 100} %`);
        const run = await runSetting({ method: 'jmp', options: { method: 'jmp', ...v.options, blocks: s.blocks, keep: s.keep }, plannedGmacs: s.gmacs }, common);
        line(v.name, run.result.gmacs, run.result.top1, run.correct);
      }
      // ToMe at the same target, for reference
      let bestR = 0;
      let bestG = Infinity;
      for (let r = 0; r <= shape.patches / 2; r++) {
        const g = planned(shape, { blocks: everyBlock(shape.depth), keep: linearKeeps(shape, r) ?? [] });
        if (g !== undefined && Math.abs(g - (1 - target) * baseline) < Math.abs(bestG - (1 - target) * baseline)) [bestR, bestG] = [r, g];
      }
      progress.setLabel(`tome r ${bestR}`);
      const tome = await runSetting({ method: 'tome', options: { method: 'tome', r: bestR }, plannedGmacs: bestG }, common);
      line(`tome r ${bestR}`, tome.result.gmacs, tome.result.top1, tome.correct);
      rows.push('');
    }
    progress.finish();
    console.log(`\nplain model: ${(base.result.top1 * 100).toFixed(2)} %\n`);
    console.log(`${'lever'.padEnd(44)} ${'ΔGMACs'.padStart(7)} ${'top-1'.padStart(8)} ${'Δtop-1'.padStart(7)}  ${'+/− vs base'.padStart(10)}`);
    for (const r of rows) console.log(r);
  } finally {
    await classifier.dispose();
  }
}
