import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelPath } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { enableJMP, type JMPOptions } from '../src/index.js';
import { decodeModel } from '../src/onnx/proto.js';
import { loadClassifier, logits, maxAbsDiff, pixels, type Dtype } from './helpers.js';

/**
 * The export shapes users download. Opset-11 exports (tiny-vit-op11, tiny-deit-op11: the tiny fixtures' weights exported at opset
 * 11, as older Optimum conversions of ViT / DeiT are) get the compiled runner: the added ops in
 * their opset-11 forms (axes as attributes, no int64 Min / Max, no GreaterOrEqual). With the same
 * weights, the logits equal those of the opset-14 fixture with the same options.
 */
const CASES: [string, JMPOptions][] = [
  ['the default (budget 0.65, adaptive-token τ 0.93)', {}],
  ['merge, keep 0.7 at 4/7/10, τ per block', { strategy: 'adaptive-token', keep: 0.7, blocks: [4, 7, 10], tau: [0.3, 0.5, 0.7] }],
  ["the paper's rule", { select: 'attention', strategy: 'adaptive', tau: 0.5, keep: 0.7 }],
  ['prune, every block', { strategy: 'prune', keep: 0.9, blocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }],
  ['ToMe r 8', { method: 'tome', r: 8 }],
  ['EViT', { method: 'evit', keep: 0.7 }],
];

describe.each(['tiny-vit', 'tiny-deit'])('%s at opset 11', (name) => {
  it('is an opset-11 export', () => {
    const model = decodeModel(readFileSync(path.join(modelPath(`${name}-op11`), 'onnx', 'model.onnx')));
    expect(model.opsetImport.find((o) => !o.domain)?.version).toBe(11);
  });

  it.each(['fp32', 'fp16', 'q8'] as Dtype[])(
    '%s: keep 1 is the plain pipeline; every case = the opset-14 model, on the compiled runner',
    { timeout: 120_000 },
    async (dtype) => {
      const [op11, op14] = await Promise.all([loadClassifier(`${name}-op11`, dtype), loadClassifier(name, dtype)]);
      try {
        const input = pixels(2, 21);
        const plain = await logits(op11, input);
        const same = await enableJMP(op11, { strategy: 'prune', keep: 1, runner: 'compiled' });
        expect(same.info!.runner).toBe('compiled');
        expect([same.info!.opset, same.info!.attention]).toEqual([11, 'eager']);
        expect(maxAbsDiff(await logits(op11, input), plain)).toBeLessThanOrEqual(dtype === 'fp32' ? 1e-5 : 1e-3);
        await same.dispose();
        // fp16 and q8 reorder near ties between the two exports' arithmetic: logits within the dtype's tolerance
        const tol = dtype === 'fp32' ? 1e-4 : 0.05 * (1 + Math.max(...Array.from(plain, Math.abs)));
        for (const [label, options] of CASES) {
          const outs: Float32Array[] = [];
          for (const c of [op11, op14]) {
            const jmp = await enableJMP(c, { ...options, runner: 'compiled' });
            try {
              expect(jmp.info!.runner).toBe('compiled');
              outs.push(await logits(c, input));
            } finally {
              await jmp.dispose();
            }
          }
          expect(maxAbsDiff(outs[0]!, outs[1]!), `${label}`).toBeLessThanOrEqual(tol);
          expect(maxAbsDiff(outs[0]!, plain), `${label}: reduced`).toBeGreaterThan(0);
        }
      } finally {
        await Promise.all([op11.dispose(), op14.dispose()]);
      }
    },
  );
});

/**
 * SDPA-decomposed exports (tiny-vit-sdpa, tiny-deit-sdpa: the tiny fixtures' weights with the
 * attention as torch ≥ 2.1 exports F.scaled_dot_product_attention at opset 14: q and kᵀ each times
 * √scale, no Div; see tooling/fixtures/attention-nodes.txt). Blocks are found by the same names and
 * structure; the compiled runner and the segments runner (core between the pieces) agree, and
 * keep = 1 is the plain pipeline.
 */
describe.each(['tiny-vit', 'tiny-deit'])('%s, SDPA-decomposed attention', (name) => {
  it('has the SDPA pattern: two Muls by √scale before the scores MatMul, no Div', () => {
    const model = decodeModel(readFileSync(path.join(modelPath(`${name}-sdpa`), 'onnx', 'model.onnx')));
    const scope = `/${name === 'tiny-vit' ? 'vit' : 'deit'}/encoder/layer.0/attention/attention/`;
    const ops = model.graph.node.filter((n) => n.name?.startsWith(scope)).map((n) => n.opType);
    expect(ops.filter((o) => o === 'Mul')).toHaveLength(2);
    // the only Div computes the scale (1 / √E) from the query's shape, before the Muls
    expect(ops.filter((o) => o === 'Div')).toHaveLength(1);
    expect(ops.indexOf('Div')).toBeLessThan(ops.indexOf('Mul'));
    const softmax = model.graph.node.find((n) => n.name === `${scope}Softmax`)!;
    const scores = model.graph.node.find((n) => n.output[0] === softmax.input[0])!;
    expect(scores.opType).toBe('MatMul');
    for (const input of scores.input) expect(model.graph.node.find((n) => n.output[0] === input)?.opType).toBe('Mul');
  });

  it.each(['fp32', 'fp16', 'q8'] as Dtype[])('%s: keep 1 is the plain pipeline; compiled = segments', { timeout: 120_000 }, async (dtype) => {
    const classifier = await loadClassifier(`${name}-sdpa`, dtype);
    try {
      const input = pixels(2, 22);
      const plain = await logits(classifier, input);
      const same = await enableJMP(classifier, { strategy: 'prune', keep: 1, runner: 'compiled' });
      expect([same.info!.opset, same.info!.attention]).toEqual([14, 'sdpa']);
      expect(maxAbsDiff(await logits(classifier, input), plain)).toBeLessThanOrEqual(dtype === 'fp32' ? 1e-5 : 1e-3);
      await same.dispose();
      const tol = dtype === 'fp32' ? 1e-4 : 0.05 * (1 + Math.max(...Array.from(plain, Math.abs)));
      for (const [label, options] of CASES.filter(([, o]) => o.method !== 'tome' && o.method !== 'evit')) {
        const outs: Float32Array[] = [];
        for (const runner of ['compiled', 'segments'] as const) {
          const jmp = await enableJMP(classifier, { ...options, runner });
          try {
            expect(jmp.info!.runner).toBe(runner);
            outs.push(await logits(classifier, input));
          } finally {
            await jmp.dispose();
          }
        }
        expect(maxAbsDiff(outs[0]!, outs[1]!), label).toBeLessThanOrEqual(tol);
        expect(maxAbsDiff(outs[0]!, plain), `${label}: reduced`).toBeGreaterThan(0);
      }
    } finally {
      await classifier.dispose();
    }
  });
});

describe('export shapes that cannot be confirmed', () => {
  it('a Softmax fed by something else than eager or SDPA scores is refused, naming what was found', async () => {
    const { findLayout } = await import('../src/graph/layout.js');
    const model = decodeModel(readFileSync(path.join(modelPath('tiny-vit'), 'onnx', 'model.onnx')));
    // rewire block 0's Softmax to read the scores' MatMul through a Relu: neither form
    const softmax = model.graph.node.find((n) => n.name === '/vit/encoder/layer.0/attention/attention/Softmax')!;
    model.graph.node.push({ opType: 'Relu', name: 'odd/Relu', input: [softmax.input[0]!], output: ['odd_scores'], attribute: [] });
    softmax.input[0] = 'odd_scores';
    expect(() => findLayout(model)).toThrow(/found a Softmax fed by Relu/);
  });
});
