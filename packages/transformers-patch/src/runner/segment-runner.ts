import {
  countMacs,
  createTokenState,
  importanceFromRows,
  logSizeBias,
  perHeadUnitKeysPacked,
  reduceTokens,
  type BlockTokens,
  type Decision,
  type ModelShape,
  type ReductionMethod,
  type SourceMap,
} from '@jmpjs/core';
import { IO } from '../graph/segments.js';

/** The parts of an onnxruntime tensor this package uses (any ORT build: node, web). */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose?(): void;
}

/** The parts of an onnxruntime InferenceSession this package uses. */
export interface SessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
  /** onnxruntime's names of the model's inputs and outputs. */
  readonly inputNames?: readonly string[];
  readonly outputNames?: readonly string[];
}

/** Makes a float32 tensor of the same ORT module as the sessions. */
export type TensorFactory = (data: Float32Array, dims: number[]) => OrtTensorLike;

/** One segment's session and what it expects. */
export interface SegmentSession {
  session: SessionLike;
  takesBias: boolean;
  first: boolean;
  last: boolean;
  /** 1-based block whose reduction follows (all but the last segment). */
  reductionBlock?: number;
  /** Reduction to apply after this segment. */
  method?: ReductionMethod;
}

/** What one image went through at one reduction point. */
export interface ImageReduction {
  block: number;
  decision: Decision;
  /** σ (JMP; NaN for ToMe / EViT). */
  sigma: number;
  merged: number;
  pruned: number;
}

/** Record of one forward call. */
export interface CallRecord {
  batchSize: number;
  /** Token counts of every block, as they ran. */
  blocks: BlockTokens[];
  /** GMACs per image from the token counts of this call. */
  gmacsPerImage: number;
  /** Similarity MACs per image spent by the reductions (not in `gmacsPerImage`). */
  reductionOverheadMacsPerImage: number;
  /** Per image, per reduction point. */
  images: ImageReduction[][];
  /** Source tracking of the final tokens, when enabled. */
  sources?: SourceMap;
  /** Source tracking after each reduction, when enabled: the block, its output token count, the sources then. */
  sourcesAfter?: { block: number; tokens: number; sources: SourceMap }[];
  /** Token count of the final state (with `sources`). */
  finalTokens: number;
}

export interface RunnerOptions {
  segments: SegmentSession[];
  depth: number;
  protectedTokens: number;
  /** Model sizes for the cost model (patches filled in per call from the input size). */
  shape: Omit<ModelShape, 'patches'>;
  makeTensor: TensorFactory;
  trackSources: boolean;
  /** The last segment runs the last block's MLP on the protected tokens only. */
  headOnly?: boolean;
  /** The segments give packed keys [B, N, C] of this many heads: the metric is their per-head unit keys (JMP's 'keys-per-head'). */
  perHeadKeys?: number;
}

function float32(t: OrtTensorLike, name: string): Float32Array {
  if (!(t.data instanceof Float32Array)) {
    throw new Error(`segment output '${name}' is ${t.type}, expected float32 (internal error: the segment graph casts it)`);
  }
  return t.data;
}

/** Runs the segments in order with a JMP / ToMe / EViT reduction between each pair. */
export class SegmentRunner {
  constructor(private readonly options: RunnerOptions) {}

  /** Runs the segments on `pixel_values` (the only feed of the models it runs); the output is `logits`. */
  async run(inputs: Record<string, OrtTensorLike>): Promise<{ outputs: Record<string, OrtTensorLike>; record: CallRecord }> {
    const pixelValues = inputs[IO.pixels]!;
    const { segments, makeTensor, protectedTokens, depth } = this.options;
    const [B = 0, , H = 0, W = 0] = pixelValues.dims;
    const blocks: BlockTokens[] = [];
    const images: ImageReduction[][] = Array.from({ length: B }, () => []);
    let overhead = 0;
    let feeds: Record<string, OrtTensorLike> = { [IO.pixels]: pixelValues };
    let state: ReturnType<typeof createTokenState> | undefined;
    let lastBlock = 0;
    const sourcesAfter: NonNullable<CallRecord['sourcesAfter']> = [];
    for (const seg of segments) {
      const out = await seg.session.run(feeds);
      if (seg.last) {
        const n = state ? state.dims[1] : 0;
        for (let b = lastBlock + 1; b <= depth; b++) blocks.push({ block: b, tokensIn: n, tokensOut: n });
        if (this.options.headOnly) blocks[depth - 1] = { ...blocks[depth - 1]!, tokensOut: protectedTokens };
        const patches = this.patchCount(H, W);
        const cost = countMacs({ ...this.options.shape, patches }, blocks, overhead / Math.max(1, B));
        return {
          outputs: { [IO.logits]: out[IO.logits]! },
          record: {
            batchSize: B,
            blocks,
            gmacsPerImage: cost.gmacs,
            reductionOverheadMacsPerImage: cost.reductionOverhead,
            images,
            ...(state?.sources ? { sources: state.sources, sourcesAfter } : {}),
            finalTokens: n,
          },
        };
      }
      const hidden = out[IO.hiddenOut]!;
      const rows = out[IO.rows]!;
      const keys = out[IO.keys]!;
      const [, N = 0, C = 0] = hidden.dims;
      const block = seg.reductionBlock!;
      const tokensIn = state ? state.dims[1] : N;
      for (let b = lastBlock + 1; b < block; b++) blocks.push({ block: b, tokensIn, tokensOut: tokensIn });
      const hiddenData = float32(hidden, IO.hiddenOut);
      // The segment recomputes the token states; carry sizes and sources over from the last reduction.
      state = state
        ? { ...state, tokens: hiddenData, dims: [B, N, C] }
        : createTokenState({ data: hiddenData, dims: [B, N, C] }, { protectedTokens, trackSources: this.options.trackSources });
      const importance = importanceFromRows({ data: float32(rows, IO.rows), dims: [...rows.dims] });
      const keyData = { data: float32(keys, IO.keys), dims: [...keys.dims] };
      const metric = this.options.perHeadKeys ? perHeadUnitKeysPacked(keyData, this.options.perHeadKeys) : keyData;
      const { state: next, stats } = reduceTokens(state, { importance, metric }, seg.method!);
      overhead += stats.overheadMacs;
      for (let b = 0; b < B; b++) {
        images[b]!.push({ block, decision: stats.decisions[b]!, sigma: stats.sigma[b]!, merged: stats.merged[b]!, pruned: stats.pruned[b]! });
      }
      blocks.push({ block, tokensIn: N, tokensOut: next.dims[1] });
      if (next.sources) sourcesAfter.push({ block, tokens: next.dims[1], sources: next.sources });
      lastBlock = block;
      state = next;
      hidden.dispose?.();
      rows.dispose?.();
      keys.dispose?.();
      feeds = { [IO.hiddenIn]: makeTensor(next.tokens, [...next.dims]) };
      const nextSeg = segments[segments.indexOf(seg) + 1]!;
      if (nextSeg.takesBias) feeds[IO.logSize] = makeTensor(logSizeBias(next.sizes), [B, next.dims[1]]);
    }
    throw new Error('internal error: no last segment');
  }

  private patchCount(H: number, W: number): number {
    const p = this.options.shape.patchSize;
    return Math.floor(H / p) * Math.floor(W / p);
  }

  async release(): Promise<void> {
    await Promise.all(this.options.segments.map((s) => s.session.release()));
  }
}
