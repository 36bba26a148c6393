import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '@huggingface/transformers';
import { modelPath, pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableJMP, type JMPOptions, type JMPPlan } from '../src/index.js';
import { decodeModel, encodeModel, type ModelProto } from '../src/onnx/proto.js';
import { loadClassifier, logits, maxAbsDiff, type Classifier } from './helpers.js';

/**
 * The `jmp` command line, run as users run it (a child process), on the tiny fixtures. The compiled
 * file is loaded by plain onnxruntime-node, without this package, and must give the logits of
 * enableJMP with the same options.
 */
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function jmp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli/jmp.ts', ...args], {
    cwd: packageDir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: ArrayLike<number>; dims: readonly number[] }>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(path: string, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}
// transformers.js's own onnxruntime-node (the one its pipelines run on)
const ort = createRequire(import.meta.resolve('@huggingface/transformers'))('onnxruntime-node') as Ort;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'jmp-cli-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('jmp inspect', { timeout: 60_000 }, () => {
  it('tiny-deit, default schedule: blocks found, tokens per block, GMACs', () => {
    const r = jmp('inspect', modelPath('tiny-deit'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('deit, 12 blocks, 2 protected tokens');
    expect(r.stdout).toMatch(/opset 14, eager attention, dtype fp32/);
    // the default JMP: the token states, ToMe's split (196 patches), the keep rate planned for 65 % of the plain GMACs, at every second block but the last, τ 0.86
    expect(r.stdout).toMatch(
      /adaptive-token \(select redundancy, metric hidden, match bipartite\), τ 0\.86, keep 0\.\d+ \(planned for a budget of 0\.65 of the plain GMACs\) at blocks 2, 4, 6, 8, 10, proportional attention on, last block's MLP on the class and distillation tokens only/,
    );
    // The per-block table: block, tokens in, tokens out.
    const rows = r.stdout
      .split('\n')
      .map((line) => /^\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line))
      .filter((m) => m !== null)
      .map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
    expect(rows.map((row) => row[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // tokens leave at the even blocks only, and each block starts with what the previous one left
    rows.forEach(([block, tokensIn, tokensOut], i) => {
      if (block === 12)
        expect(tokensOut).toBe(2); // the last block's MLP: class and distillation tokens
      else if (block! % 2 === 0) expect(tokensOut).toBeLessThan(tokensIn!);
      else expect(tokensOut).toBe(tokensIn);
      if (i > 0) expect(tokensIn).toBe(rows[i - 1]![2]);
    });
    expect(rows[0]![1]).toBe(198);
    const g = /GMACs \/ image\s+([\d.]+) plain, ([\d.]+) with JMP \(−([\d.]+)%\)/.exec(r.stdout);
    expect(g).not.toBeNull();
    expect(Number(g![2])).toBeLessThan(Number(g![1]));
    // within 1 % of the plain GMACs of the budget
    expect(Math.abs(Number(g![3]) - 35)).toBeLessThanOrEqual(1);
  });

  it('--metric: says which metric runs (hidden by default); an unknown metric is a typed error naming it', () => {
    const r = jmp('inspect', modelPath('tiny-vit'), '--metric', 'keys-per-head');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/adaptive-token \(select redundancy, metric keys-per-head, match bipartite\), τ 0\.93/);
    expect(jmp('inspect', modelPath('tiny-vit')).stdout).toMatch(/adaptive-token \(select redundancy, metric hidden, match bipartite\), τ 0\.86/);
    const bad = jmp('inspect', modelPath('tiny-vit'), '--metric', 'values');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('options.metric');
  });

  it('--match: says which pairing runs; an unknown pairing is a typed error naming it', () => {
    const r = jmp('inspect', modelPath('tiny-vit'), '--match', 'nearest');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/adaptive-token \(select redundancy, metric hidden, match nearest\)/);
    expect(jmp('inspect', modelPath('tiny-vit'), '--select', 'attention').stdout).not.toContain('match');
    const bad = jmp('inspect', modelPath('tiny-vit'), '--match', 'greedy');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('options.match');
  });

  it('--json; a bare .onnx file gives the same plan, with sizes read from the graph', () => {
    const args = ['--keep', '0.6,0.7,0.8', '--blocks', '3,6,9', '--strategy', 'merge', '--json'];
    const folder = jmp('inspect', modelPath('tiny-vit'), '--dtype', 'fp16', ...args);
    const file = jmp('inspect', path.join(modelPath('tiny-vit'), 'onnx', 'model_fp16.onnx'), ...args);
    expect([folder.status, file.status]).toEqual([0, 0]);
    const a = JSON.parse(folder.stdout) as Record<string, unknown> & { plannedTokens: { tokensIn: number }[]; gmacs: Record<string, number> };
    const b = JSON.parse(file.stdout) as typeof a;
    expect(a).toMatchObject({ architecture: 'vit', depth: 12, protectedTokens: 1, dtype: 'fp16', heads: 2, sizesFrom: 'config.json', strategy: 'merge' });
    expect(b).toMatchObject({ architecture: 'vit', depth: 12, protectedTokens: 1, dtype: 'fp16', heads: null, sizesFrom: 'graph' });
    expect(a.plannedTokens.map((t) => t.tokensIn)).toEqual([197, 197, 197, 119, 119, 119, 84, 84, 84, 68, 68, 68]);
    expect(b.plannedTokens).toEqual(a.plannedTokens);
    expect(b.shape).toEqual(a.shape);
    expect(b.gmacs).toEqual(a.gmacs);
  });
});

describe('jmp compile: a standalone ONNX file = enableJMP', { timeout: 60_000 }, () => {
  // The reference inputs and τ of the fixtures (tooling/fixtures/jmp_reference.py chose τ away from every σ there).
  const ref = (name: string) =>
    JSON.parse(readFileSync(path.join(modelPath(name), 'jmp-reference.json'), 'utf8')) as {
      inputs: { seed: number; batch: number; height: number; width: number; channels: number; mean: number[]; std: number[] };
      cases: { name: string; options: JMPOptions }[];
    };
  const batch = 2;
  const inputOf = (name: string) => {
    const { seed, batch: n, height, width, channels, mean, std } = ref(name).inputs;
    const all = pixelValuesFromU8(xorshift32Bytes(seed, n * height * width * channels), { batch: n, height, width, channels, mean, std });
    return all.slice(0, batch * 3 * 224 * 224);
  };
  const tauOf = (name: string, caseName: string) => ref(name).cases.find((c) => c.name === caseName)!.options.tau!;

  // [model, label, command-line options, the same as enableJMP options, tokens removed at each reduction]
  const cases: [string, string, string[], JMPOptions, number[]][] = [
    [
      'tiny-deit',
      "adaptive (the paper's rule), its default blocks, keep 0.7",
      ['--select', 'attention', '--strategy', 'adaptive', '--keep', '0.7', '--tau', String(tauOf('tiny-deit', 'jmp adaptive batch 4'))],
      { select: 'attention', strategy: 'adaptive', keep: 0.7, tau: tauOf('tiny-deit', 'jmp adaptive batch 4') },
      [198 - 140, 140 - 99, 99 - 70],
    ],
    [
      'tiny-vit',
      'merge, keep per block, no proportional attention',
      ['--strategy', 'merge', '--keep', '0.6,0.7,0.8', '--blocks', '3,6,9', '--no-proportional-attention'],
      { strategy: 'merge', keep: [0.6, 0.7, 0.8], blocks: [3, 6, 9], proportionalAttention: false },
      [197 - 119, 119 - 84, 84 - 68],
    ],
    [
      'tiny-vit',
      'merge, similarity averaged over heads, keep 0.7 at 4/7/10',
      ['--strategy', 'merge', '--metric', 'keys-per-head', '--keep', '0.7', '--blocks', '4,7,10'],
      { strategy: 'merge', metric: 'keys-per-head', keep: 0.7, blocks: [4, 7, 10] },
      [197 - 139, 139 - 98, 98 - 69],
    ],
    [
      'tiny-vit',
      'merge, tokens paired by nearest neighbour, keep 0.7 at 4/7/10',
      ['--strategy', 'merge', '--match', 'nearest', '--keep', '0.7', '--blocks', '4,7,10'],
      { strategy: 'merge', match: 'nearest', keep: 0.7, blocks: [4, 7, 10] },
      [197 - 139, 139 - 98, 98 - 69],
    ],
  ];

  describe.each(cases)('%s: %s', (name, _label, args, options, removed) => {
    let classifier: Classifier;
    beforeAll(async () => {
      classifier = await loadClassifier(name);
    });
    afterAll(async () => {
      await classifier.dispose();
    });

    it('loads and runs in plain onnxruntime-node; logits = enableJMP (compiled and segments runners)', { timeout: 120_000 }, async () => {
      const out = path.join(tmp, `${name}.onnx`);
      const r = jmp('compile', modelPath(name), '--out', out, ...args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Wrote ${out}`);

      // Standard operators only.
      const model = decodeModel(readFileSync(out));
      expect(model.graph.node.every((n) => !n.domain || n.domain === 'ai.onnx')).toBe(true);

      const data = inputOf(name);
      const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
      let compiled: Float32Array;
      try {
        expect(session.inputNames).toEqual(['pixel_values']);
        expect(session.outputNames).toEqual(['logits', 'jmp_sigma_0', 'jmp_merged_0', 'jmp_sigma_1', 'jmp_merged_1', 'jmp_sigma_2', 'jmp_merged_2']);
        const result = await session.run({ pixel_values: new ort.Tensor('float32', data, [batch, 3, 224, 224]) });
        compiled = Float32Array.from(result.logits!.data);
        expect(result.logits!.dims).toEqual([batch, 10]);
        // Tokens merged per image at each reduction: all removed ones (merge), or all or none (adaptive).
        removed.forEach((m, k) => {
          const merged = Array.from(result[`jmp_merged_${k}`]!.data);
          expect(merged).toHaveLength(batch);
          for (const v of merged) expect(options.strategy === 'merge' ? [m] : [0, m]).toContain(v);
        });
      } finally {
        await session.release();
      }
      // The reduction changes the logits (it is not the plain model).
      const plain = await logits(classifier, new Tensor('float32', data, [batch, 3, 224, 224]));
      expect(maxAbsDiff(compiled, plain)).toBeGreaterThan(1e-4);

      for (const runner of ['auto', 'segments'] as const) {
        const handle = await enableJMP(classifier, { ...options, runner });
        try {
          const patched = await logits(classifier, new Tensor('float32', data, [batch, 3, 224, 224]));
          expect(maxAbsDiff(compiled, patched)).toBeLessThanOrEqual(1e-4);
        } finally {
          await handle.dispose();
        }
      }
    });
  });

  it('a bare .onnx file with --heads compiles to the same model as its folder', () => {
    const fromFolder = path.join(tmp, 'folder.onnx');
    const fromFile = path.join(tmp, 'file.onnx');
    const args = ['--strategy', 'prune', '--keep', '0.5'];
    expect(jmp('compile', modelPath('tiny-deit'), '--out', fromFolder, ...args).status).toBe(0);
    expect(jmp('compile', path.join(modelPath('tiny-deit'), 'onnx', 'model.onnx'), '-o', fromFile, '--heads', '2', ...args).status).toBe(0);
    expect(Buffer.compare(readFileSync(fromFile), readFileSync(fromFolder))).toBe(0);
  });
});

describe('exit codes and messages', { timeout: 60_000 }, () => {
  it('--help: 0, with the usage', () => {
    for (const args of [['--help'], ['compile', '--help'], ['inspect', '-h']]) {
      const r = jmp(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: jmp /);
    }
    expect(jmp('compile', '--help').stdout).toContain('--no-proportional-attention');
  });

  it.each([
    ['no command', [], 'missing command'],
    ['unknown command', ['squash'], 'unknown command "squash"'],
    ['unknown option', ['inspect', 'x', '--kep', '0.5'], "Unknown option '--kep'"],
    ['missing model', ['inspect'], 'missing <model>'],
    ['missing --out', ['compile', 'x'], 'missing --out'],
    ['not a number', ['inspect', 'x', '--keep', '0.6,abc'], '--keep: expected a number, found "abc"'],
  ])('bad command line (%s): 2, message and usage', (_label, args, message) => {
    const r = jmp(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: jmp');
  });

  it('not a ViT (one Relu node): 1, says what was looked for, no stack trace', () => {
    const relu: ModelProto = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 14 }],
      graph: {
        name: 'relu',
        node: [{ name: 'relu', opType: 'Relu', input: ['pixel_values'], output: ['y'], attribute: [] }],
        input: [{ name: 'pixel_values', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 8 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 8 }] } } } }],
        initializer: [],
        valueInfo: [],
      },
    };
    const file = path.join(tmp, 'relu.onnx');
    writeFileSync(file, encodeModel(relu));
    for (const command of ['inspect', 'compile']) {
      const r = jmp(command, file, ...(command === 'compile' ? ['--out', path.join(tmp, 'never.onnx'), '--heads', '1', '--strategy', 'prune'] : []));
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('UnsupportedModelError');
      expect(r.stderr).toContain("looked for attention Softmax nodes named '/vit/encoder/layer.{i}/attention/attention/Softmax'");
      expect(r.stderr).toContain('no Softmax node at all');
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it.each([
    ['keep out of range', ['inspect', modelPath('tiny-deit'), '--keep', '1.5'], 'Invalid options.keep'],
    ['block beyond the depth', ['inspect', modelPath('tiny-deit'), '--blocks', '4,13'], 'Invalid schedule.blocks[1]'],
    ['unknown strategy', ['inspect', modelPath('tiny-deit'), '--strategy', 'fast'], 'Invalid options.strategy'],
    [
      'budget and keep',
      ['compile', modelPath('tiny-deit'), '--out', path.join(tmp, 'never.onnx'), '--budget', '0.6', '--keep', '0.8'],
      'Invalid options.budget and options.keep',
    ],
    ['budget out of range', ['inspect', modelPath('tiny-deit'), '--budget', '0'], 'Invalid options.budget'],
    [
      'a bare .onnx file without --heads',
      ['compile', path.join(modelPath('tiny-deit'), 'onnx', 'model.onnx'), '--out', path.join(tmp, 'never.onnx'), '--strategy', 'prune'],
      'Invalid heads',
    ],
    ['no such model', ['inspect', 'no/such/model'], 'Invalid model'],
  ])("bad option (%s): 1, the typed error's message", (_label, args, message) => {
    const r = jmp(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('JmpArgumentError');
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('jmp calibrate', { timeout: 60_000 }, () => {
  it('a model folder and a folder of images: a plan that enableJMP runs; no labels read', { timeout: 120_000 }, async () => {
    const { RawImage } = await import('@huggingface/transformers');
    const images = path.join(tmp, 'images', 'nested');
    mkdirSync(images, { recursive: true });
    const bytes = xorshift32Bytes(5, 16 * 64 * 48 * 3);
    for (let i = 0; i < 16; i++) {
      await new RawImage(new Uint8ClampedArray(bytes.subarray(i * 64 * 48 * 3, (i + 1) * 64 * 48 * 3)), 64, 48, 3).save(path.join(images, `im${i}.png`));
    }
    writeFileSync(path.join(tmp, 'images', 'notes.txt'), 'not an image');
    const out = path.join(tmp, 'plan.json');
    const r = jmp('calibrate', modelPath('tiny-vit'), path.join(tmp, 'images'), '--out', out, '--taus', '0.5:0.9:0.4', '--batch', '4');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Wrote`);
    expect(r.stderr).toContain('on 16 images');
    const plan = JSON.parse(readFileSync(out, 'utf8')) as JMPPlan;
    expect(plan.candidates.map((c) => c.tau)).toEqual([0.5, 0.9]);
    expect(plan.measured.images).toBe(16);
    expect(plan.objective).toBe('kl');
    expect(r.stdout).toContain(`τ ${plan.options.tau}: top-1 agreement`);
    const classifier = await loadClassifier('tiny-vit');
    try {
      const handle = await enableJMP(classifier, { plan });
      expect(handle.info!.schedule.map((st) => st.amount)).toEqual(plan.options.keep);
      await handle.dispose();
    } finally {
      await classifier.dispose();
    }
  });

  it.each([
    ['no image folder', ['calibrate', modelPath('tiny-vit')], 2, 'missing <model folder> or <image folder>'],
    ['no --out', ['calibrate', modelPath('tiny-vit'), '.'], 2, 'missing --out'],
    ['a folder without images', ['calibrate', modelPath('tiny-vit'), path.join(modelPath('tiny-vit'), 'onnx'), '--out', 'x.json'], 1, 'Invalid images'],
    [
      'an objective that needs labels',
      ['calibrate', modelPath('tiny-vit'), '.', '--out', 'x.json', '--objective', 'top1'],
      2,
      "--objective: expected kl or agreement, found 'top1'",
    ],
  ])('%s: a typed error or the usage', (_label, args, status, message) => {
    const r = jmp(...(args as string[]));
    expect(r.status).toBe(status);
    expect(r.stderr).toContain(message);
  });
});
