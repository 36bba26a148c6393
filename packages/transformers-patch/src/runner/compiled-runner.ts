import { countMacs, planTokens, type BlockTokens, type Decision, type ModelShape, type ReductionMethod, type SourceMap } from '@jmpjs/core';
import { compiledOutputs } from '../graph/compile.js';
import { graphMethod } from '../graph/methods/registry.js';
import { IO } from '../graph/segments.js';
import type { CallRecord, ImageReduction, OrtTensorLike, SessionLike } from './segment-runner.js';

export interface CompiledRunnerOptions {
  session: SessionLike;
  method: ReductionMethod['method'];
  /** Reduction blocks and their keep rate (JMP, EViT) or r (ToMe). */
  steps: readonly { block: number; amount: number }[];
  strategy: string;
  shape: ModelShape;
  heads: number;
  /**
   * Dimensions of the similarity rows the graph compares (0 where it compares none): the head-mean
   * keys' `hidden / heads` (ToMe, JMP's `'keys'`), `hidden` (`'keys-per-head'`, `'hidden'`).
   */
  similarityDims: number;
  /** The graph has the `dest` outputs: compose sources from them. */
  trackSources?: boolean;
  /** The graph's JMP is the index form of select 'redundancy' (graph/methods/jmp/emit-indexed.ts). */
  indexed?: boolean;
  /** The last block's MLP runs on the protected tokens only. */
  headOnly?: boolean;
}

/**
 * Runs a model compiled with JMP inside (one session). Token counts follow from the schedule (JMP
 * keeps P + K tokens whatever each image decides); each image's σ and merged count are graph outputs.
 */
export class CompiledRunner {
  /** Per patch count (the input's size): token counts per block, each step's K and M, the cost. */
  private readonly plans = new Map<number, { blocks: BlockTokens[]; reduced: BlockTokens[]; removed: number[]; overhead: number; gmacs: number }>();

  constructor(private readonly options: CompiledRunnerOptions) {}

  /**
   * Runs the model on its feeds (`pixel_values`, and the text inputs of a CLIP model) and returns
   * the model's own outputs (not the reduction's statistics outputs).
   */
  async run(feeds: Record<string, OrtTensorLike>): Promise<{ outputs: Record<string, OrtTensorLike>; record: CallRecord }> {
    const { session, steps, method, shape } = this.options;
    const pixelValues = feeds[IO.pixels]!;
    const out = await session.run(feeds);
    const [B = 0, , H = 0, W = 0] = pixelValues.dims;
    const patches = Math.floor(H / shape.patchSize) * Math.floor(W / shape.patchSize);
    const P = shape.protectedTokens;
    const { blocks, reduced, removed, overhead, gmacs } = this.planFor(patches);
    // what each image did: JMP's σ and merged counts are graph outputs, the baselines' are fixed
    const fixed = graphMethod(method).decision;
    const images: ImageReduction[][] = Array.from({ length: B }, () => []);
    steps.forEach(({ block }, k) => {
      const M = removed[k]!; // tokens removed (merged, pruned or fused)
      const names = compiledOutputs(k);
      const sigma = out[names.sigma]?.data as Float32Array | undefined;
      const merged = out[names.merged]?.data as Float32Array | undefined;
      for (let b = 0; b < B; b++) {
        let decision: Decision;
        let m: number;
        if (!fixed) {
          m = merged ? Math.round(merged[b]!) : 0;
          decision = M === 0 ? 'none' : m === M ? 'merge' : m === 0 ? 'prune' : 'mixed';
        } else {
          m = M;
          decision = M === 0 ? 'none' : fixed;
        }
        images[b]!.push({ block, decision, sigma: sigma ? sigma[b]! : Number.NaN, merged: m, pruned: M - m });
      }
    });
    const record: CallRecord = {
      batchSize: B,
      blocks,
      gmacsPerImage: gmacs,
      reductionOverheadMacsPerImage: overhead,
      images,
      finalTokens: reduced.at(-1)!.tokensOut,
    };
    if (this.options.trackSources) {
      const sourcesAfter = composeSources(out, steps, reduced, B, patches + P, P);
      Object.assign(record, { sources: sourcesAfter.at(-1)?.sources ?? identitySources(B, patches + P), sourcesAfter });
    }
    const outputs: Record<string, OrtTensorLike> = {};
    for (const [name, t] of Object.entries(out)) if (!name.startsWith('jmp_')) outputs[name] = t;
    return { outputs, record };
  }

  /** What the schedule plans for inputs of `patches` patches (computed once per size, not per call). */
  private planFor(patches: number): { blocks: BlockTokens[]; reduced: BlockTokens[]; removed: number[]; overhead: number; gmacs: number } {
    const known = this.plans.get(patches);
    if (known) return known;
    const { steps, method, shape } = this.options;
    const entry = graphMethod(method);
    const schedule = { blocks: steps.map((s) => s.block), [entry.amount]: steps.map((s) => s.amount) };
    const P = shape.protectedTokens;
    // the reductions' token counts (sources follow these), then the last block's head-only MLP
    const reduced = planTokens({ schedule, method, depth: shape.depth, tokens: patches + P, protectedTokens: P });
    const blocks = this.options.headOnly ? reduced.map((t) => (t.block === shape.depth ? { ...t, tokensOut: P } : t)) : reduced;
    const d = this.options.similarityDims;
    let overhead = 0;
    const removed = steps.map(({ block, amount }) => {
      const n = reduced[block - 1]!.tokensIn;
      const K = entry.kept(amount, n, P);
      const M = n - P - K;
      // What the graph computes: similarities of all patch pairs and the merge MatMul [K, M0], or in
      // the index form, A × B pairs and the MatMul of the leaving tokens only [P + K, M].
      if (this.options.indexed) {
        const nA = Math.ceil((n - P - (P % 2)) / 2);
        overhead += nA * (n - P - nA) * d + (P + K) * M * shape.hidden;
      } else {
        const similarities = (n - P) ** 2 * d;
        if (M > 0) overhead += similarities + K * (n - P) * shape.hidden;
      }
      return M;
    });
    // shared by every call's record: frozen, so that no reader of stats() can change later ones
    const plan = {
      blocks: Object.freeze(blocks.map((t) => Object.freeze(t))) as BlockTokens[],
      reduced,
      removed,
      overhead,
      gmacs: countMacs({ ...shape, patches }, blocks).gmacs,
    };
    this.plans.set(patches, plan);
    return plan;
  }

  release(): Promise<void> {
    return this.options.session.release();
  }
}

function identitySources(B: number, N0: number): SourceMap {
  const assignment = new Int32Array(B * N0);
  for (let b = 0; b < B; b++) for (let o = 0; o < N0; o++) assignment[b * N0 + o] = o;
  return { originalTokens: N0, assignment, anchors: assignment.slice() };
}

/** Sources after each reduction, from the graph's `dest` outputs (encoding in `compiledOutputs`). */
function composeSources(
  out: Record<string, OrtTensorLike>,
  steps: readonly { block: number }[],
  blocks: readonly BlockTokens[],
  B: number,
  N0: number,
  P: number,
): NonNullable<CallRecord['sourcesAfter']> {
  let { assignment, anchors } = identitySources(B, N0);
  let n = N0;
  const after: NonNullable<CallRecord['sourcesAfter']> = [];
  steps.forEach(({ block }, k) => {
    const dest = out[compiledOutputs(k).dest];
    if (!dest) return; // keep = 1 / r = 0: nothing happened at this block
    const data = dest.data as Float32Array;
    const nOut = blocks[block - 1]!.tokensOut;
    const M = n - P;
    const nextAnchors = new Int32Array(B * nOut).fill(-1); // −1 stays for a fused token (EViT)
    const nextAssignment = new Int32Array(B * N0);
    const map = new Int32Array(n);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < n; t++) {
        if (t < P) {
          map[t] = t;
          nextAnchors[b * nOut + t] = anchors[b * n + t]!;
          continue;
        }
        const v = Math.round(data[b * M + t - P]!);
        if (v >= 0) {
          map[t] = P + v;
          nextAnchors[b * nOut + P + v] = anchors[b * n + t]!;
        } else map[t] = v === -1 ? -1 : P + (-v - 2);
      }
      for (let o = 0; o < N0; o++) {
        const a = assignment[b * N0 + o]!;
        nextAssignment[b * N0 + o] = a < 0 ? -1 : map[a]!;
      }
    }
    assignment = nextAssignment;
    anchors = nextAnchors;
    n = nOut;
    after.push({ block, tokens: nOut, sources: { originalTokens: N0, assignment, anchors } });
  });
  return after;
}
