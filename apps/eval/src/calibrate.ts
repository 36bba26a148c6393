import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Tensor } from '@huggingface/transformers';
import { DEFAULT_BUDGET, inspectJMP, type JMPPlan } from '@jmpjs/transformers-patch';
import { UsageError, budgetArg, int, type Args } from './args.js';
import { sampled, type Dataset } from './data.js';
import { TEST_SETS, dataFor } from './defaults.js';
import { prepareBatches, runSetting } from './evaluate.js';
import { better, compare, probabilities, type Candidate } from './library.js';
import type { Classifier } from './classifier.js';
import { Progress } from './progress.js';
import { SPEC_BLOCKS, TARGETS, jmpBlocks, matchGmacs, type Setting } from './settings.js';
import type { CalibrationCurve, EvalResult } from './types.js';

interface Helpers {
  loadClassifier(args: Args): Promise<{ classifier: Classifier; name: string }>;
  loadData(spec: string, classifier: Classifier): Promise<Dataset>;
  labelsOf(classifier: Classifier): string[];
}

export function parseGrid(spec: string): number[] {
  const m = /^(-?[\d.]+):(-?[\d.]+):([\d.]+)$/.exec(spec);
  const [a, b, step] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  if (!m || !(step > 0) || !(b >= a)) throw new UsageError(`--grid: expected from:to:step (e.g. 0.70:0.99:0.01), found '${spec}'`);
  const out: number[] = [];
  for (let i = 0; a + i * step <= b + 1e-9; i++) out.push(Math.round((a + i * step) * 1e6) / 1e6);
  return out;
}

/** How `calibrate` picks τ from its curve. */
export const CHOOSE_BY = ['kl', 'top1'] as const;
export type ChooseBy = (typeof CHOOSE_BY)[number];

/**
 * How far a setting's outputs are from the plain model's on the same images, scored as calibrateJMP
 * scores its candidates (the library's `probabilities` and `compare`): the mean KL divergence
 * KL(plain ‖ setting) of the softmaxes (nats) and the share of images whose top-1 class is the same.
 *
 * @param plain `[images, classes]` logits of the plain model.
 * @param other `[images, classes]` logits of the setting, same order.
 */
export function fidelity(plain: Float32Array, other: Float32Array, classes: number): { kl: number; agreement: number } {
  if (plain.length !== other.length || classes < 1 || plain.length % classes !== 0) {
    throw new RangeError(`fidelity: expected two [images, ${classes}] logit arrays of the same size, found ${plain.length} and ${other.length} values`);
  }
  const softmax = (logits: Float32Array) => [probabilities(new Tensor('float32', logits, [logits.length / classes, classes]))];
  const { kl, agreement } = compare(softmax(plain), softmax(other), classes);
  return { kl, agreement };
}

/**
 * The τ a curve picks, by calibrateJMP's rule (the library's `better`). `'kl'` (the default): the
 * lowest mean KL to the plain model over the curve's keep rates, the output change it costs, which is
 * smooth in τ where top-1 on 1 000 images moves by single images; then the mean agreement. `'top1'`:
 * the best mean top-1, then agreement, then KL. Ties after that: the larger τ, which prunes more.
 * (Curves from before agreement was recorded tie straight to the larger τ.)
 */
export function chooseTau<P extends { tau: number; top1: number; kl?: number; agreement?: number }>(points: readonly P[], by: ChooseBy = 'kl'): P {
  if (points.length === 0) throw new RangeError('chooseTau: the curve has no points');
  if (by === 'kl') {
    const missing = points.find((p) => p.kl === undefined || !Number.isFinite(p.kl));
    if (missing) throw new RangeError(`chooseTau: τ ${missing.tau} has no KL; choose by top1`);
  }
  // a figure a curve lacks is undefined on both sides of a comparison: `better` passes over it
  const candidate = (p: P) => ({ tau: p.tau, top1: p.top1, kl: p.kl, agreement: p.agreement }) as Candidate;
  return points.reduce((best, p) => (better(candidate(p), candidate(best), by) ? p : best));
}

/**
 * Sweeps τ at the default schedule on held-out images, at the keep rates of the three budgets, and
 * picks τ by `--choose` (`chooseTau`: the lowest mean KL to the plain model unless `top1` is asked
 * for). Refuses the test set.
 */
export async function calibrateCommand(args: Args, h: Helpers): Promise<void> {
  const dataSpec = args.data ?? dataFor(args.model).calibration;
  if (TEST_SETS.includes(dataSpec)) {
    throw new UsageError(`--data ${dataSpec}: τ is never calibrated on test data; use ${dataFor(args.model).calibration} or a held-out ImageFolder`);
  }
  if (args['label-free'] || args['labelled-plan']) return planSearch(args, h, dataSpec, !!args['labelled-plan']);
  const strategy = args.strategy ?? 'adaptive';
  if (strategy !== 'adaptive' && strategy !== 'adaptive-token') throw new UsageError(`--strategy: expected adaptive or adaptive-token, found '${strategy}'`);
  const grid = parseGrid(args.grid ?? '0.70:0.99:0.01');
  const select = args.select ?? 'redundancy';
  if (select !== 'attention' && select !== 'redundancy') throw new UsageError(`--select: expected attention or redundancy, found '${select}'`);
  // the library's default metric for the select and the model unless --metric names one (τ belongs to a metric)
  const metricArg = args.metric;
  if (metricArg !== undefined && metricArg !== 'keys' && metricArg !== 'keys-per-head' && metricArg !== 'hidden')
    throw new UsageError(`--metric: expected keys, keys-per-head or hidden, found '${metricArg}'`);
  const matchArg = args.match;
  if (matchArg !== undefined && matchArg !== 'bipartite' && matchArg !== 'nearest')
    throw new UsageError(`--match: expected bipartite or nearest, found '${matchArg}'`);
  if (matchArg !== undefined && select !== 'redundancy') throw new UsageError('--match: only with --select redundancy');
  const by = (args.choose ?? 'kl') as ChooseBy;
  if (!CHOOSE_BY.includes(by)) throw new UsageError(`--choose: expected ${CHOOSE_BY.join(' or ')}, found '${args.choose}'`);
  const { classifier, name } = await h.loadClassifier(args);
  try {
    const { data, limit } = sampled(await h.loadData(dataSpec, classifier), int('limit', args.limit, Infinity));
    const batchSize = int('batch', args.batch, 32);
    // τ is chosen for the budgets the eval compares: the keep rates at −20, −35 and −50 % GMACs
    // (blocks 4/7/10), the top-1 averaged over them, unless --keeps names others
    const info = await inspectJMP(classifier, { strategy: 'prune' });
    const shape = info.shape;
    // the metric the curve is for, recorded in it: --metric, else the library's default on this model
    // (keys-per-head with select 'redundancy' on at most FEW_PATCHES patches; inspectJMP resolves it)
    const metric = metricArg ?? (select === 'redundancy' ? (info.metric ?? 'keys') : undefined);
    // likewise the pairing (recorded in the curve where it is not ToMe's split)
    const match = matchArg ?? (select === 'redundancy' ? (info.match ?? 'bipartite') : undefined);
    // the default JMP as the library runs it (head-only last block where the head allows it); the paper's rule as published
    const headOnly = select === 'redundancy' && info.headOnly;
    const blocks = select === 'attention' ? SPEC_BLOCKS.filter((b) => b <= shape.depth) : jmpBlocks(shape, headOnly);
    const keeps = args.keeps
      ? args.keeps.split(',').map((k) => {
          const v = Number(k);
          if (!(v > 0 && v <= 1)) throw new UsageError(`--keeps: expected keep rates in (0, 1], found '${k}'`);
          return v;
        })
      : TARGETS.map((t) => matchGmacs({ shape, tau: 0, tauSpec: 0 }, 'jmp', t, blocks, headOnly).keep!);
    console.log(
      `calibrating τ of '${strategy}' (select '${select}'${metric ? `, metric ${metric}` : ''}${match === 'nearest' ? ', match nearest' : ''}) for ${name} on ${data.name} (${limit} images), keep ${keeps.join(' / ')} at blocks ${blocks.join('/')} (chosen by ${by === 'kl' ? 'the mean KL to the plain model' : 'the mean top-1'}), grid ${grid[0]}…${grid.at(-1)} (${grid.length} values)`,
    );
    const prep = new Progress(limit, 'preprocessing');
    const batches = await prepareBatches(classifier, data, limit, batchSize, prep);
    prep.finish();
    const numClasses = h.labelsOf(classifier).length;
    const progress = new Progress(limit * (grid.length * keeps.length + 1), '');
    const common = { classifier, batches, baselineGmacs: 0, numClasses, latencyRuns: 0, progress, keepLogits: true };
    progress.setLabel('baseline');
    const base = await runSetting({ method: 'baseline', options: null, plannedGmacs: 0 }, common);
    const points: CalibrationCurve['points'] = [];
    for (const tau of grid) {
      progress.setLabel(`τ ${tau}`);
      const results: (EvalResult & { kl: number; agreement: number })[] = [];
      for (const keep of keeps) {
        const setting: Setting = {
          method: select === 'attention' ? 'jmp-spec' : 'jmp',
          options: { select, strategy, tau, keep, blocks, headOnly, ...(metric ? { metric } : {}), ...(match ? { match } : {}) },
          plannedGmacs: 0,
        };
        const run = await runSetting(setting, common);
        results.push({ ...run.result, ...fidelity(base.logits!, run.logits!, numClasses) });
      }
      const mean = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0) / results.length;
      points.push({
        tau,
        top1: mean((r) => r.top1),
        kl: mean((r) => r.kl),
        agreement: mean((r) => r.agreement),
        mergeShare: mean((r) => r.mergeShare ?? 0),
        gmacs: mean((r) => r.gmacs),
        perKeep: results.map((r, i) => ({ keep: keeps[i]!, top1: r.top1, kl: r.kl, agreement: r.agreement })),
      });
    }
    progress.finish();
    const best = chooseTau(points, by);
    console.log(
      `\n${'τ'.padStart(6)} ${'top-1'.padStart(8)} ${'Δ vs plain'.padStart(11)} ${'KL (nats)'.padStart(10)} ${'agreement'.padStart(10)} ${'merge share'.padStart(12)}`,
    );
    for (const p of points) {
      console.log(
        `${p.tau.toFixed(3).padStart(6)} ${(p.top1 * 100).toFixed(2).padStart(7)}% ${((p.top1 - base.result.top1) * 100).toFixed(2).padStart(10)}  ${p.kl!.toFixed(5).padStart(9)} ${(p.agreement! * 100).toFixed(2).padStart(9)}%  ${(p.mergeShare * 100).toFixed(1).padStart(10)}%${p === best ? '  ← chosen' : ''}`,
      );
    }
    console.log(`\nplain model: ${(base.result.top1 * 100).toFixed(2)} % on this split`);
    console.log(
      `chosen τ (${strategy}, by ${by}) = ${best.tau}: top-1 ${(best.top1 * 100).toFixed(2)} %, KL ${best.kl!.toFixed(5)}, merge share ${(best.mergeShare * 100).toFixed(1)} %`,
    );
    const curve: CalibrationCurve & {
      model: string;
      strategy: string;
      select: string;
      metric?: string;
      match?: string;
      keeps: number[];
      baselineTop1: number;
      images: number;
      command: string;
    } = {
      model: name,
      strategy,
      select,
      ...(metric ? { metric } : {}),
      ...(match === 'nearest' ? { match } : {}),
      keeps,
      split: `${data.name} (${limit} images)`,
      images: limit,
      baselineTop1: base.result.top1,
      points,
      chosenBy: by,
      best: best.tau,
      command: `pnpm eval calibrate ${process.argv.slice(3).join(' ')}`.trim(),
    };
    const out = args.out ?? path.join(process.cwd(), 'apps/eval/out');
    await mkdir(out, { recursive: true });
    const file = path.join(out, `calibration-${strategy}.json`);
    await writeFile(file, JSON.stringify(curve, null, 2) + '\n');
    console.log(`curve: ${file}`);
    if (args.json) await writeFile(args.json, JSON.stringify(curve, null, 2) + '\n');
  } finally {
    await classifier.dispose();
  }
}

/**
 * `calibrate --label-free`: the library's calibrateJMP on the split's images without their labels
 * (by default the lowest KL to the plain model, then top-1 agreement; `--objective`) at the budget; the split's labels only report the
 * chosen plan's top-1 afterwards. Writes the plan for `pnpm eval --plan`.
 */
async function planSearch(args: Args, h: Helpers, dataSpec: string, labelled: boolean): Promise<void> {
  const { calibrateJMP } = await import('@jmpjs/transformers-patch');
  const budget = budgetArg(args.budget) ?? DEFAULT_BUDGET;
  const taus = args.grid ? parseGrid(args.grid) : undefined;
  const objective = args.objective;
  if (objective !== undefined && (labelled || (objective !== 'kl' && objective !== 'agreement'))) {
    throw new UsageError(
      labelled ? '--objective: only with --label-free (--labelled-plan is chosen by top-1)' : `--objective: expected kl or agreement, found '${objective}'`,
    );
  }
  const { classifier, name } = await h.loadClassifier(args);
  try {
    const { data, limit } = sampled(await h.loadData(dataSpec, classifier), int('limit', args.limit, 256));
    const batchSize = int('batch', args.batch, 32);
    const prep = new Progress(limit, 'preprocessing');
    const batches = await prepareBatches(classifier, data, limit, batchSize, prep);
    prep.finish();
    const [, ...rest] = batches[0]!.pixels.dims as number[];
    const per = rest.reduce((a, b) => a * b, 1);
    const all = new Float32Array(limit * per);
    batches.forEach((b, i) => all.set(b.pixels.data as Float32Array, i * batchSize * per));
    console.log(
      `${labelled ? 'labelled' : 'label-free'} calibration of ${name} on ${data.name} (${limit} images, ${labelled ? 'top-1 against the labels decides' : `labels not used, ${objective === 'agreement' ? 'agreement then KL' : 'KL then agreement'} decides`}), budget ${budget}`,
    );
    const t0 = performance.now();
    let progress: Progress | undefined;
    const plan = await calibrateJMP(classifier, new Tensor('float32', all, [limit, ...rest]), {
      budget,
      ...(taus ? { taus } : {}),
      batchSize,
      ...(labelled ? { labels: batches.flatMap((b) => b.labels) } : {}),
      ...(objective ? { objective: objective as 'kl' | 'agreement' } : {}),
      onProgress: ({ done, total, candidate }) => {
        progress ??= new Progress(total, '', 'forwards');
        progress.setTotal(total); // grows once, when the per-block search starts
        progress.setLabel(candidate);
        progress.tick(1);
        if (done === total) progress.finish();
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    // what the labels say about the choice (not used to make it)
    const byTau = await topOf(classifier, plan, batches);
    const show = (t: number | number[]) => (Array.isArray(t) ? t.map((v) => v.toFixed(2)).join('/') : t.toFixed(2));
    console.log('τ      agreement  KL (nats)');
    for (const c of plan.candidates) {
      if (typeof c.tau === 'number')
        console.log(`${show(c.tau)}   ${(c.agreement * 100).toFixed(2).padStart(7)} %  ${c.kl.toFixed(5)}${c.tau === plan.options.tau ? '  ← chosen' : ''}`);
    }
    const perBlock = plan.candidates.filter((c) => Array.isArray(c.tau));
    if (perBlock.length > 0)
      console.log(
        `per block: ${perBlock.length} candidates${Array.isArray(plan.options.tau) ? `, chosen τ ${show(plan.options.tau)}` : ', none better than the single τ'}`,
      );
    console.log(
      `chosen τ ${show(plan.options.tau)}: agreement ${(plan.measured.agreement * 100).toFixed(2)} %, KL ${plan.measured.kl.toFixed(5)}; keep ${plan.options.keep.map((k) => k.toFixed(4)).join('/')} at blocks ${plan.options.blocks.join('/')}, ${((1 - plan.gmacs.planned / plan.gmacs.plain) * 100).toFixed(1)} % fewer GMACs`,
    );
    console.log(
      `top-1 on these images${labelled ? '' : ' (labels read only now)'}: ${(byTau.reduced * 100).toFixed(2)} % against the plain model's ${(byTau.plain * 100).toFixed(2)} %`,
    );
    console.log(`calibration took ${seconds.toFixed(1)} s for ${plan.candidates.length} candidates`);
    const out = args['plan-out'] ?? path.join(args.out ?? 'apps/eval/out', `plan-${name}${labelled ? '-labelled' : ''}.json`);
    await mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await writeFile(out, JSON.stringify(plan, null, 2) + '\n');
    console.log(`plan: ${out}`);
  } finally {
    await classifier.dispose();
  }
}

/** Top-1 of the plain model and of the plan on the prepared batches (their labels). */
async function topOf(classifier: Classifier, plan: JMPPlan, batches: Awaited<ReturnType<typeof prepareBatches>>): Promise<{ plain: number; reduced: number }> {
  const { enableJMP } = await import('@jmpjs/transformers-patch');
  const top1 = async () => {
    let right = 0;
    let n = 0;
    for (const b of batches) {
      const { logits } = await classifier.model({ pixel_values: b.pixels });
      const [B, K] = logits.dims as [number, number];
      const x = logits.data as Float32Array;
      for (let i = 0; i < B; i++, n++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (x[i * K + k]! > x[i * K + best]!) best = k;
        if (best === b.labels[i]) right++;
      }
    }
    return right / n;
  };
  const plain = await top1();
  const jmp = await enableJMP(classifier, { plan });
  try {
    return { plain, reduced: await top1() };
  } finally {
    await jmp.dispose();
  }
}
