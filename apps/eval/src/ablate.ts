import { baselineMacs, countMacs, planTokens, type JmpSelect, type ModelShape } from '@jmpjs/core';
import { FEW_PATCHES, inspectJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import { UsageError, int, num, type Args } from './args.js';
import { sampled, type Dataset } from './data.js';
import { CALIBRATED_TAU, dataFor } from './defaults.js';
import { pairedCounts, prepareBatches, runSetting } from './evaluate.js';
import type { Classifier } from './classifier.js';
import { Progress } from './progress.js';
import { SPEC_BLOCKS, TARGETS, clampedR, jmpBlocks, matchGmacs, rText } from './settings.js';
import { fidelity } from './calibrate.js';

interface Helpers {
  loadClassifier(args: Args): Promise<{ classifier: Classifier; name: string }>;
  loadData(spec: string, classifier: Classifier): Promise<Dataset>;
  labelsOf(classifier: Classifier): string[];
}

/** Where reductions happen and how much each removes, as one scalar to match a GMACs budget. */
type Family = 'three' | 'half' | 'every' | 'from2' | 'linear';

/** One lever setting: JMP options without the schedule, plus the schedule family. */
export interface Variant {
  name: string;
  family: Family;
  options: Omit<JMPOptions, 'keep' | 'blocks' | 'r' | 'headOnly'>;
  /** The last block's MLP on the protected tokens only; the schedule then leaves out the last block. Default false. */
  headOnly?: boolean;
}

function everyBlock(depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => i + 1);
}

/**
 * Per-block keep rates that remove `r` tokens at every block (ToMe's linear schedule, for JMP),
 * r clamped as ToMe clamps it ({@link clampedR}): keep_l = (U_l − r_l) / U_l with U_l the
 * unprotected tokens entering block l.
 */
export function linearKeeps(shape: ModelShape, r: number): number[] {
  let U = shape.patches;
  return clampedR(shape, r).map((rl) => {
    const keep = (U - rl) / U;
    U -= rl;
    return keep;
  });
}

function schedule(shape: ModelShape, family: Family, amount: number, headOnly: boolean): { blocks: number[]; keep: number | number[] } | undefined {
  if (family === 'three') return { blocks: SPEC_BLOCKS.filter((b) => b <= shape.depth), keep: amount };
  if (family === 'every') return { blocks: everyBlock(shape.depth), keep: amount };
  if (family === 'half') return { blocks: jmpBlocks(shape, headOnly, 'every-second'), keep: amount };
  // every block from the second (the last too unless head-only)
  if (family === 'from2') return { blocks: jmpBlocks(shape, headOnly, 'from-second'), keep: amount };
  // head-only: no reduction at the last block (its MLP runs on the protected tokens anyway)
  const blocks = everyBlock(headOnly ? shape.depth - 1 : shape.depth);
  return { blocks, keep: linearKeeps(shape, amount).slice(0, blocks.length) };
}

function planned(shape: ModelShape, s: { blocks: number[]; keep: number | number[] }, select: JmpSelect, headOnly: boolean): number | undefined {
  try {
    return countMacs(
      shape,
      planTokens({
        schedule: s,
        method: 'jmp',
        depth: shape.depth,
        tokens: shape.patches + shape.protectedTokens,
        protectedTokens: shape.protectedTokens,
        select,
        headOnly,
      }),
    ).gmacs;
  } catch {
    return undefined;
  }
}

/** The schedule of `family` (that `select` can run) whose planned GMACs are closest to `(1 − target) · baseline`. */
export function scheduleFor(
  shape: ModelShape,
  family: Family,
  target: number,
  baseline: number,
  select: JmpSelect = 'redundancy',
  headOnly = false,
): { blocks: number[]; keep: number | number[]; gmacs: number } {
  const goal = (1 - target) * baseline;
  const amounts = family === 'linear' ? Array.from({ length: shape.patches }, (_, r) => r) : Array.from({ length: 96 }, (_, i) => (100 - i) / 100);
  let best: { blocks: number[]; keep: number | number[]; gmacs: number } | undefined;
  for (const a of amounts) {
    const s = schedule(shape, family, a, headOnly);
    const g = s && planned(shape, s, select, headOnly);
    if (s && g !== undefined && (!best || Math.abs(g - goal) < Math.abs(best.gmacs - goal))) best = { ...s, gmacs: g };
  }
  if (!best) throw new Error(`no ${family} schedule for this model`);
  return best;
}

/**
 * The levers, one change at a time from the paper's rule as reconstructed to the default JMP and
 * beyond. `tau` is τ calibrated for head-mean keys at the default blocks (the default JMP on models
 * with more than FEW_PATCHES patches), `tauPerHead` for metric 'keys-per-head' (the default's metric
 * on models with at most FEW_PATCHES patches); `patches` marks which row is this model's default
 * (every second block with head-mean keys, or every block from the second with keys-per-head).
 */
export function variants(
  tau: number,
  tauSpec: number,
  tauPerHead: number,
  patches: number,
  tauNearest?: number,
  hidden?: { tau: number; match: 'bipartite' | 'nearest' },
): Variant[] {
  // head-mean keys unless a row names keys-per-head (the library's default metric depends on the patch count)
  // and ToMe's split unless a row names nearest neighbours (the library's default pairing depends on it too)
  const red = { select: 'redundancy' as const, metric: 'keys' as const, match: 'bipartite' as const };
  const jmp = { ...red, strategy: 'adaptive-token' as const, tau };
  const perHead = { ...red, metric: 'keys-per-head' as const, strategy: 'adaptive-token' as const, tau: tauPerHead };
  const few = patches <= FEW_PATCHES;
  // the row of the library's default: the metric 'hidden' row where its τ is known, else the keys' rows
  const mark = (isDefault: boolean) => (isDefault && !hidden ? ' (the default)' : '');
  return [
    { name: "paper's rule: attention, adaptive, 4/7/10", family: 'three', options: { select: 'attention', strategy: 'adaptive', tau: tauSpec } },
    { name: 'attention, merge, 4/7/10', family: 'three', options: { select: 'attention', strategy: 'merge' } },
    { name: 'redundancy, merge, 4/7/10', family: 'three', options: { ...red, strategy: 'merge' } },
    { name: `redundancy, adaptive-token τ ${tau}, 4/7/10`, family: 'three', options: jmp },
    { name: `redundancy, adaptive-token τ ${tau}, even blocks`, family: 'half', options: jmp },
    { name: `redundancy, adaptive-token τ ${tau}, every block`, family: 'every', options: jmp },
    { name: 'redundancy, merge, every block, r per block (= ToMe)', family: 'linear', options: { ...red, strategy: 'merge' } },
    { name: `… 4/7/10, importanceWeight 0.05`, family: 'three', options: { ...jmp, importanceWeight: 0.05 } },
    { name: `… 4/7/10, sizeWeight 0.05`, family: 'three', options: { ...jmp, sizeWeight: 0.05 } },
    { name: `… even blocks but the last, head-only last block${mark(!few)}`, family: 'half', options: jmp, headOnly: true },
    {
      name: 'redundancy, merge, r per block, head-only last block (= ToMe + head-only)',
      family: 'linear',
      options: { ...red, strategy: 'merge' },
      headOnly: true,
    },
    { name: `… even blocks but the last, head-only, keys-per-head τ ${tauPerHead}`, family: 'half', options: perHead, headOnly: true },
    { name: `… every block from the 2nd but the last, head-only`, family: 'from2', options: jmp, headOnly: true },
    {
      name: `… every block from the 2nd but the last, head-only, keys-per-head τ ${tauPerHead}${mark(few && tauNearest === undefined)}`,
      family: 'from2',
      options: perHead,
      headOnly: true,
    },
    // the row above with the tokens paired by nearest neighbour instead of ToMe's split, at the same τ
    few
      ? {
          name: `… every block from the 2nd but the last, head-only, keys-per-head τ ${tauPerHead}, match nearest`,
          family: 'from2',
          options: { ...perHead, match: 'nearest' },
          headOnly: true,
        }
      : { name: `… even blocks but the last, head-only, match nearest`, family: 'half', options: { ...jmp, match: 'nearest' }, headOnly: true },
    // on at most FEW_PATCHES patches: the default, at the τ calibrated for it
    ...(few && tauNearest !== undefined
      ? [
          {
            name: `${hidden ? '… every block from the 2nd but the last' : 'the default: every block from the 2nd but the last'}, head-only, keys-per-head, match nearest τ ${tauNearest}`,
            family: 'from2',
            options: { ...perHead, match: 'nearest', tau: tauNearest },
            headOnly: true,
          } satisfies Variant,
        ]
      : []),
    // the default: the similarity of the token states (metric 'hidden') at the default blocks and pairing, at the τ calibrated for it
    ...(hidden
      ? [
          {
            name: `the default: ${few ? 'every block from the 2nd' : 'even blocks'} but the last, head-only, metric hidden, match ${hidden.match} τ ${hidden.tau}`,
            family: few ? 'from2' : 'half',
            options: { ...red, metric: 'hidden', match: hidden.match, strategy: 'adaptive-token', tau: hidden.tau },
            headOnly: true,
          } satisfies Variant,
        ]
      : []),
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
    const { data, limit } = sampled(await h.loadData(args.data ?? dataFor(args.model).calibration, classifier), int('limit', args.limit, Infinity));
    const batchSize = int('batch', args.batch, 32);
    const calibrated = CALIBRATED_TAU[name];
    const tau = num('tau', args.tau) ?? calibrated?.tau;
    const tauSpec = num('tau-spec', args['tau-spec']) ?? calibrated?.tauSpec;
    const tauPerHead = num('tau-per-head', args['tau-per-head']) ?? calibrated?.tauPerHead;
    const tauNearest = calibrated?.tauNearest;
    if (tau === undefined || tauSpec === undefined || tauPerHead === undefined)
      throw new UsageError(`ablate: --tau, --tau-spec and --tau-per-head: no calibrated τ for '${name}' (run calibrate on held-out images)`);
    const info = await inspectJMP(classifier, { strategy: 'prune' });
    const shape = info.shape;
    const baseline = baselineMacs(shape).gmacs;
    // the default's row: metric 'hidden' with the library's pairing for this model, at its calibrated τ
    const hidden = calibrated?.tauHidden === undefined ? undefined : { tau: calibrated.tauHidden, match: info.match ?? 'bipartite' };
    const all = variants(tau, tauSpec, tauPerHead, shape.patches, tauNearest, hidden);
    const list = all.filter((_, i) => !args.only || args.only.split(',').map(Number).includes(i));
    // --versus <i>: every row's paired counts against row i too (images one gets right and the other wrong)
    const versus = args.versus === undefined ? undefined : all[int('versus', args.versus, -1)];
    if (args.versus !== undefined && (!versus || !list.includes(versus)))
      throw new UsageError(`--versus: expected the index of a row that runs (one of ${args.only ?? `0…${all.length - 1}`}), found '${args.versus}'`);
    const targets = args.targets ? args.targets.split(',').map(Number) : TARGETS;
    console.log(`ablate: ${name} on ${data.name} (${limit} images), targets ${targets.map((t) => `−${t * 100} %`).join(', ')}`);
    const prep = new Progress(limit, 'preprocessing');
    const batches = await prepareBatches(classifier, data, limit, batchSize, prep);
    prep.finish();
    const numClasses = h.labelsOf(classifier).length;
    const progress = new Progress(limit * (1 + list.length * targets.length + targets.length), '');
    const common = { classifier, batches, baselineGmacs: baseline, numClasses, latencyRuns: 0, progress, keepLogits: true };
    const base = await runSetting({ method: 'baseline', options: null, plannedGmacs: baseline }, common);
    const rows: string[] = [];
    // KL(plain ‖ setting), averaged over the images: steadier than top-1, which moves by whole images
    type Run = Awaited<ReturnType<typeof runSetting>>;
    const line = (label: string, run: Run, against?: Run) => {
      const { gmacs, top1 } = run.result;
      const p = pairedCounts(run.correct, base.correct);
      const { kl } = fidelity(base.logits!, run.logits!, numClasses);
      const vs = against ? pairedCounts(run.correct, against.correct) : undefined;
      rows.push(
        `${label.padEnd(56)} ${((gmacs / baseline - 1) * 100).toFixed(1).padStart(6)}% ${(top1 * 100).toFixed(2).padStart(7)}% ${((top1 - base.result.top1) * 100).toFixed(2).padStart(7)}  ${`+${p.gained}/−${p.lost}`.padStart(10)}  ${kl.toFixed(5).padStart(8)}${vs ? `  ${`+${vs.gained}/−${vs.lost}`.padStart(10)}` : ''}`,
      );
    };
    for (const target of targets) {
      const runs: [string, Run][] = [];
      let reference: Run | undefined;
      for (const v of list) {
        const headOnly = (v.headOnly ?? false) && info.headOnly;
        const s = scheduleFor(shape, v.family, target, baseline, v.options.select ?? 'redundancy', headOnly);
        progress.setLabel(`${v.name} −${target * 100} %`);
        const run = await runSetting(
          { method: 'jmp', options: { method: 'jmp', ...v.options, blocks: s.blocks, keep: s.keep, headOnly }, plannedGmacs: s.gmacs },
          common,
        );
        runs.push([v.name, run]);
        if (v === versus) reference = run;
      }
      // ToMe at the same target, for reference
      const { r: bestR, gmacs: bestG } = matchGmacs({ shape, tau, tauSpec }, 'tome', target);
      progress.setLabel(`tome r ${rText(bestR)}`);
      runs.push([
        `tome r ${rText(bestR)}`,
        await runSetting({ method: 'tome', options: { method: 'tome', r: bestR, headOnly: false }, plannedGmacs: bestG }, common),
      ]);
      for (const [label, run] of runs) line(label, run, reference);
      rows.push('');
    }
    progress.finish();
    console.log(`\nplain model: ${(base.result.top1 * 100).toFixed(2)} %\n`);
    console.log(
      `${'lever'.padEnd(56)} ${'ΔGMACs'.padStart(7)} ${'top-1'.padStart(8)} ${'Δtop-1'.padStart(7)}  ${'+/− vs base'.padStart(10)}  ${'KL (nats)'.padStart(8)}${versus ? `  +/− vs row ${args.versus}` : ''}`,
    );
    for (const r of rows) console.log(r);
  } finally {
    await classifier.dispose();
  }
}
