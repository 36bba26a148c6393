import { countMacs, criticalCount, planTokens, type Decision, type ModelShape, type Schedule } from '@jmpjs/core';
import { compiledOutputs } from '../graph/compile.js';
import { IO } from '../graph/segments.js';
import type { CallRecord, ImageReduction, OrtTensorLike, SessionLike } from './segment-runner.js';

export interface CompiledRunnerOptions {
  session: SessionLike;
  schedule: Schedule & { keep: readonly number[] };
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
    const { session, schedule, shape } = this.options;
    const out = await session.run({ [IO.pixels]: pixelValues });
    const [B = 0, , H = 0, W = 0] = pixelValues.dims;
    const patches = Math.floor(H / shape.patchSize) * Math.floor(W / shape.patchSize);
    const P = shape.protectedTokens;
    const blocks = planTokens({ schedule, method: 'jmp', depth: shape.depth, tokens: patches + P, protectedTokens: P });
    const images: ImageReduction[][] = Array.from({ length: B }, () => []);
    const d = shape.hidden / this.options.heads;
    let overhead = 0;
    schedule.blocks.forEach((block, k) => {
      const n = blocks[block - 1]!.tokensIn;
      const K = criticalCount(schedule.keep[k]!, n, P);
      const M = n - P - K;
      // What the graph computes: similarities of all patch pairs, and the merge MatMul.
      if (M > 0) overhead += (n - P) ** 2 * d * (this.options.strategy === 'prune' ? 0 : 1) + K * (n - P) * shape.hidden;
      const names = compiledOutputs(k);
      const sigma = out[names.sigma]?.data as Float32Array | undefined;
      const merged = out[names.merged]?.data as Float32Array | undefined;
      for (let b = 0; b < B; b++) {
        const m = merged ? Math.round(merged[b]!) : 0;
        const decision: Decision = M === 0 ? 'none' : m === M ? 'merge' : m === 0 ? 'prune' : 'mixed';
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
