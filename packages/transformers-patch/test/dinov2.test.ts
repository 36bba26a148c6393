import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RawImage, Tensor, pipeline } from '@huggingface/transformers';
import { modelPath, pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedModelError, enableJMP } from '../src/index.js';
import { decodeModel } from '../src/onnx/proto.js';
import { loadClassifier, logits, maxAbsDiff, type Classifier, type Dtype } from './helpers.js';

/**
 * DINOv2 image classification (tiny-dinov2: 4 blocks, layer scale, a position table interpolated to
 * the 7×7 grid of its 28×28 crops, a head on the class token and the mean of the patch tokens).
 */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
function crops(batch: number, seed = 99): Tensor {
  const u8 = xorshift32Bytes(seed, batch * 28 * 28 * 3);
  return new Tensor('float32', pixelValuesFromU8(u8, { batch, height: 28, width: 28, channels: 3, mean: MEAN, std: STD }), [batch, 3, 28, 28]);
}
const TOLERANCE: Record<Dtype, number> = { fp32: 1e-5, fp16: 5e-3, q8: 1e-3 };

describe.each(['fp32', 'fp16', 'q8'] as const)('tiny-dinov2 %s', (dtype) => {
  let dino: Classifier;
  beforeAll(async () => {
    dino = await loadClassifier('tiny-dinov2', dtype);
  });
  afterAll(async () => {
    await dino.dispose();
  });

  it('keep = 1 is the plain pipeline', async () => {
    const input = crops(4);
    const plain = await logits(dino, input);
    const jmp = await enableJMP(dino, { strategy: 'prune', keep: 1 });
    try {
      expect(jmp.info!.architecture).toBe('dinov2');
      expect(jmp.info!.runner).toBe('compiled');
      expect(maxAbsDiff(await logits(dino, input), plain)).toBeLessThanOrEqual(TOLERANCE[dtype]);
    } finally {
      await jmp.dispose();
    }
    expect(maxAbsDiff(await logits(dino, input), plain)).toBe(0);
  });

  it('the default JMP: planned for the crop size, every block from the second (few patches), the head reads every token', async () => {
    const jmp = await enableJMP(dino);
    try {
      // the plan is for the processor's 28×28 crops (49 patches), not config.image_size (56: the position table's)
      expect(jmp.info!.shape.patches).toBe(49);
      // at most FEW_PATCHES patches: every block from the second (196 patches would give 2, 4)
      expect(jmp.info!.reductionBlocks).toEqual([2, 3, 4]);
      expect(jmp.info!.headOnly).toBe(false); // the head averages the patch tokens
      expect(Math.abs(jmp.info!.gmacs.planned / jmp.info!.gmacs.plain - 0.65)).toBeLessThanOrEqual(0.01);
      // the pipeline's output as without JMP: labels and scores
      const image = new RawImage(Uint8ClampedArray.from(xorshift32Bytes(7, 40 * 32 * 3)), 40, 32, 3);
      const out = await (dino as unknown as (i: unknown, o: unknown) => Promise<{ label: string; score: number }[]>)(image, { top_k: 3 });
      expect(out).toHaveLength(3);
      for (const r of out) {
        expect(typeof r.label).toBe('string');
        expect(r.score).toBeGreaterThan(0);
      }
      await logits(dino, crops(3));
      const call = jmp.stats().lastCall!;
      expect(call.blocks.map((b) => b.tokensIn)).toEqual(jmp.info!.plannedTokens.map((b) => b.tokensIn));
      expect(call.blocks[0]!.tokensIn).toBe(50);
      expect(call.blocks.at(-1)!.tokensOut).toBeLessThan(50);
    } finally {
      await jmp.dispose();
    }
  });
});

describe('tiny-dinov2: the segments runner', () => {
  it('is refused with a typed error: its last segment cannot weight the patch mean', async () => {
    const dino = await loadClassifier('tiny-dinov2');
    try {
      const input = crops(2);
      const plain = await logits(dino, input);
      const error = await enableJMP(dino, { runner: 'segments', keep: 0.7 }).catch((e: unknown) => e);
      expect(UnsupportedModelError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('averages the patch tokens');
      expect(maxAbsDiff(await logits(dino, input), plain)).toBe(0);
    } finally {
      await dino.dispose();
    }
  });
});

/**
 * DINOv2 in image-feature-extraction (tiny-dinov2-features: tiny-dinov2's backbone exported as the
 * bare Dinov2Model: `last_hidden_state`, `pooler_output` = its class token). JMP gives the full
 * token grid back.
 */
describe('tiny-dinov2-features (image-feature-extraction)', () => {
  type Features = ((images: unknown, o?: unknown) => Promise<Tensor>) & {
    model: { forward(i: unknown): Promise<Record<string, Tensor>> };
    dispose(): Promise<void>;
  };
  const dir = path.join(path.dirname(modelPath('tiny-dinov2')), 'tiny-dinov2-features');
  let features: Features;
  beforeAll(async () => {
    features = (await pipeline('image-feature-extraction', dir, { dtype: 'fp32' })) as unknown as Features;
  });
  afterAll(async () => {
    await features.dispose();
  });

  it('keep = 1 is the plain pipeline (features and pooled); the default JMP keeps the grid', async () => {
    const image = new RawImage(Uint8ClampedArray.from(xorshift32Bytes(11, 28 * 28 * 3)), 28, 28, 3);
    const [plain, plainPooled] = [await features(image), await features(image, { pool: true })];
    expect(plain.dims).toEqual([1, 50, 48]);
    expect(plainPooled.dims).toEqual([1, 48]);
    const one = await enableJMP(features as never, { strategy: 'prune', keep: 1 });
    try {
      expect(maxAbsDiff((await features(image)).data as Float32Array, plain.data as Float32Array)).toBe(0);
    } finally {
      await one.dispose();
    }
    const jmp = await enableJMP(features as never);
    try {
      expect(jmp.info!.architecture).toBe('dinov2');
      const [out, pooled] = [await features(image), await features(image, { pool: true })];
      expect(out.dims).toEqual(plain.dims);
      expect(pooled.dims).toEqual(plainPooled.dims);
      // the pooled output is the (reduced model's) class token row of the grid
      expect(maxAbsDiff(pooled.data as Float32Array, (out.data as Float32Array).subarray(0, 48))).toBe(0);
      expect(jmp.stats().lastCall!.blocks.at(-1)!.tokensOut).toBeLessThan(50);
    } finally {
      await jmp.dispose();
    }
  });

  it.each([
    ['merge-only at blocks 2, 4', { strategy: 'merge' as const, keep: 0.7, blocks: [2, 4] }],
    ['ToMe r 6', { method: 'tome' as const, r: 6 }],
  ])(
    '%s: the restored grid through the classifier head (class token, plain patch mean) = the classifier with the same JMP (its size-weighted patch mean)',
    async (_name, options) => {
      // nothing pruned: every original patch's row is the state of the token it merged into, so the
      // plain mean of the grid's patch rows is the size-weighted mean of the reduced tokens
      const classifierGraph = decodeModel(readFileSync(path.join(modelPath('tiny-dinov2'), 'onnx', 'model.onnx')));
      const init = (name: string) => {
        const t = classifierGraph.graph.initializer.find((x) => x.name === name)!;
        return new Float32Array(Uint8Array.from(t.rawData!).buffer);
      };
      const [W, bias] = [init('classifier.weight'), init('classifier.bias')]; // [10, 96], [10]
      const input = crops(3, 21);
      const dino = await loadClassifier('tiny-dinov2');
      let expected: Float32Array;
      try {
        const jmp = await enableJMP(dino, options);
        expected = await logits(dino, input);
        await jmp.dispose();
      } finally {
        await dino.dispose();
      }
      const jmp = await enableJMP(features as never, options);
      try {
        const grid = (await features.model.forward({ pixel_values: input })).last_hidden_state!;
        const g = grid.data as Float32Array;
        const got = new Float32Array(3 * 10);
        for (let b = 0; b < 3; b++) {
          const x = new Float64Array(96);
          for (let c = 0; c < 48; c++) x[c] = g[b * 50 * 48 + c]!;
          for (let t = 1; t < 50; t++) for (let c = 0; c < 48; c++) x[48 + c] = x[48 + c]! + g[(b * 50 + t) * 48 + c]! / 49;
          for (let k = 0; k < 10; k++) {
            let v = bias[k]!;
            for (let c = 0; c < 96; c++) v += W[k * 96 + c]! * x[c]!;
            got[b * 10 + k] = v;
          }
        }
        expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-4);
      } finally {
        await jmp.dispose();
      }
    },
  );
});
