import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Tensor } from '@huggingface/transformers';
import { modelPath } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JmpArgumentError, JmpError, JmpStateError, UnsupportedModelError, enableJMP, type JMPOptions } from '../src/index.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { loadClassifier, logits, maxAbsDiff, pixels, type Classifier } from './helpers.js';

describe('errors and fallbacks', () => {
  let classifier: Classifier;
  let plain: Float32Array;
  const input = pixels(2, 7);
  beforeAll(async () => {
    classifier = await loadClassifier('tiny-vit');
    plain = await logits(classifier, input);
  });
  afterAll(async () => {
    await classifier.dispose();
  });

  it.each<[string, unknown, string]>([
    ['keep 0', { strategy: 'prune', keep: 0 }, 'options.keep'],
    ['keep 1.2', { strategy: 'prune', keep: 1.2 }, 'options.keep'],
    ['tau not a number', { strategy: 'adaptive', tau: Number.NaN }, 'options.tau'],
    ['budget and keep', { budget: 0.65, keep: 0.8 }, 'options.budget and options.keep'],
    ['budget above 1', { budget: 1.5 }, 'options.budget'],
    ['budget the blocks cannot reach', { budget: 0.3, blocks: [12] }, 'options.budget'],
    ['unknown strategy', { strategy: 'fast', tau: 1 }, 'options.strategy'],
    ['unknown option', { strategy: 'prune', kep: 0.5 }, 'options.kep'],
    ['ToMe without r', { method: 'tome' }, 'options.r'],
    ['r with JMP', { strategy: 'prune', r: 3 }, 'options.r'],
    ['bad metric', { strategy: 'prune', metric: 'values' }, 'options.metric'],
    ['unsorted blocks', { strategy: 'prune', blocks: [7, 4] }, 'schedule.blocks'],
    ['block beyond depth', { strategy: 'prune', blocks: [4, 13] }, 'schedule.blocks[1]'],
    ['ToMe asking for more tokens than exist', { method: 'tome', r: 60, blocks: [1, 2, 3, 4] }, 'schedule.r (block 3)'],
  ])('%s → typed error naming the option, pipeline untouched', async (_label, options, argument) => {
    const session = (classifier.model as unknown as { sessions: { model: unknown } }).sessions.model;
    const error = await enableJMP(classifier, options as JMPOptions).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(JmpArgumentError.isInstance(error)).toBe(true);
    expect((error as JmpArgumentError).argument).toBe(argument);
    expect((error as Error).message).toMatch(/expected .*, found /);
    expect((classifier.model as unknown as { sessions: { model: unknown } }).sessions.model).toBe(session);
    expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);
  });

  it('not a pipeline', async () => {
    await expect(enableJMP({} as never, { strategy: 'prune' })).rejects.toSatisfy((e) => JmpArgumentError.isInstance(e));
  });

  it('a model that is not ViT-family: typed error, or passthrough with a warning', async () => {
    const config = (classifier.model as unknown as { config: Record<string, unknown> }).config;
    const type = config.model_type;
    config.model_type = 'resnet';
    try {
      const error = await enableJMP(classifier, { strategy: 'prune' }).catch((e: unknown) => e);
      expect(UnsupportedModelError.isInstance(error)).toBe(true);
      expect(JmpError.isInstance(error)).toBe(true);
      expect((error as UnsupportedModelError).lookedFor).toContain("'vit', 'deit', 'dinov2', 'clip', 'siglip' or 'depth_anything'");
      expect((error as UnsupportedModelError).found).toContain('resnet');
      const warn = vi.fn();
      const jmp = await enableJMP(classifier, { strategy: 'prune', onUnsupported: 'passthrough', warn });
      expect(jmp.enabled).toBe(false);
      expect(jmp.info).toBeNull();
      expect(warn).toHaveBeenCalledOnce();
      expect(warn.mock.calls[0]![0]).toContain('left unchanged');
      expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);
    } finally {
      config.model_type = type;
    }
  });

  it('a ViT whose graph names are not the expected ones', async () => {
    const model = decodeModel(readFileSync(path.join(modelPath('tiny-vit'), 'onnx', 'model.onnx')));
    for (const node of model.graph.node) if (node.name) node.name = node.name.replace('/vit/encoder/', '/backbone/blocks/');
    const error = await enableJMP(classifier, { strategy: 'prune', modelSource: encodeModel(model) }).catch((e: unknown) => e);
    expect(UnsupportedModelError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("'/vit/encoder/layer.{i}/attention/attention/Softmax'");
    expect((error as UnsupportedModelError).found).toContain('Softmax nodes with other names');
    expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);
  });

  it('per-token outputs (last_hidden_state, as image-feature-extraction reads): the full token grid, never fewer tokens; refused by the segments runner', async () => {
    const model = decodeModel(readFileSync(path.join(modelPath('tiny-vit'), 'onnx', 'model.onnx')));
    // a ViTModel-like export: the token states of the last block as an output beside the logits
    const states = model.graph.node.filter((n) => n.output[0]?.endsWith('/output/Add_output_0')).at(-1)!.output[0]!;
    model.graph.node.push({ opType: 'Identity', name: 'states', input: [states], output: ['last_hidden_state'] } as never);
    model.graph.output.push({ ...model.graph.output[0]!, name: 'last_hidden_state' });
    const bytes = encodeModel(model);
    const error = await enableJMP(classifier, { modelSource: bytes, runner: 'segments', keep: 0.7 }).catch((e: unknown) => e);
    expect(UnsupportedModelError.isInstance(error)).toBe(true);
    expect((error as UnsupportedModelError).found).toContain('a per-token output (last_hidden_state)');
    expect((error as Error).message).toContain("never returns fewer tokens than the model's grid");
    expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);
    const jmp = await enableJMP(classifier, { modelSource: bytes, keep: 0.7 });
    try {
      expect(jmp.info!.headOnly).toBe(false); // the last block's every token is read
      // the model's forward (its _call keeps the logits only, as ViTForImageClassification's does)
      const out = await (classifier.model as unknown as { forward(i: unknown): Promise<Record<string, Tensor>> }).forward({ pixel_values: input });
      expect(out.last_hidden_state!.dims).toEqual([input.dims[0], 197, 32]);
      expect(jmp.stats().lastCall!.blocks.at(-1)!.tokensOut).toBeLessThan(197);
    } finally {
      await jmp.dispose();
    }
  });

  it.each([
    ['swin', 'windows'],
    ['beit', 'relative position bias'],
    ['data2vec-vision', 'relative position bias'],
  ])('model_type %s: typed error saying why', async (type, why) => {
    const config = (classifier.model as unknown as { config: Record<string, unknown> }).config;
    const own = config.model_type;
    config.model_type = type;
    try {
      const error = await enableJMP(classifier).catch((e: unknown) => e);
      expect(UnsupportedModelError.isInstance(error)).toBe(true);
      expect((error as UnsupportedModelError).found).toBe(`model_type "${type}"`);
      expect((error as Error).message).toContain(why);
      expect((error as Error).message).toContain("onUnsupported: 'passthrough'");
    } finally {
      config.model_type = own;
    }
  });

  it('corrupt ONNX bytes', async () => {
    const bytes = readFileSync(path.join(modelPath('tiny-vit'), 'onnx', 'model.onnx')).subarray(0, 5000);
    const error = await enableJMP(classifier, { strategy: 'prune', modelSource: bytes }).catch((e: unknown) => e);
    expect(UnsupportedModelError.isInstance(error)).toBe(true);
    expect((error as UnsupportedModelError).lookedFor).toContain('ONNX model');
    expect((error as UnsupportedModelError).found).toMatch(/^5000 bytes that do not decode/);
    expect((error as Error).message).toContain('truncated');
    expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);
  });

  it('a disposed handle cannot be enabled again; pipeline.dispose() releases the segments', async () => {
    const jmp = await enableJMP(classifier, { strategy: 'prune', keep: 0.5 });
    await jmp.dispose();
    await expect(jmp.enable()).rejects.toSatisfy((e) => JmpStateError.isInstance(e));
    expect(maxAbsDiff(await logits(classifier, input), plain)).toBe(0);

    const other = await loadClassifier('tiny-vit');
    const handle = await enableJMP(other, { strategy: 'prune', keep: 0.5 });
    await other.dispose();
    expect(handle.enabled).toBe(false);
  });
});

describe('lifecycle', () => {
  it('enabling twice on one pipeline is a typed error; the first handle keeps working', async () => {
    const classifier = await loadClassifier('tiny-vit');
    const jmp = await enableJMP(classifier, { strategy: 'prune', keep: 0.5 });
    try {
      const before = await logits(classifier, pixels(1));
      const error = await enableJMP(classifier, { strategy: 'merge' }).catch((e: unknown) => e);
      expect(JmpStateError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('already on');
      expect(jmp.enabled).toBe(true);
      expect(maxAbsDiff(await logits(classifier, pixels(1)), before)).toBe(0);
    } finally {
      await classifier.dispose();
    }
  });
});
