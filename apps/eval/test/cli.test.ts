import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawImage } from '@huggingface/transformers';
import { browserSuite } from '@jmpjs/browser-testing';
import { modelPath } from '@jmpjs/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvalJson } from '../src/types.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', cwd: path.dirname(cli), timeout: 240_000 });
/** The command line is refused: exit code 2, `message` on stderr. Returns the run. */
const refused = (args: string[], message: string) => {
  const r = run(args);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(message);
  return r;
};

describe('jmp-eval command line', () => {
  let dir: string;
  beforeAll(async () => {
    // An ImageFolder for the tiny ViT: class folders named like its labels, 3 images each.
    dir = mkdtempSync(path.join(tmpdir(), 'jmp-eval-'));
    for (const label of ['label_0', 'label_3']) {
      mkdirSync(path.join(dir, 'data', label), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const px = new Uint8ClampedArray(64 * 48 * 3).map((_, k) => (k * (i + 7) + label.length * 13) % 256);
        await new RawImage(px, 64, 48, 3).save(path.join(dir, 'data', label, `${i}.png`));
      }
    }
  });

  /** The tiny ViT on the ImageFolder at batch 4, `args` added. */
  const runFolder = (args: string[]) => run(['--model', modelPath('tiny-vit'), '--data', path.join(dir, 'data'), '--batch', '4', ...args]);

  it('evaluates an ImageFolder and writes the JSON and the report', { timeout: 240_000 }, () => {
    const out = path.join(dir, 'out');
    const r = runFolder(['--methods', 'baseline,prune,merge,tome,evit', '--no-sweep', '--latency-runs', '2', '--out', out, '--json', path.join(out, 'r.json')]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(path.join(out, 'r.json'), 'utf8')) as EvalJson;
    expect(json.images).toBe(6);
    expect(json.dataset).toContain('matched to the model labels');
    expect(json.results.map((x) => x.method)).toEqual(['baseline', 'prune', 'merge', 'tome', 'evit']);
    for (const x of json.results) {
      expect(x.top1).toBeGreaterThanOrEqual(0);
      expect(x.top1).toBeLessThanOrEqual(1);
      expect(x.throughput).toBeGreaterThan(0);
      expect(x.latencyMsP50).toBeGreaterThan(0);
    }
    const base = json.results[0]!;
    expect(json.results.slice(1).every((x) => x.gmacs < base.gmacs)).toBe(true);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(existsSync(path.join(out, 'report.md'))).toBe(true);
  });

  it("evaluates a model without a calibrated τ at the library's default τ, on a class-spread sample of an ImageFolder", { timeout: 240_000 }, () => {
    const r = runFolder(['--methods', 'baseline,jmp', '--limit', '4', '--latency-runs', '0', '--speed-runs', '0', '--out', path.join(dir, 'out-tau')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/τ of jmp: 0\.\d+ \(the library's default/);
    expect(r.stdout).toContain('images: a seeded sample of 4 of 6 images spread over 2 classes');
    expect(r.stdout).toContain('per class 2–2');
  });

  it('bench --blocks: the default JMP again at the named blocks, in the same rounds; bad blocks: exit 2', { timeout: 240_000 }, () => {
    const r = run(['bench', '--model', modelPath('tiny-deit'), '--methods', 'jmp', '--blocks', '2,3', '--batches', '2', '--runs', '1']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^batch\s+2\s+jmp/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/budget 0\.65\s/);
    expect(rows[1]).toMatch(/budget 0\.65 @2…3\/2/);
    refused(
      ['bench', '--model', modelPath('tiny-deit'), '--methods', 'jmp', '--blocks', '0,9', '--batches', '2', '--runs', '1'],
      "--blocks: expected block numbers 1…12, comma-separated, found '0,9'",
    );
  });

  it('ablate prints each row with its paired counts and its mean KL to the plain model', { timeout: 240_000 }, () => {
    const r = run([
      'ablate',
      '--model',
      modelPath('tiny-vit'),
      '--limit',
      '32',
      '--tau',
      '0.9',
      '--tau-spec',
      '0.5',
      '--tau-per-head',
      '0.9',
      '--only',
      '9',
      '--targets',
      '0.35',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\+\/− vs base\s+KL \(nats\)/);
    const rows = r.stdout.split('\n').filter((l) => /^(… even blocks|tome r)/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/\+\d+\/−\d+\s+\d\.\d{5}$/);
  });

  it('rejects bad command lines with exit code 2 and the help', () => {
    const r = refused(['--limit', 'ten'], '--limit: expected an integer');
    expect(r.stderr).toContain('Usage:');
  });

  it('rejects a bad --browser device before any work', () => {
    refused(['bench', '--browser', 'gpu', '--model', modelPath('tiny-deit')], "--browser: expected wasm or webgpu, found 'gpu'");
  });

  it('rejects bad --shapes lists before any work', () => {
    refused(['bench', '--shapes', 'eager14,opset12'], "--shapes: expected a list of eager14, opset11, sdpa14, found 'opset12'");
    refused(['bench', '--shapes', 'eager14,eager14'], '--shapes: each shape once');
    refused(['bench', '--shapes', 'eager14,sdpa14', '--model', modelPath('tiny-deit')], '--shapes chooses the fixture exports');
  });

  it.skipIf(!browserSuite('eval: bench --browser wasm'))(
    'bench --browser wasm: the same table and JSON, timed in headless Chromium',
    { timeout: 240_000 },
    () => {
      const json = path.join(dir, 'bench.json');
      const r = run([
        'bench',
        '--browser',
        'wasm',
        '--model',
        modelPath('tiny-deit'),
        '--batches',
        '2',
        '--runs',
        '1',
        '--methods',
        'jmp',
        '--keep-one',
        '--json',
        json,
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('in headless Chromium on wasm');
      expect(r.stdout).toMatch(/batch {2}2 {2}jmp {7}keep 1 .* speedup \d+\.\d{3}x/);
      expect(r.stdout).toMatch(/batch {2}2 {2}jmp {7}budget 0\.65 .* speedup \d+\.\d{3}x/);
      const out = JSON.parse(readFileSync(json, 'utf8')) as {
        device: string;
        results: { method: string; gmacs: number; batchSize: number; throughput: number }[];
      };
      expect(out.device).toBe('browser-wasm');
      expect(out.results).toHaveLength(2);
      // GMACs from the token counts the page's patched pipeline really had: keep 1 is the full model, the default JMP (budget 0.65) less
      expect(out.results[1]!.gmacs).toBeLessThan(out.results[0]!.gmacs * 0.8);
      for (const x of out.results) expect(x.throughput).toBeGreaterThan(0);
    },
  );

  it('takes a leading -- and negative values as npm users type them', () => {
    // `pnpm eval -- calibrate …` hands the -- through: it is a separator, not a command
    refused(['--', 'calibrate', '--data', 'fmnist-test'], 'never calibrated on test data');
    // `--limit -3` is the value -3 (refused by the range check, not by the parser)
    refused(['--', '--limit', '-3'], "--limit: expected an integer ≥ 1, found '-3'");
  });

  it('never calibrates on the test set', () => {
    refused(['calibrate', '--data', 'fmnist-test'], 'never calibrated on test data');
  });

  it('calibrate --objective: kl or agreement, with --label-free only, checked before loading the model', () => {
    refused(['calibrate', '--label-free', '--objective', 'top1'], "--objective: expected kl or agreement, found 'top1'");
    refused(['calibrate', '--labelled-plan', '--objective', 'kl'], '--objective: only with --label-free');
  });

  it('calibrate --choose takes kl or top1, and says so before loading the model', () => {
    refused(['calibrate', '--choose', 'agreement'], "--choose: expected kl or top1, found 'agreement'");
  });
});
