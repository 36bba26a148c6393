#!/usr/bin/env node
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { env, pipeline } from '@huggingface/transformers';
import { baselineMacs } from '@jmpjs/core';
import { imageSetNames } from '@jmpjs/fixtures';
import { DEFAULT_BUDGET, inspectJMP, type JMPPlan } from '@jmpjs/transformers-patch';
import { committedDataset, imageFolder, sampled, type Dataset } from './data.js';
import { CALIBRATED_TAU, DEFAULT_DATA, DEFAULT_LIMIT, DEFAULT_MODEL, dataFor, resolveModel } from './defaults.js';
import { defaultCalibration } from './calibrated-tau.js';
import { pairedCounts, prepareBatches, runSetting, sigmaDistributions, tokenMaps } from './evaluate.js';
import type { Classifier } from './classifier.js';
import { checkGate, readBounds } from './gate.js';
import { InterruptedError, Progress, interrupt, onInterrupt } from './progress.js';
import { renderReport } from './report/render.js';
import { METHODS, buildSettings, jmpBlocks, parseMethods, rText, type SweepContext } from './settings.js';
import type { CalibrationCurve, EvalJson, EvalResult, ReportData } from './types.js';
import { UsageError, int, normalizeArgv, num, type Args } from './args.js';
import { parseGrid } from './calibrate.js';

env.allowRemoteModels = process.env.JMP_ALLOW_REMOTE === '1';

const HELP = `jmp-eval — accuracy, GMACs and throughput of JMP against the plain model and the baselines

Usage:
  pnpm eval [options]              evaluate (default: ${DEFAULT_MODEL}, trained on Fashion-MNIST items on
                                   photographs, on its committed test set ${DEFAULT_DATA})
  pnpm eval calibrate [options]    sweep τ on the calibration split (never test data), print the best
  pnpm eval ablate [options]       each lever at −20/−35/−50 % GMACs on the calibration split (--data to confirm)
  pnpm bench [options]             throughput and latency on the DeiT-S-architecture fixture
  pnpm eval zero-shot [options]    CLIP zero-shot (default: tiny-clip) on Fashion-MNIST, class names as
                                   prompts: top-1 agreement of JMP (default, or --budget) with the plain pipeline
  pnpm eval depth [options]        depth fidelity (default: photo-depth on its rendered test scenes, depth-test):
                                   AbsRel and δ<1.25 against the plain model and the ground truth for
                                   jmp, merge, prune and tome at --targets of the blocks' GMACs (default
                                   0.2,0.35,0.5), and depth maps side by side (out/depth-maps.png)

Options:
  --model <id|path>   hub id or local folder (default: the embedded ${DEFAULT_MODEL})
  --data <name|dir>   committed set (${imageSetNames.join(', ')}; default: the model's test set,
                      ${DEFAULT_DATA} for ${DEFAULT_MODEL}) or an ImageFolder (one folder per class)
  --limit <n>         images to evaluate (default ${DEFAULT_LIMIT}; --full for all): the first ones of a
                      committed set, a seeded sample spread over the classes of an ImageFolder
  --full              evaluate the whole set
  --batch <n>         batch size (default 32)
  --device <d>        transformers.js device (default cpu)
  --dtype <t>         fp32 (default), fp16, q8; bench: a list (fp32,fp16,q8) runs each in turn
  --methods <list>    comma-separated, from ${METHODS.join(', ')} (default: all)
  --no-sweep          only each method's default schedule (JMP keep 0.85 at its default blocks;
                      jmp-spec and EViT keep 0.7 at blocks 4/7/10; ToMe at −35 % GMACs)
  --tau <x>           τ of 'jmp', the default JMP (default: the calibrated value of a committed model,
                      else the library's default τ; the run prints which)
  --tau-spec <x>      τ of 'jmp-spec', the paper's rule as reconstructed (likewise)
  --tau-per-head <x>  ablate: τ of the rows with metric keys-per-head (likewise)
  --only <list>       ablate: the rows to run, by index (0-based, as listed without it)
  --versus <i>        ablate: also each row's paired counts against row i (images one gets right, the other wrong)
  --latency-runs <n>  batch-1 forwards timed per setting (default 32)
  --speed-runs <n>    eval: rounds alternating each setting with a plain pipeline on one batch, for
                      the paired speedup column (default 5; 0: not measured)
  --out <dir>         report folder (default apps/eval/out)
  --json <file>       also write the results as JSON
  --gate <file>       fail (exit 3) when JMP's top-1 drop or GMACs saving is outside these bounds
  --strategy <s>      calibrate: adaptive (default) or adaptive-token
  --grid <a:b:step>   calibrate: τ grid (default 0.70:0.99:0.01)
  --select <s>        calibrate: redundancy (default: the default JMP) or attention (the paper's rule)
  --metric <m>        calibrate: keys-per-head, keys or hidden (default: the library's for the select)
  --match <m>         calibrate: bipartite or nearest (default: the library's for the model)
  --keeps <list>      calibrate: keep rates the τ curve is averaged over (default: the −20/−35/−50 % GMACs points)
  --choose <c>        calibrate: kl (default: the lowest mean KL to the plain model) or top1 (the best
                      mean top-1); ties as calibrateJMP breaks them: agreement, then KL, then the larger τ
  --label-free        calibrate: calibrateJMP on the split without its labels (the lowest KL to the plain
                      model, then agreement) at --budget; writes the plan (--plan-out, default out/plan-<model>.json)
  --objective <o>     calibrate --label-free: kl (default) or agreement (agreement first, the rule before)
  --labelled-plan     calibrate: the same search with the split's labels deciding (top-1)
  --budget <share>    calibrate --label-free / --labelled-plan, bench --tokens: share of the plain GMACs
                      (default ${DEFAULT_BUDGET})
  --plan <file>       eval: also evaluate this plan (from calibrate --label-free or calibrateJMP)
  --plan-taus <a:b:s> eval --plan: also the plan's schedule at each single τ of this grid (to compare
                      the plan with the best single τ on the split; for reporting, never for choosing)
  --runs <n>          bench: alternating rounds per setting (default 5)
  --batches <list>    bench: batch sizes (default 1,32)
  --runner <r>        bench: auto (default), compiled or segments
  --keep-one          bench: also time keep = 1 (the runner's own overhead)
  --blocks <list>     bench: also time the default JMP at these reduction blocks (e.g. 2,3,4,5,6,7,8,9,10,11),
                      at the same budget, in the same rounds
  --keep-rates        bench: the default JMP at keep 0.85 instead of the library's default budget (${DEFAULT_BUDGET})
  --clip              bench: also time CLIP ViT-B/32's zero-shot model (random weights, generated into
                      tooling/fixtures/cache/clip-b32), the same settings, after the DeiT-S rows
  --head-only-ab      bench: the default JMP with and without the head-only last block (blocks 2…10 /
                      2…12, both at the default budget), timed in the same rounds against one plain pipeline
  --opset <n>         bench: the DeiT-S model exported at this opset (default 14; e.g. 11, generated into
                      tooling/fixtures/cache/deit-small-op11)
  --attention <a>     bench: eager (default) or sdpa (the attention as torch >= 2.1 exports it)
  --shapes <list>     bench: eager14,opset11,sdpa14 — the DeiT-S fixture exported each way, every
                      shape timed in the same rounds (ratios comparable across shapes)
  --tokens <list>     bench: speed as the patch count grows — all, or 196 (DeiT-S at 224), 576 (ViT-S/16
                      at 384), 1369 (Depth Anything V2-S at 518), random weights generated on first use:
                      the plain pipeline against enableJMP's defaults (or --budget), batches 1,8 unless --batches, the
                      GMACs ceiling and each pipeline's peak RSS (in Node; --browser wasm|webgpu: in Chromium)
  --profile           bench: instead of timing, onnxruntime's per-node profile grouped by what each
                      node is for (attention, MLP, the reduction, the size bias, embeddings, head and
                      neck); with --tokens, of each shape, plain and with JMP (default, or --budget)
  --browser <device>  bench: in headless Chromium (onnxruntime-web) on wasm or webgpu
  --gpu <adapter>     bench --browser webgpu: swiftshader (default; correctness only) or hardware
  -h, --help          this help
`;

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  limit: { type: 'string' },
  full: { type: 'boolean' },
  batch: { type: 'string' },
  device: { type: 'string' },
  dtype: { type: 'string' },
  methods: { type: 'string' },
  'no-sweep': { type: 'boolean' },
  tau: { type: 'string' },
  'tau-spec': { type: 'string' },
  'tau-per-head': { type: 'string' },
  metric: { type: 'string' },
  match: { type: 'string' },
  'latency-runs': { type: 'string' },
  'speed-runs': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'string' },
  strategy: { type: 'string' },
  grid: { type: 'string' },
  choose: { type: 'string' },
  runs: { type: 'string' },
  batches: { type: 'string' },
  gate: { type: 'string' },
  runner: { type: 'string' },
  'keep-one': { type: 'boolean' },
  blocks: { type: 'string' },
  'label-free': { type: 'boolean' },
  objective: { type: 'string' },
  'labelled-plan': { type: 'boolean' },
  budget: { type: 'string' },
  plan: { type: 'string' },
  'plan-taus': { type: 'string' },
  'plan-out': { type: 'string' },
  profile: { type: 'boolean' },
  'keep-rates': { type: 'boolean' },
  'head-only-ab': { type: 'boolean' },
  clip: { type: 'boolean' },
  opset: { type: 'string' },
  attention: { type: 'string' },
  shapes: { type: 'string' },
  tokens: { type: 'string' },
  browser: { type: 'string' },
  gpu: { type: 'string' },
  only: { type: 'string' },
  versus: { type: 'string' },
  keeps: { type: 'string' },
  select: { type: 'string' },
  targets: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const VALUE_OPTIONS = new Set(
  Object.entries(OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([name]) => name),
);

function parse(argv: string[]): { command: string; args: Args } {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const command = positionals[0] ?? 'eval';
  if (!['eval', 'calibrate', 'ablate', 'bench', 'zero-shot', 'depth'].includes(command) || positionals.length > 1) {
    throw new UsageError(`unknown command '${positionals.join(' ')}' (expected eval, calibrate, ablate, bench, zero-shot or depth)`);
  }
  return { command, args: values as Args };
}

async function loadClassifier(args: Args): Promise<{ classifier: Classifier; name: string }> {
  const { path: modelId, name } = resolveModel(args.model);
  const dtype = args.dtype ?? 'fp32';
  if (!['fp32', 'fp16', 'q8'].includes(dtype)) throw new UsageError(`--dtype: expected fp32, fp16 or q8, found '${dtype}'`);
  const classifier = (await pipeline('image-classification', modelId, {
    dtype: dtype as 'fp32',
    device: (args.device ?? 'cpu') as 'cpu',
  })) as unknown as Classifier;
  return { classifier, name };
}

async function loadData(spec: string, classifier: Classifier): Promise<Dataset> {
  if (imageSetNames.includes(spec)) return committedDataset(spec);
  const label2id = (classifier.model.config.label2id ?? {}) as Record<string, number>;
  return imageFolder(spec, label2id);
}

function labelsOf(classifier: Classifier): string[] {
  const id2label = (classifier.model.config.id2label ?? {}) as Record<string, string>;
  const n = Object.keys(id2label).length;
  return Array.from({ length: n }, (_, i) => id2label[i] ?? String(i));
}

/** The committed τ curve of the default JMP as it runs on the model (its metric and pairing: the curve its τ came from). */
async function calibrationFile(name: string, info: { metric: string | null; match: string | null }): Promise<CalibrationCurve | undefined> {
  const known = CALIBRATED_TAU[name] && defaultCalibration(CALIBRATED_TAU[name], info);
  if (!known) return undefined;
  return JSON.parse(await readFile(new URL(`../calibration/${known.file}`, import.meta.url), 'utf8')) as CalibrationCurve;
}

async function evalCommand(args: Args, argv: string[]): Promise<void> {
  const { classifier, name } = await loadClassifier(args);
  try {
    const { data, limit } = sampled(
      await loadData(args.data ?? dataFor(args.model).test, classifier),
      args.full ? Infinity : int('limit', args.limit, DEFAULT_LIMIT),
    );
    const batchSize = int('batch', args.batch, 32);
    const methods = parseMethods(args.methods ?? METHODS.join(','));
    const info = await inspectJMP(classifier, { strategy: 'prune' });
    const shape = info.shape;
    const calibrated = CALIBRATED_TAU[name];
    // the default JMP's τ belongs to the metric and pairing the library runs on this model (inspectJMP
    // resolves them): --tau, else the model's calibrated τ, else the library's default (as enableJMP runs)
    const calibratedTau = calibrated && defaultCalibration(calibrated, info)?.tau;
    const tau = num('tau', args.tau) ?? calibratedTau ?? (await inspectJMP(classifier)).tau;
    const tauFrom =
      args.tau !== undefined
        ? '--tau'
        : calibratedTau !== undefined
          ? `calibrated for ${name} (apps/eval/calibration)`
          : "the library's default (no calibrated τ for this model; `pnpm eval calibrate` finds one on held-out images)";
    const specInfo = methods.includes('jmp-spec') ? await inspectJMP(classifier, { select: 'attention', strategy: 'adaptive' }) : undefined;
    const tauSpec = num('tau-spec', args['tau-spec']) ?? calibrated?.tauSpec ?? specInfo?.tau ?? undefined;
    if (typeof tau !== 'number' || (tauSpec !== undefined && typeof tauSpec !== 'number')) {
      throw new UsageError(`--tau / --tau-spec: no single τ for '${name}' (pass --tau and --tau-spec)`);
    }
    if (methods.includes('jmp')) console.log(`τ of jmp: ${tau} (${tauFrom})`);
    if (methods.includes('jmp-spec'))
      console.log(
        `τ of jmp-spec: ${tauSpec} (${args['tau-spec'] !== undefined ? '--tau-spec' : calibrated ? `calibrated for ${name}` : "the library's default"})`,
      );
    const ctx: SweepContext = { shape, tau: tau ?? 0, tauSpec: tauSpec ?? 0, headOnly: info.headOnly };
    const settings = buildSettings(methods, ctx, !args['no-sweep']);
    if (args.plan) {
      // a plan from `calibrate --label-free` (or calibrateJMP): evaluated as one more setting
      const plan = JSON.parse(await readFile(args.plan, 'utf8')) as JMPPlan;
      settings.push({ method: 'plan', options: { plan }, plannedGmacs: plan.gmacs?.planned ?? 0 });
      // --plan-taus: the plan's schedule at each single τ of a grid, to compare the plan with the best
      // single τ on this split (for reporting only: choosing τ on test images would be cheating)
      if (args['plan-taus']) {
        for (const t of parseGrid(args['plan-taus'])) {
          settings.push({ method: 'plan', options: { plan: { ...plan, options: { ...plan.options, tau: t } } }, plannedGmacs: plan.gmacs?.planned ?? 0 });
        }
      }
    } else if (args['plan-taus']) throw new UsageError('--plan-taus: only with --plan');
    // The default JMP at about −35 % GMACs (the paper's operating point): token maps.
    const defaultJmp = settings.find((s) => s.method === 'jmp' && (s.target === 0.35 || s.target === undefined));
    // The paper's rule at about −35 %: its per-image decision is what the σ histograms show.
    const specJmp = settings.find((s) => s.method === 'jmp-spec' && (s.target === 0.35 || s.target === undefined));
    const baselineGmacs = baselineMacs(shape).gmacs;
    const latencyRuns = int('latency-runs', args['latency-runs'], 32, 0);
    const speedRuns = int('speed-runs', args['speed-runs'], 5, 0);
    console.log(
      `model ${name} (${info.architecture}, ${shape.depth} blocks, ${info.protectedTokens} protected tokens), ${data.name}: ${limit} images, batch ${batchSize}, ${settings.length} settings`,
    );

    const prep = new Progress(limit, 'preprocessing');
    const batches = await prepareBatches(classifier, data, limit, batchSize, prep);
    prep.finish();
    const progress = new Progress(limit * settings.length, '');
    let sigma: ReportData['sigma'];
    // the paired speedup's reference: a second pipeline of the same model, never patched
    const plain = speedRuns > 0 ? (await loadClassifier(args)).classifier : undefined;
    let baselineCorrect: Uint8Array | undefined;
    const runs: { result: EvalResult; correct: Uint8Array }[] = [];
    try {
      for (const setting of settings) {
        progress.setLabel(`${setting.method} ${JSON.stringify(setting.options ? { keep: setting.options.keep, r: setting.options.r } : {})}`);
        const run = await runSetting(setting, {
          classifier,
          batches,
          baselineGmacs,
          numClasses: labelsOf(classifier).length,
          latencyRuns,
          plain,
          speedRuns,
          progress,
        });
        runs.push(run);
        if (setting.method === 'baseline') baselineCorrect = run.correct;
        if (setting === specJmp) sigma = sigmaDistributions(run.sigma, tauSpec!);
      }
    } finally {
      await plain?.dispose();
    }
    progress.finish();
    const results: EvalResult[] = runs.map((run) => (baselineCorrect ? { ...run.result, paired: pairedCounts(run.correct, baselineCorrect) } : run.result));

    const json: EvalJson = { model: name, dataset: data.name, images: limit, device: args.device ?? 'cpu', dtype: args.dtype ?? 'fp32', batchSize, results };
    printTable(json, baselineGmacs);
    console.log(
      `+/− vs base: images right here and wrong in the baseline / the other way round. speedup: paired, plain time / this time, ` +
        (speedRuns > 0
          ? `medians of ${speedRuns} rounds alternating with a plain pipeline on one batch of ${batches[0]!.labels.length}.`
          : 'not measured (--speed-runs 0).') +
        ' img/s*: unpaired, each setting timed at its own moment (compare speeds by the speedup).',
    );
    const jmpOptions = defaultJmp?.options ?? { strategy: 'merge' as const, keep: 0.85, blocks: jmpBlocks(shape, info.headOnly) };
    const maps = await tokenMaps(
      classifier,
      data,
      [0, 1, 2, 3, 4, 5].filter((i) => i < data.size),
      jmpOptions,
      labelsOf(classifier),
    );
    const calibration = await calibrationFile(name, info);
    const report: ReportData = {
      ...json,
      baselineGmacs,
      generatedAt: new Date().toISOString(),
      command: `pnpm eval ${argv.join(' ')}`.trim(),
      ...(sigma ? { sigma } : {}),
      ...(calibration ? { calibration } : {}),
      tokenMaps: {
        ...maps,
        setting: `${jmpOptions.strategy ?? 'adaptive'} keep ${String(jmpOptions.keep)}${jmpOptions.tau !== undefined ? `, τ ${jmpOptions.tau}` : ''}`,
      },
      notes: [
        'Throughput and latency time the model forward only (preprocessing is identical for all methods and done once).',
        'GMACs per image are counted from the token counts each run really had.',
        'Every method runs as one ONNX graph with its reduction compiled in (the compiled runner of @jmpjs/transformers-patch), so their speeds compare like for like.',
      ],
    };
    const out = args.out ?? path.join(process.cwd(), 'apps/eval/out');
    await renderReport(report, out);
    console.log(`report: ${path.join(out, 'report.html')} and report.md`);
    if (args.json) {
      await mkdir(path.dirname(path.resolve(args.json)), { recursive: true });
      await writeFile(args.json, JSON.stringify(json, null, 2) + '\n');
      console.log(`json: ${args.json}`);
    }
    if (args.gate) {
      const { failures, summary } = checkGate(json, await readBounds(args.gate));
      console.log(summary);
      if (failures.length > 0) {
        console.error(`gate FAILED (${args.gate}):\n  ${failures.join('\n  ')}`);
        process.exitCode = 3;
      }
    }
  } finally {
    await classifier.dispose();
  }
}

function printTable(json: EvalJson, baselineGmacs: number): void {
  const base = json.results.find((r) => r.method === 'baseline');
  console.log(
    `\n${'method'.padEnd(10)} ${'setting'.padEnd(22)} ${'GMACs'.padStart(8)} ${'ΔGMACs'.padStart(8)} ${'top-1'.padStart(7)} ${'Δtop-1'.padStart(7)} ${'+/− vs base'.padStart(11)} ${'speedup'.padStart(7)} ${'img/s*'.padStart(8)} ${'p50 ms'.padStart(7)} ${'merge'.padStart(6)}`,
  );
  for (const r of json.results) {
    const p = r.params as { keep?: number; r?: number; tau?: number };
    const setting = p.r !== undefined ? `r ${rText(p.r)}` : p.keep !== undefined ? `keep ${p.keep}${p.tau !== undefined ? ` τ ${p.tau}` : ''}` : '';
    console.log(
      `${r.method.padEnd(10)} ${setting.padEnd(22)} ${r.gmacs.toFixed(4).padStart(8)} ${((r.gmacs / baselineGmacs - 1) * 100).toFixed(1).padStart(7)}% ` +
        `${(r.top1 * 100).toFixed(2).padStart(6)}% ${base ? ((r.top1 - base.top1) * 100).toFixed(2).padStart(7) : ''} ${(r.paired ? `+${r.paired.gained}/−${r.paired.lost}` : '—').padStart(11)} ` +
        `${typeof r.speedup === 'number' ? `${r.speedup.toFixed(2)}x`.padStart(7) : '      —'} ${r.throughput.toFixed(0).padStart(8)} ` +
        `${r.latencyMsP50 !== null ? r.latencyMsP50.toFixed(2).padStart(7) : '     —'} ${r.mergeShare !== null ? (r.mergeShare * 100).toFixed(0).padStart(5) + '%' : '     —'}`,
    );
  }
}

async function main(raw: string[]): Promise<void> {
  const argv = normalizeArgv(raw, VALUE_OPTIONS);
  const { command, args } = parse(argv);
  if (args.help) {
    console.log(HELP);
    return;
  }
  onInterrupt();
  if (command === 'eval') await evalCommand(args, argv);
  else if (command === 'calibrate') await (await import('./calibrate.js')).calibrateCommand(args, { loadClassifier, loadData, labelsOf });
  else if (command === 'ablate') await (await import('./ablate.js')).ablateCommand(args, { loadClassifier, loadData, labelsOf });
  else if (command === 'zero-shot') await (await import('./zero-shot.js')).zeroShotCommand(args);
  else if (command === 'depth') await (await import('./depth.js')).depthCommand(args);
  else await (await import('./bench.js')).benchCommand(args);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof InterruptedError || interrupt.requested) {
    console.error('Stopped by Ctrl-C; sessions released.');
    process.exit(130);
  }
  if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`jmp-eval: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
