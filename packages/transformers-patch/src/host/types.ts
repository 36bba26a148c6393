// The public types of the host API: what enableJMP takes and the handle it returns.
import type { JMPModelInfo } from './model-info.js';
import type { JMPStats } from './stats.js';

/**
 * A transformers.js vision pipeline that {@link enableJMP} accepts: image-classification (ViT, DeiT,
 * DINOv2), zero-shot-image-classification (CLIP, SigLIP) or image-feature-extraction (CLIP, SigLIP,
 * DINOv2). Only `model` is used (and `processor`, for DINOv2's image size).
 */
export interface VisionPipelineLike {
  model: unknown;
  /** The pipeline's processor: DINOv2's image size is its crop size (the config's is the position table's). */
  processor?: unknown;
}

/**
 * The pipeline type under its first name, from when only image-classification pipelines were taken.
 *
 * @deprecated Use {@link VisionPipelineLike}: the same type, named for every pipeline enableJMP takes.
 */
export type ImageClassificationPipelineLike = VisionPipelineLike;

/**
 * Handle returned by {@link enableJMP}. `enable()`, `disable()` and `dispose()` (and the
 * pipeline's own `dispose()`) run one after another and wait for the calls in flight: those finish
 * as they started, calls made meanwhile wait and run in the new state.
 */
export interface JMPHandle {
  /** True while the pipeline runs with token reduction. */
  readonly enabled: boolean;
  /** What was found in the model; null when the pipeline was left unchanged (passthrough). */
  readonly info: JMPModelInfo | null;
  /** Totals since enable (or the last reset) and the last call in detail. */
  stats(): JMPStats;
  resetStats(): void;
  /** Restores the plain pipeline (the original session is re-created, the segments released). Nothing to do when off. */
  disable(): Promise<void>;
  /** Turns token reduction on again after `disable()`, with the same options. Nothing to do when on; a `JmpStateError` after `dispose()`. */
  enable(): Promise<void>;
  /** Restores the plain pipeline if needed and releases everything; `enable()` is a `JmpStateError` afterwards. */
  dispose(): Promise<void>;
}
