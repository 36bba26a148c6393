import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelPath } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { compileJMP, compiledOutputs, type CompileOptions } from '../src/graph/compile.js';
import { findLayout } from '../src/graph/layout.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { jmpReference, maxAbsDiff, ortNode as ort, type OrtNodeSession } from './helpers.js';

/**
 * The index form of JMP select 'redundancy' (graph/methods/jmp/emit-indexed.ts, CPU and wasm) against
 * the float form (graph/methods/jmp/emit.ts, which WebGPU runs), compiled from the same model with the
 * same options and run in plain onnxruntime-node: the same logits (1e-5), σ and merged counts, and
 * where every patch token went (`dest`), exactly.
 */

const CASES: [string, Partial<CompileOptions>][] = [
  ['merge, 4/7/10', { strategy: 'merge', blocks: [4, 7, 10], keeps: [0.7, 0.7, 0.7] }],
  ['prune, 4/7/10', { strategy: 'prune', blocks: [4, 7, 10], keeps: [0.7, 0.7, 0.7] }],
  ['adaptive-token τ 0.6, even blocks', { strategy: 'adaptive-token', tau: 0.6, blocks: [2, 4, 6, 8, 10, 12], keeps: [0.85, 0.85, 0.85, 0.85, 0.85, 0.85] }],
  [
    'merge, keys-per-head, every block from the second',
    { strategy: 'merge', metric: 'keys-per-head', blocks: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], keeps: [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9] },
  ],
  [
    'adaptive-token τ 0.5, keys-per-head, even blocks',
    { strategy: 'adaptive-token', tau: 0.5, metric: 'keys-per-head', blocks: [2, 4, 6, 8, 10, 12], keeps: [0.85, 0.85, 0.85, 0.85, 0.85, 0.85] },
  ],
  [
    'adaptive τ 0.5, every block, down to one patch',
    { strategy: 'adaptive', tau: 0.5, blocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], keeps: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5] },
  ],
  // match 'nearest' runs in graph/methods/jmp/emit.ts in both forms: ArgMax and TopK's indices, or one-hots and float masks
  [
    'match nearest, adaptive-token τ 0.6, even blocks',
    { match: 'nearest', strategy: 'adaptive-token', tau: 0.6, blocks: [2, 4, 6, 8, 10, 12], keeps: [0.8, 0.8, 0.8, 0.8, 0.8, 0.8] },
  ],
  [
    'match nearest, merge, keys-per-head, every block, down to one patch',
    {
      match: 'nearest',
      strategy: 'merge',
      metric: 'keys-per-head',
      blocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      keeps: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    },
  ],
  // metric 'hidden': the similarities of the token states, in both forms and both pairings
  [
    'metric hidden, adaptive-token τ 0.6, even blocks',
    { strategy: 'adaptive-token', tau: 0.6, metric: 'hidden', blocks: [2, 4, 6, 8, 10, 12], keeps: [0.85, 0.85, 0.85, 0.85, 0.85, 0.85] },
  ],
  [
    'metric hidden, match nearest, adaptive-token τ 0.7, every block from the second',
    {
      match: 'nearest',
      strategy: 'adaptive-token',
      tau: 0.7,
      metric: 'hidden',
      blocks: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
      keeps: [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
    },
  ],
];

// the opset-11 exports too: there the index form gathers with GatherElements (GatherND's batch_dims is opset 12)
describe.each([
  ['tiny-vit', 'tiny-vit'],
  ['tiny-deit', 'tiny-deit'],
  ['tiny-vit-op11', 'tiny-vit'],
  ['tiny-deit-op11', 'tiny-deit'],
])('%s: index form = float form', (name, referenceOf) => {
  const { ref, pixels } = jmpReference(referenceOf);
  const proto = decodeModel(readFileSync(path.join(modelPath(name), 'onnx', 'model.onnx')));
  const layout = findLayout(proto);
  const config = JSON.parse(readFileSync(path.join(modelPath(name), 'config.json'), 'utf8')) as { num_attention_heads: number };

  it.each(CASES)('%s', async (_name, options) => {
    const outputs = [];
    for (const indexOps of [false, true]) {
      const compiled = compileJMP(proto, layout, {
        method: 'jmp',
        select: 'redundancy',
        proportionalAttention: true,
        heads: config.num_attention_heads,
        trackSources: true,
        indexOps,
        ...options,
      } as CompileOptions);
      const ops = new Set(compiled.graph.node.map((n) => n.opType));
      expect(ops.has('ScatterElements')).toBe(indexOps); // the form asked for was compiled
      if (indexOps && options.match !== 'nearest') expect(ops.has(name.endsWith('-op11') ? 'GatherElements' : 'GatherND')).toBe(true);
      if (indexOps && options.match === 'nearest') expect(ops.has('ArgMax')).toBe(true);
      const session = await ort.InferenceSession.create(encodeModel(compiled), { intraOpNumThreads: 1 });
      try {
        outputs.push(await session.run({ pixel_values: new ort.Tensor('float32', pixels, [ref.inputs.batch, 3, 224, 224]) }));
      } finally {
        await session.release();
      }
    }
    const [float, index] = outputs as [Awaited<ReturnType<OrtNodeSession['run']>>, Awaited<ReturnType<OrtNodeSession['run']>>];
    expect(maxAbsDiff(index.logits!.data, float.logits!.data)).toBeLessThanOrEqual(1e-5);
    options.blocks!.forEach((_block, k) => {
      const names = compiledOutputs(k);
      expect(Array.from(index[names.merged]!.data), `merged ${k}`).toEqual(Array.from(float[names.merged]!.data));
      expect(maxAbsDiff(index[names.sigma]!.data, float[names.sigma]!.data), `σ ${k}`).toBeLessThanOrEqual(1e-5);
      expect(index[names.dest]!.dims).toEqual(float[names.dest]!.dims);
      expect(Array.from(index[names.dest]!.data), `dest ${k}`).toEqual(Array.from(float[names.dest]!.data));
    });
  });
});
