#!/usr/bin/env node
// `jmp`: compiles JMP into a standalone ONNX file, and inspects models.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JmpArgumentError, UnsupportedModelError } from '../errors.js';
import { compileJMPModel, inspectModel, type CompileJMPModelParams, type ModelInspection } from '../compile-model.js';
import { DEFAULT_CALIBRATION_BATCH, DEFAULT_CLI_CALIBRATION_IMAGES } from '../defaults.js';
import { CALIBRATE_USAGE, COMPILE_USAGE, INSPECT_USAGE, MAIN_USAGE, TAU_GRID } from './usage.js';
import type { JmpMetric } from '../option-values.js';

/** A command line this tool cannot parse: exit code 2, with the usage. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

const scheduleOptions = {
  dtype: { type: 'string' },
  budget: { type: 'string' },
  keep: { type: 'string' },
  blocks: { type: 'string' },
  select: { type: 'string' },
  strategy: { type: 'string' },
  metric: { type: 'string' },
  match: { type: 'string' },
  tau: { type: 'string' },
  'no-proportional-attention': { type: 'boolean' },
  'no-head-only': { type: 'boolean' },
  heads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message, usage);
  }
}

function number(option: string, text: string, usage: string): number {
  const v = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(v)) throw new UsageError(`--${option}: expected a number, found ${JSON.stringify(text)}`, usage);
  return v;
}

function numbers(option: string, text: string, usage: string): number[] {
  return text.split(',').map((part) => number(option, part, usage));
}

/** Library parameters from the parsed command line. */
function params(
  model: string,
  values: {
    dtype?: string;
    budget?: string;
    keep?: string;
    blocks?: string;
    select?: string;
    strategy?: string;
    metric?: string;
    match?: string;
    tau?: string;
    'no-proportional-attention'?: boolean;
    'no-head-only'?: boolean;
    heads?: string;
  },
  usage: string,
): CompileJMPModelParams {
  const keep = values.keep === undefined ? undefined : numbers('keep', values.keep, usage);
  return {
    model,
    ...(values.dtype !== undefined ? { dtype: values.dtype as NonNullable<CompileJMPModelParams['dtype']> } : {}),
    ...(values.heads !== undefined ? { heads: number('heads', values.heads, usage) } : {}),
    options: {
      ...(values.budget !== undefined ? { budget: number('budget', values.budget, usage) } : {}),
      ...(keep !== undefined ? { keep: keep.length === 1 ? keep[0]! : keep } : {}),
      ...(values.blocks !== undefined ? { blocks: numbers('blocks', values.blocks, usage) } : {}),
      ...(values.select !== undefined ? { select: values.select as NonNullable<NonNullable<CompileJMPModelParams['options']>['select']> } : {}),
      ...(values.strategy !== undefined ? { strategy: values.strategy as NonNullable<NonNullable<CompileJMPModelParams['options']>['strategy']> } : {}),
      ...(values.metric !== undefined ? { metric: values.metric as NonNullable<NonNullable<CompileJMPModelParams['options']>['metric']> } : {}),
      ...(values.match !== undefined ? { match: values.match as NonNullable<NonNullable<CompileJMPModelParams['options']>['match']> } : {}),
      ...(values.tau !== undefined ? { tau: ((t) => (t.length === 1 ? t[0]! : t))(numbers('tau', values.tau, usage)) } : {}),
      ...(values['no-proportional-attention'] ? { proportionalAttention: false } : {}),
      ...(values['no-head-only'] ? { headOnly: false } : {}),
    },
  };
}

function onePositional(positionals: string[], what: string, usage: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`, usage);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`, usage);
  return positionals[0]!;
}

const gmacs = (g: number) => (g >= 1 ? g.toFixed(2) : g.toPrecision(3));
const tokenPath = (info: ModelInspection) =>
  [info.plannedTokens[0]!.tokensIn, ...info.plannedTokens.filter((b) => b.tokensOut !== b.tokensIn).map((b) => b.tokensOut)].join(' → ');
const relative = (file: string) => {
  const r = path.relative(process.cwd(), file);
  return r && r.length < file.length ? r : file;
};

function describeSchedule(info: ModelInspection): string {
  const round = (k: number) => Number(k.toFixed(4));
  const keeps = [...new Set(info.schedule.map((s) => round(s.keep)))];
  const keep = keeps.length === 1 ? `keep ${keeps[0]}` : `keep ${info.schedule.map((s) => round(s.keep)).join(', ')}`;
  const planned = info.budget === null ? '' : ` (planned for a budget of ${info.budget} of the plain GMACs)`;
  const tau = info.strategy === 'adaptive' || info.strategy === 'adaptive-token' ? `, τ ${Array.isArray(info.tau) ? info.tau.join(', ') : info.tau}` : '';
  return `JMP ${info.strategy} (select ${info.select}${info.select === 'redundancy' ? `, metric ${info.metric}, match ${info.match}` : ''})${tau}, ${keep}${planned} at blocks ${info.schedule.map((s) => s.block).join(', ')}, proportional attention ${info.proportionalAttention ? 'on' : 'off'}, last block's MLP on ${info.headOnly ? `the ${info.protectedTokens === 1 ? 'class token' : 'class and distillation tokens'} only` : 'every token'}`;
}

function formatInspection(info: ModelInspection): string {
  const P = info.protectedTokens;
  const lines = [
    `Model          ${relative(info.file)}`,
    `Architecture   ${info.architecture}, ${info.depth} blocks, ${P} protected token${P === 1 ? ' (CLS)' : 's (CLS, distillation)'}`,
    `Graph          opset ${info.opset}, ${info.attention === 'sdpa' ? 'SDPA-decomposed' : 'eager'} attention, dtype ${info.dtype}, width ${info.hidden}, ${info.heads ?? 'unknown'} heads, ${info.imageSize}×${info.imageSize} images, ${info.shape.patches} patches (sizes from ${info.sizesFrom})`,
    `Schedule       ${describeSchedule(info)}`,
    `Tokens         ${tokenPath(info)}`,
    '',
    'block  tokens in  tokens out',
    ...info.plannedTokens.map(
      (b) =>
        `${String(b.block).padStart(5)}  ${String(b.tokensIn).padStart(9)}  ${String(b.tokensOut).padStart(10)}${b.tokensOut !== b.tokensIn ? '  (reduces)' : ''}`,
    ),
    '',
    `GMACs / image  ${gmacs(info.gmacs.baseline)} plain, ${gmacs(info.gmacs.jmp)} with JMP (−${info.gmacs.reductionPercent.toFixed(1)}%)`,
  ];
  return lines.join('\n');
}

async function compileCommand(args: string[], out: NodeJS.WriteStream): Promise<void> {
  const { values, positionals } = parse(args, { ...scheduleOptions, out: { type: 'string', short: 'o' } }, COMPILE_USAGE);
  if (values.help) {
    out.write(COMPILE_USAGE + '\n');
    return;
  }
  const model = onePositional(positionals, '<model> (a model folder or an .onnx file)', COMPILE_USAGE);
  if (values.out === undefined || values.out === '') throw new UsageError('missing --out <file>', COMPILE_USAGE);
  const target = path.resolve(values.out);
  const { bytes, info } = await compileJMPModel(params(model, values, COMPILE_USAGE));
  if (target === info.file) throw new UsageError('--out is the input model itself: choose another file', COMPILE_USAGE);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, bytes);
  const extra = info.outputs.filter((o) => o !== 'logits');
  out.write(
    [
      `Wrote ${relative(target)} (${(bytes.byteLength / 1e6).toFixed(2)} MB) from ${relative(info.file)}`,
      `  ${info.architecture}, ${info.depth} blocks, ${info.protectedTokens} protected token${info.protectedTokens === 1 ? '' : 's'}, opset ${info.opset}, dtype ${info.dtype}`,
      `  ${describeSchedule(info)}`,
      `  tokens ${tokenPath(info)}; GMACs / image ${gmacs(info.gmacs.baseline)} → ${gmacs(info.gmacs.jmp)} (−${info.gmacs.reductionPercent.toFixed(1)}%)`,
      `  inputs: ${info.inputs.join(', ')}; outputs: logits${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`,
    ].join('\n') + '\n',
  );
}

async function inspectCommand(args: string[], out: NodeJS.WriteStream): Promise<void> {
  const { values, positionals } = parse(args, { ...scheduleOptions, json: { type: 'boolean' } }, INSPECT_USAGE);
  if (values.help) {
    out.write(INSPECT_USAGE + '\n');
    return;
  }
  const model = onePositional(positionals, '<model> (a model folder or an .onnx file)', INSPECT_USAGE);
  const info = await inspectModel(params(model, values, INSPECT_USAGE));
  out.write((values.json ? JSON.stringify(info, null, 2) : formatInspection(info)) + '\n');
}

const IMAGE = /\.(png|jpe?g|webp|bmp|gif)$/i;

async function imagesIn(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && IMAGE.test(e.name))
    .map((e) => path.join((e as { parentPath?: string; path?: string }).parentPath ?? (e as { path?: string }).path ?? folder, e.name))
    .sort();
}

async function calibrateCommand(args: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<void> {
  const { values, positionals } = parse(
    args,
    {
      out: { type: 'string', short: 'o' },
      budget: { type: 'string' },
      taus: { type: 'string' },
      metric: { type: 'string' },
      match: { type: 'string' },
      objective: { type: 'string' },
      limit: { type: 'string' },
      dtype: { type: 'string' },
      batch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    CALIBRATE_USAGE,
  );
  if (values.help) {
    out.write(CALIBRATE_USAGE + '\n');
    return;
  }
  if (positionals.length !== 2)
    throw new UsageError(
      positionals.length < 2 ? 'missing <model folder> or <image folder>' : `unexpected argument ${JSON.stringify(positionals[2])}`,
      CALIBRATE_USAGE,
    );
  const [model, folder] = positionals as [string, string];
  if (values.out === undefined || values.out === '') throw new UsageError('missing --out <plan.json>', CALIBRATE_USAGE);
  let taus: number[] | undefined;
  if (values.taus !== undefined) {
    const m = /^(-?[\d.]+):(-?[\d.]+):([\d.]+)$/.exec(values.taus);
    const [a, b, step] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
    if (!m || !(step > 0) || !(b >= a)) throw new UsageError(`--taus: expected from:to:step (e.g. ${TAU_GRID}), found '${values.taus}'`, CALIBRATE_USAGE);
    taus = [];
    for (let i = 0; a + i * step <= b + 1e-9; i++) taus.push(Math.round((a + i * step) * 1e6) / 1e6);
  }
  if (values.objective !== undefined && values.objective !== 'kl' && values.objective !== 'agreement') {
    throw new UsageError(`--objective: expected kl or agreement, found '${values.objective}'`, CALIBRATE_USAGE);
  }
  const limit = values.limit === undefined ? DEFAULT_CLI_CALIBRATION_IMAGES : number('limit', values.limit, CALIBRATE_USAGE);
  const batchSize = values.batch === undefined ? DEFAULT_CALIBRATION_BATCH : number('batch', values.batch, CALIBRATE_USAGE);
  for (const [name, v] of [
    ['limit', limit],
    ['batch', batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${name}: expected a positive integer, found '${v}'`, CALIBRATE_USAGE);
  }
  const files = (await imagesIn(folder)).slice(0, limit);
  if (files.length === 0) throw new JmpArgumentError({ argument: 'images', expected: 'a folder with PNG, JPEG, WebP, BMP or GIF files', found: folder });
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  // the package's one side effect (as its entry points install it): the pipeline created next must be known by its file
  await import('../host/session-hook.js');
  const { calibrateJMP } = await import('../host/calibrate.js');
  const pipe = await pipeline('image-classification', path.resolve(model), { dtype: (values.dtype ?? 'fp32') as 'fp32', device: 'cpu' });
  try {
    err.write(`calibrating ${relative(path.resolve(model))} on ${files.length} images of ${relative(folder)} (no labels)\n`);
    let last = -1;
    const plan = await calibrateJMP(pipe as never, files, {
      ...(values.budget !== undefined ? { budget: number('budget', values.budget, CALIBRATE_USAGE) } : {}),
      ...(taus ? { taus } : {}),
      ...(values.metric !== undefined || values.match !== undefined
        ? {
            options: {
              ...(values.metric !== undefined ? { metric: values.metric as JmpMetric } : {}),
              ...(values.match !== undefined ? { match: values.match as 'bipartite' | 'nearest' } : {}),
            },
          }
        : {}),
      ...(values.objective !== undefined ? { objective: values.objective as 'kl' | 'agreement' } : {}),
      batchSize,
      onProgress: ({ done, total, candidate }) => {
        const pct = Math.floor((done / total) * 10);
        if (pct !== last) {
          last = pct;
          err.write(`  ${pct * 10} % (${candidate})\n`);
        }
      },
    });
    const target = path.resolve(values.out);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, JSON.stringify(plan, null, 2) + '\n');
    out.write(
      [
        `Wrote ${relative(target)}`,
        `  τ ${Array.isArray(plan.options.tau) ? plan.options.tau.join(', ') : plan.options.tau}: top-1 agreement with the plain model ${(plan.measured.agreement * 100).toFixed(2)} %, KL ${plan.measured.kl.toFixed(5)} on ${plan.measured.images} images`,
        `  keep ${[...new Set(plan.options.keep.map((k) => Number(k.toFixed(4))))].join(', ')} at blocks ${plan.options.blocks.join(', ')}; GMACs / image ${gmacs(plan.gmacs.plain)} → ${gmacs(plan.gmacs.planned)} (−${((1 - plan.gmacs.planned / plan.gmacs.plain) * 100).toFixed(1)}%)`,
      ].join('\n') + '\n',
    );
  } finally {
    await (pipe as unknown as { dispose(): Promise<void> }).dispose();
  }
}

function version(): string {
  // package.json is two folders up from both src/cli/ and dist/cli/.
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** Runs the command line; returns the exit code (0 done, 1 unsupported model / bad option / I/O error, 2 bad command line). */
async function main(argv: string[]): Promise<number> {
  const { stdout, stderr } = process;
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'compile':
        await compileCommand(rest, stdout);
        return 0;
      case 'inspect':
        await inspectCommand(rest, stdout);
        return 0;
      case 'calibrate':
        await calibrateCommand(rest, stdout, stderr);
        return 0;
      case 'help':
        if (rest[0] === 'compile' || rest[0] === 'inspect' || rest[0] === 'calibrate') return main([rest[0], '--help']);
        stdout.write(MAIN_USAGE + '\n');
        return 0;
      case '-h':
      case '--help':
        stdout.write(MAIN_USAGE + '\n');
        return 0;
      case '-v':
      case '--version':
        stdout.write(version() + '\n');
        return 0;
      case undefined:
        throw new UsageError('missing command', MAIN_USAGE);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`, MAIN_USAGE);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      stderr.write(`jmp${command === 'compile' || command === 'inspect' || command === 'calibrate' ? ` ${command}` : ''}: ${e.message}\n\n${e.usage}\n`);
      return 2;
    }
    if (JmpArgumentError.isInstance(e) || UnsupportedModelError.isInstance(e)) {
      stderr.write(`jmp: ${e.name}: ${e.message}\n`);
      return 1;
    }
    if (typeof (e as { syscall?: unknown } | null)?.syscall === 'string') {
      // A file-system error (EACCES, EISDIR, ENOSPC…): its message names the path.
      stderr.write(`jmp: ${(e as Error).message}\n`);
      return 1;
    }
    stderr.write(`jmp: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
