import { readFileSync } from 'node:fs';
import { modelPath } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { findLayout } from '../src/graph/layout.js';
import { UnsupportedModelError, enableJMP, type JMPOptions } from '../src/index.js';
import { decodeModel, encodeModel, type ModelProto } from '../src/onnx/proto.js';
import { loadClassifier, logits, maxAbsDiff, pixels } from './helpers.js';

/**
 * headOnly: the last block's MLP runs on the tokens the head reads (class, distillation) only. The
 * head reads nothing else, so the logits are those of the same reduction without it.
 */
const file = (name: string, onnx = 'model.onnx') => `${modelPath(name)}/onnx/${onnx}`;
const model = (name: string, onnx?: string) => decodeModel(readFileSync(file(name, onnx)));

/** The model with the head's Gather of the class token reading token `index` instead. */
function gatherAt(m: ModelProto, index: number): ModelProto {
  const gather = m.graph.node.find((n) => n.name === '/Gather')!;
  const name = 'test/gather_index';
  const raw = new Uint8Array(8);
  new DataView(raw.buffer).setBigInt64(0, BigInt(index), true);
  return {
    ...m,
    graph: {
      ...m.graph,
      initializer: [...m.graph.initializer, { name, dataType: 7, dims: [], rawData: raw }],
      node: m.graph.node.map((n) => (n === gather ? { ...n, input: [n.input[0]!, name] } : n)),
    },
  };
}

describe('which heads read only the protected tokens', () => {
  it.each(['tiny-vit', 'tiny-deit', 'tiny-vit-op11', 'tiny-deit-op11', 'tiny-vit-sdpa', 'tiny-deit-sdpa'])('%s: yes', (name) => {
    expect(findLayout(model(name)).headReadsProtectedOnly).toBe(true);
  });

  it('q8 graphs are marked dynamically quantized, fp32 and fp16 ones are not', () => {
    expect(findLayout(model('tiny-vit', 'model_quantized.onnx')).dynamicQuantization).toBe(true);
    expect(findLayout(model('tiny-vit')).dynamicQuantization).toBe(false);
    expect(findLayout(model('tiny-vit', 'model_fp16.onnx')).dynamicQuantization).toBe(false);
  });

  it('no, when the head reads a patch token or the last block is read otherwise', () => {
    const vit = model('tiny-vit');
    expect(findLayout(gatherAt(vit, 0)).headReadsProtectedOnly).toBe(true);
    expect(findLayout(gatherAt(vit, 5)).headReadsProtectedOnly).toBe(false);
    // DeiT: the distillation token (1) is protected, token 2 is a patch
    expect(findLayout(gatherAt(model('tiny-deit'), 1)).headReadsProtectedOnly).toBe(true);
    expect(findLayout(gatherAt(model('tiny-deit'), 2)).headReadsProtectedOnly).toBe(false);
    // a mean-pooling head: the classifier reads the mean of all tokens of the final LayerNorm
    const ln = vit.graph.node.find((n) => n.name === '/vit/layernorm/Add_1')!.output[0]!;
    const pool = {
      opType: 'ReduceMean',
      name: 'test/pool',
      input: [ln],
      output: ['test/pooled'],
      attribute: [
        { name: 'axes', type: 7, ints: [1] },
        { name: 'keepdims', type: 2, i: 0 },
      ],
    };
    const pooled = {
      ...vit,
      graph: {
        ...vit.graph,
        node: vit.graph.node.flatMap((n) =>
          n.name === '/Gather' ? [pool] : n.name === '/classifier/Gemm' ? [{ ...n, input: ['test/pooled', ...n.input.slice(1)] }] : [n],
        ),
      },
    };
    expect(findLayout(pooled).headReadsProtectedOnly).toBe(false);
  });

  it('headOnly: true where the head reads more is an UnsupportedModelError; left out, it is off', async () => {
    const classifier = await loadClassifier('tiny-vit');
    const bytes = encodeModel(gatherAt(model('tiny-vit'), 5));
    try {
      await expect(enableJMP(classifier, { keep: 0.85, headOnly: true, modelSource: bytes })).rejects.toThrow(UnsupportedModelError);
      await expect(enableJMP(classifier, { keep: 0.85, headOnly: true, modelSource: bytes })).rejects.toThrow(/headOnly/);
      const jmp = await enableJMP(classifier, { keep: 0.85, modelSource: bytes });
      expect(jmp.info!.headOnly).toBe(false);
      expect(jmp.info!.reductionBlocks).toEqual([2, 4, 6, 8, 10, 12]);
      await jmp.dispose();
    } finally {
      await classifier.dispose();
    }
  });
});

describe.each(['tiny-vit', 'tiny-deit'])('%s: headOnly gives the logits of the same reduction without it', (name) => {
  const cases: [string, 'fp32' | 'fp16', 'compiled' | 'segments', JMPOptions, number][] = [
    ['fp32, compiled, default JMP at even blocks', 'fp32', 'compiled', { keep: 0.85, tau: 0.9, blocks: [2, 4, 6, 8, 10] }, 1e-5],
    ['fp32, segments, default JMP at even blocks', 'fp32', 'segments', { keep: 0.85, tau: 0.9, blocks: [2, 4, 6, 8, 10] }, 1e-5],
    ['fp32, compiled, a reduction at the last block too', 'fp32', 'compiled', { strategy: 'merge', keep: 0.7, blocks: [4, 8, 12] }, 1e-5],
    ['fp32, segments, a reduction at the last block too', 'fp32', 'segments', { strategy: 'merge', keep: 0.7, blocks: [4, 8, 12] }, 1e-5],
    ['fp32, compiled, ToMe', 'fp32', 'compiled', { method: 'tome', r: 8 }, 1e-5],
    ['fp16, compiled', 'fp16', 'compiled', { keep: 0.85, tau: 0.9, blocks: [2, 4, 6, 8, 10] }, 5e-3],
  ];
  it.each(cases)('%s', async (_label, dtype, runner, options, tolerance) => {
    const classifier = await loadClassifier(name, dtype);
    const input = pixels(4, 77);
    try {
      const out: Float32Array[] = [];
      for (const headOnly of [false, true]) {
        const jmp = await enableJMP(classifier, { ...options, runner, headOnly });
        try {
          expect(jmp.info!.headOnly).toBe(headOnly);
          out.push(await logits(classifier, input));
          const last = jmp.stats().lastCall!.blocks.at(-1)!;
          if (headOnly) expect(last.tokensOut).toBe(jmp.info!.protectedTokens);
          else expect(last.tokensOut).toBeGreaterThan(jmp.info!.protectedTokens);
        } finally {
          await jmp.dispose();
        }
      }
      expect(maxAbsDiff(out[1]!, out[0]!)).toBeLessThanOrEqual(tolerance);
    } finally {
      await classifier.dispose();
    }
  });

  it('q8: off by default (dynamic quantization ranges); on when asked, within 2e-2', async () => {
    const classifier = await loadClassifier(name, 'q8');
    const input = pixels(4, 77);
    try {
      const plain = await logits(classifier, input);
      const off = await enableJMP(classifier, { strategy: 'prune', keep: 1 });
      expect(off.info!.headOnly).toBe(false);
      expect(maxAbsDiff(await logits(classifier, input), plain)).toBeLessThanOrEqual(1e-5);
      await off.dispose();
      const on = await enableJMP(classifier, { strategy: 'prune', keep: 1, headOnly: true });
      expect(on.info!.headOnly).toBe(true);
      const diff = maxAbsDiff(await logits(classifier, input), plain);
      expect(diff).toBeGreaterThan(0); // the MLP's input scale changed
      expect(diff).toBeLessThanOrEqual(2e-2);
      await on.dispose();
    } finally {
      await classifier.dispose();
    }
  });
});
