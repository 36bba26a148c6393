import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelPath } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, checkUntouched, flushTally, maxDiff, pipelineState, trial, typedError, type Outcome } from './hardening/harness.js';
import { JmpArgumentError, UnsupportedModelError, enableJMP, type JMPOptions } from '../src/index.js';
import { decodeModel, encodeModel, type ModelProto } from '../src/onnx/proto.js';
import { loadClassifier, logits, pixels, type Classifier } from './helpers.js';

/**
 * Hardening, models: corrupt, truncated and foreign ONNX bytes, a non-ViT model, ViT graphs with
 * unexpected names or structure, models shallower than the requested blocks. Each case runs with
 * both runners: it must give a typed error before anything changes (the pipeline still gives its
 * plain logits), the documented passthrough fallback, or a correct result.
 */
countSessions();
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const RUNNERS = ['compiled', 'segments'] as const;
const input = pixels(2, 7);
const names = ['tiny-vit', 'tiny-deit', 'tiny-vit-3', 'tiny-resnet'] as const;
type Name = (typeof names)[number];
const pipes = {} as Record<Name, Classifier>;
const plain = {} as Record<Name, Float32Array>;
const file = (name: string) => path.join(modelPath(name), 'onnx', 'model.onnx');
const bytes = (name: string) => new Uint8Array(readFileSync(file(name)));

beforeAll(async () => {
  for (const name of names) {
    pipes[name] = await loadClassifier(name);
    plain[name] = await logits(pipes[name], input);
  }
});
afterAll(async () => {
  for (const name of names) await pipes[name].dispose();
  flushTally('models');
});

/** The tiny ViT's graph, edited. */
function edited(edit: (model: ModelProto) => void): Uint8Array {
  const model = decodeModel(bytes('tiny-vit'));
  edit(model);
  return encodeModel(model);
}

/** Offset where the top-level field `field` of the tiny ViT's file starts (a truncation that decodes). */
function fieldStart(field: number): number {
  const b = bytes('tiny-vit');
  const varint = (o: number): [number, number] => {
    let x = 0;
    for (let s = 0; ; s += 7) {
      const v = b[o++]!;
      x += (v & 127) * 2 ** s;
      if (v < 128) return [x, o];
    }
  };
  for (let o = 0; o < b.length;) {
    const [tag, next] = varint(o);
    if (tag >>> 3 === field) return o;
    if ((tag & 7) === 0) o = varint(next)[1];
    else {
      const [length, start] = varint(next);
      o = start + length;
    }
  }
  throw new Error(`no field ${field}`);
}

/** A case that must be a typed error before any work; the pipeline keeps its plain logits. */
async function rejects(pipe: Name, options: JMPOptions, cls: typeof JmpArgumentError | typeof UnsupportedModelError): Promise<Outcome> {
  const before = pipelineState(pipes[pipe]);
  await typedError(() => enableJMP(pipes[pipe], options), cls);
  checkUntouched(pipes[pipe], before);
  check(maxDiff(await logits(pipes[pipe], input), plain[pipe]) === 0, 'the pipeline does not give its plain logits any more');
  return 'typed';
}

/** onUnsupported: 'passthrough': a warning, a handle that is off, the pipeline unchanged. */
async function passesThrough(pipe: Name, options: JMPOptions): Promise<Outcome> {
  const before = pipelineState(pipes[pipe]);
  const warn = vi.fn();
  const jmp = await enableJMP(pipes[pipe], { ...options, onUnsupported: 'passthrough', warn });
  check(!jmp.enabled && jmp.info === null, 'passthrough gave an enabled handle');
  check(warn.mock.calls.length === 1 && String(warn.mock.calls[0]![0]).includes('left unchanged'), 'passthrough did not warn once');
  checkUntouched(pipes[pipe], before);
  check(maxDiff(await logits(pipes[pipe], input), plain[pipe]) === 0, 'passthrough changed the logits');
  await jmp.dispose();
  return 'fallback';
}

const garbage = () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
const flipped = () => {
  const b = bytes('tiny-vit');
  for (let i = 1000; i < b.length; i += 997) b[i] = b[i]! ^ 0xff;
  return b;
};

// [case, pipeline, modelSource (or none), extra options, expected error class]
const typedCases: [string, Name, (() => string | Uint8Array) | null, JMPOptions, typeof JmpArgumentError | typeof UnsupportedModelError][] = [
  ['corrupt bytes (4 KiB of noise)', 'tiny-vit', garbage, {}, UnsupportedModelError],
  [
    'bytes of another file (config.json)',
    'tiny-vit',
    () => new Uint8Array(readFileSync(path.join(modelPath('tiny-vit'), 'config.json'))),
    {},
    UnsupportedModelError,
  ],
  ['every 997th byte flipped', 'tiny-vit', flipped, {}, UnsupportedModelError],
  ['truncated to 0 bytes', 'tiny-vit', () => new Uint8Array(0), {}, UnsupportedModelError],
  ['truncated to 10 bytes', 'tiny-vit', () => bytes('tiny-vit').subarray(0, 10), {}, UnsupportedModelError],
  ['truncated to 5 000 bytes', 'tiny-vit', () => bytes('tiny-vit').subarray(0, 5000), {}, UnsupportedModelError],
  ['truncated to half', 'tiny-vit', () => bytes('tiny-vit').subarray(0, bytes('tiny-vit').length >> 1), {}, UnsupportedModelError],
  ['truncated by one byte', 'tiny-vit', () => bytes('tiny-vit').subarray(0, bytes('tiny-vit').length - 1), {}, UnsupportedModelError],
  ['truncated after the graph (decodes, no opset)', 'tiny-vit', () => bytes('tiny-vit').subarray(0, fieldStart(8)), {}, UnsupportedModelError],
  ['modelSource: a path that does not exist', 'tiny-vit', () => '/no/such/model.onnx', {}, JmpArgumentError],
  ['modelSource: a folder', 'tiny-vit', () => modelPath('tiny-vit'), {}, JmpArgumentError],
  ['non-ViT pipeline (tiny ResNet-style CNN)', 'tiny-resnet', null, {}, UnsupportedModelError],
  ['CNN graph under a ViT config', 'tiny-vit', () => bytes('tiny-resnet'), {}, UnsupportedModelError],
  [
    'ViT graph with other scope names',
    'tiny-vit',
    () => edited((m) => m.graph.node.forEach((n) => (n.name = n.name?.replace('/vit/encoder/', '/backbone/blocks/')))),
    {},
    UnsupportedModelError,
  ],
  [
    'ViT graph with one block renamed (a gap)',
    'tiny-vit',
    () => edited((m) => m.graph.node.forEach((n) => (n.name = n.name?.replace('/layer.5/', '/layer_5/')))),
    {},
    UnsupportedModelError,
  ],
  [
    'ViT graph whose Softmax runs over axis 1',
    'tiny-vit',
    () => edited((m) => m.graph.node.filter((n) => n.opType === 'Softmax').forEach((n) => (n.attribute = [{ name: 'axis', type: 2, i: 1 }]))),
    {},
    UnsupportedModelError,
  ],
  [
    'ViT graph without the attention residual',
    'tiny-vit',
    () => edited((m) => m.graph.node.forEach((n) => (n.name === '/vit/encoder/layer.2/Add' ? (n.name = '/vit/encoder/layer.2/Sum') : undefined))),
    {},
    UnsupportedModelError,
  ],
  ['another ViT model’s bytes (DeiT under a ViT config)', 'tiny-vit', () => bytes('tiny-deit'), {}, UnsupportedModelError],
  ['a 3-block ViT’s bytes under a 12-block config', 'tiny-vit', () => bytes('tiny-vit-3'), {}, UnsupportedModelError],
  ['depth 3, blocks [4, 7, 10]', 'tiny-vit-3', null, { blocks: [4, 7, 10] }, JmpArgumentError],
  ['depth 3, blocks [2, 5]', 'tiny-vit-3', null, { blocks: [2, 5] }, JmpArgumentError],
  ['depth 12, blocks [4, 13]', 'tiny-vit', null, { blocks: [4, 13] }, JmpArgumentError],
  ['depth 3, ToMe r = 80 per block (more tokens than exist)', 'tiny-vit-3', null, { method: 'tome', r: 80 }, JmpArgumentError],
];

describe.each(RUNNERS)('models (%s runner)', (runner) => {
  it.each(typedCases)('%s: typed error, pipeline untouched', async (name, pipe, source, extra, cls) => {
    const options: JMPOptions = { ...(extra.method === 'tome' ? {} : { strategy: 'merge' }), ...extra, runner, ...(source ? { modelSource: source() } : {}) };
    await trial('models', `${name} (${runner})`, () => rejects(pipe, options, cls));
  });

  it('a config without hidden_size: typed error', async () => {
    const config = pipes['tiny-vit'].model.config;
    const hidden = config.hidden_size;
    delete config.hidden_size;
    try {
      await trial('models', `config without hidden_size (${runner})`, () => rejects('tiny-vit', { strategy: 'merge', runner }, UnsupportedModelError));
    } finally {
      config.hidden_size = hidden;
    }
  });

  it.each<[string, Name, (() => Uint8Array) | null]>([
    ['non-ViT pipeline', 'tiny-resnet', null],
    ['CNN graph under a ViT config', 'tiny-vit', () => bytes('tiny-resnet')],
    ['ViT graph with other scope names', 'tiny-vit', () => edited((m) => m.graph.node.forEach((n) => (n.name = n.name?.replace('/vit/', '/model/'))))],
    ['truncated bytes', 'tiny-vit', () => bytes('tiny-vit').subarray(0, 5000)],
  ])("%s, onUnsupported: 'passthrough': warning, pipeline unchanged", async (name, pipe, source) => {
    await trial('models', `${name}, passthrough (${runner})`, () =>
      passesThrough(pipe, { strategy: 'merge', runner, ...(source ? { modelSource: source() } : {}) }),
    );
  });

  it.each<[string, JMPOptions]>([
    ['depth 3, default schedule (block 2, the closest plan to the default budget)', { strategy: 'merge' }],
    ['depth 3, JMP adaptive at blocks [1, 3]', { strategy: 'adaptive', tau: 0.3, blocks: [1, 3], keep: [0.6, 0.8] }],
    ['depth 3, ToMe r = 20', { method: 'tome', r: 20 }],
  ])('%s: the same logits as the other runner', async (name, options) => {
    await trial('models', `${name} (${runner})`, async () => {
      const out: Record<string, Float32Array> = {};
      for (const r of RUNNERS) {
        const jmp = await enableJMP(pipes['tiny-vit-3'], { ...options, runner: r });
        try {
          check(jmp.info?.depth === 3 && jmp.info.runner === r, 'wrong plan');
          out[r] = await logits(pipes['tiny-vit-3'], input);
        } finally {
          await jmp.dispose();
        }
      }
      const d = maxDiff(out.compiled!, out.segments!);
      check(d <= 1e-4, `compiled and segments differ by ${d}`);
      check(maxDiff(out[runner]!, plain['tiny-vit-3']) > 1e-4, 'no reduction happened');
      check(maxDiff(await logits(pipes['tiny-vit-3'], input), plain['tiny-vit-3']) === 0, 'dispose did not restore the plain logits');
      return 'correct';
    });
  });

  it("modelSource: the pipeline's model as fp16 bytes; dispose() gives the pipeline its own fp32 session back", async () => {
    await trial('models', `modelSource of the same model in fp16, then dispose() (${runner})`, async () => {
      const fp16 = new Uint8Array(readFileSync(path.join(modelPath('tiny-vit'), 'onnx', 'model_fp16.onnx')));
      const jmp = await enableJMP(pipes['tiny-vit'], { strategy: 'prune', keep: 1, runner, modelSource: fp16 });
      try {
        const d = maxDiff(await logits(pipes['tiny-vit'], input), plain['tiny-vit']);
        check(d > 0 && d < 0.05, `the fp16 model's logits differ from the fp32 pipeline's by ${d}`);
        await jmp.disable();
        check(maxDiff(await logits(pipes['tiny-vit'], input), plain['tiny-vit']) === 0, 'disable() left the fp16 model in the pipeline');
      } finally {
        await jmp.dispose();
      }
      check(maxDiff(await logits(pipes['tiny-vit'], input), plain['tiny-vit']) === 0, 'dispose() left the fp16 model in the pipeline');
      return 'correct';
    });
  });

  it('depth 3, keep = 1: the plain logits', async () => {
    await trial('models', `depth 3, keep = 1 (${runner})`, async () => {
      const jmp = await enableJMP(pipes['tiny-vit-3'], { strategy: 'prune', keep: 1, runner });
      try {
        const d = maxDiff(await logits(pipes['tiny-vit-3'], input), plain['tiny-vit-3']);
        check(d <= 1e-5, `differs from the plain pipeline by ${d}`);
      } finally {
        await jmp.dispose();
      }
      return 'correct';
    });
  });
});
