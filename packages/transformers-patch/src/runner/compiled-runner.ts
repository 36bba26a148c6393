import { countMacs, criticalCount, planTokens, type Decision, type ModelShape } from '@jmpjs/core';
import { compiledOutputs } from '../graph/compile.js';
import { IO } from '../graph/segments.js';
import type { CallRecord, ImageReduction, OrtTensorLike, SessionLike } from './segment-runner.js';

export interface CompiledRunnerOptions {
  session: SessionLike;
  method: 'jmp' | 'tome' | 'evit';
  /** Reduction blocks and their keep rate (JMP, EViT) or r (ToMe). */
  steps: readonly { block: number; amount: number }[];
  strategy: string;
  shape: ModelShape;
  heads: number;
}

/**
 * Runs a model compiled with JMP inside (one session). Token counts follow from the schedule (JMP
 * keeps P + K tokens whatever each image decides); each image's σ and merged count are graph outputs.
 */
export class CompiledRunner {
  constructor(private readonly options: CompiledRunnerOptions) {}

  async run(pixelValues: OrtTensorLike): Promise<{ logits: OrtTensorLike; record: CallRecord }> {
    const { session, steps, method, shape } = this.options;
    const blocksOf = steps.map((s) => s.block);
    const schedule = method === 'tome' ? { blocks: blocksOf, r: steps.map((s) => s.amount) } : { blocks: blocksOf, keep: steps.map((s) => s.amount) };
    const out = await session.run({ [IO.pixels]: pixelValues });
    const [B = 0, , H = 0, W = 0] = pixelValues.dims;
    const patches = Math.floor(H / shape.patchSize) * Math.floor(W / shape.patchSize);
    const P = shape.protectedTokens;
    const blocks = planTokens({ schedule, method, depth: shape.depth, tokens: patches + P, protectedTokens: P });
    const images: ImageReduction[][] = Array.from({ length: B }, () => []);
    const d = shape.hidden / this.options.heads;
    let overhead = 0;
    steps.forEach(({ block, amount }, k) => {
      const n = blocks[block - 1]!.tokensIn;
      const K = method === 'tome' ? n - P - amount : criticalCount(amount, n, P);
      const M = n - P - K; // tokens removed (merged, pruned or fused)
      // What the graph computes: similarities of all patch pairs, and the merge MatMul.
      const similarities = method === 'evit' || (method === 'jmp' && this.options.strategy === 'prune') ? 0 : (n - P) ** 2 * d;
      if (M > 0) overhead += similarities + K * (n - P) * shape.hidden;
      const names = compiledOutputs(k);
      const sigma = out[names.sigma]?.data as Float32Array | undefined;
      const merged = out[names.merged]?.data as Float32Array | undefined;
      for (let b = 0; b < B; b++) {
        let decision: Decision;
        let m: number;
        if (method === 'jmp') {
          m = merged ? Math.round(merged[b]!) : 0;
          decision = M === 0 ? 'none' : m === M ? 'merge' : m === 0 ? 'prune' : 'mixed';
        } else {
          m = M;
          decision = M === 0 ? 'none' : method === 'tome' ? 'merge' : 'fuse';
        }
        images[b]!.push({ block, decision, sigma: sigma ? sigma[b]! : Number.NaN, merged: m, pruned: M - m });
      }
    });
    const cost = countMacs({ ...shape, patches }, blocks);
    return {
      logits: out[IO.logits]!,
      record: { batchSize: B, blocks, gmacsPerImage: cost.gmacs, reductionOverheadMacsPerImage: overhead, images, finalTokens: blocks.at(-1)!.tokensOut },
    };
  }

  release(): Promise<void> {
    return this.options.session.release();
  }
}
