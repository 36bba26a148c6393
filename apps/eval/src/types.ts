/**
 * Data shapes of the evaluation app. `EvalJson` is the stable `--json` output (CI reads it);
 * `ReportData` adds what the report draws.
 */

/** One method at one setting. */
export interface EvalResult {
  /** `baseline`, `jmp`, `jmp-spec`, `prune`, `merge`, `tome`, `evit`. */
  method: string;
  /** The setting: keep, blocks, tau, r, strategy, proportionalAttention… */
  params: Record<string, unknown>;
  /** Mean GMACs per image, from the token counts the run really had. */
  gmacs: number;
  /** Top-1 accuracy in [0, 1]. */
  top1: number;
  /** Top-5 accuracy in [0, 1]; null when the model has 5 classes or fewer. */
  top5: number | null;
  /**
   * Images per second over the accuracy run, at `batchSize` (or the entry's own batchSize in bench).
   * Unpaired: each setting is timed at its own moment, so on a busy machine these compare poorly;
   * `speedup` is the paired figure.
   */
  throughput: number;
  /**
   * eval only: plain time / this setting's time, medians of alternating rounds against a plain
   * pipeline on the same batch (1 for the baseline); null when not measured.
   */
  speedup?: number | null;
  /**
   * eval only: paired counts against the baseline on the same images: `gained` right here and wrong
   * in the baseline, `lost` the other way round (top-1 difference = (gained − lost) / images).
   */
  paired?: { gained: number; lost: number };
  /** Latency at batch 1, median of a short run; null when not measured. */
  latencyMsP50: number | null;
  /** Latency at batch 1, 95th percentile; null when not measured. */
  latencyMsP95?: number | null;
  /** Share of (image, reduction) decisions that merged (JMP); null for methods without a decision. */
  mergeShare: number | null;
  /** bench only: the batch size of this entry. */
  batchSize?: number;
}

/** `pnpm bench` entries: the same keys, accuracy not measured (the benchmark model has random weights). */
export type BenchResult = Omit<EvalResult, 'top1' | 'top5' | 'batchSize'> & { top1: null; top5: null; batchSize: number };

export interface BenchJson extends Omit<EvalJson, 'results'> {
  results: BenchResult[];
}

export interface EvalJson {
  model: string;
  dataset: string;
  images: number;
  device: string;
  dtype: string;
  batchSize: number;
  results: EvalResult[];
}

/** σ of every evaluated image at one reduction block, for the JMP default setting. */
export interface SigmaDistribution {
  block: number;
  tau: number;
  values: number[];
}

/** τ sweep on the calibration split. */
export interface CalibrationCurve {
  /** e.g. "fmnist-calibration (1 000 training images held out of training)". */
  split: string;
  /**
   * top1, kl, agreement, mergeShare and gmacs: means over the calibrated keep rates (`perKeep` has
   * each). kl: KL(plain ‖ setting) in nats; agreement: the share of images with the plain model's
   * top-1 class (curves made before `chosenBy` existed have neither).
   */
  points: {
    tau: number;
    top1: number;
    kl?: number;
    agreement?: number;
    mergeShare: number;
    gmacs: number;
    perKeep?: { keep: number; top1: number; kl?: number; agreement?: number }[];
  }[];
  /** How `best` was picked (`chooseTau`); absent: by top-1 (curves made before the KL rule). */
  chosenBy?: 'kl' | 'top1';
  /** The τ picked (`chooseTau`, calibrateJMP's rule: ties → agreement, then KL, then the larger τ). */
  best: number;
}

/** What happened to each patch of one image at one reduction block. */
export interface PatchFates {
  block: number;
  /** The image's decision at this block: merge, prune, mixed, fuse, none. */
  decision: string;
  /**
   * One entry per original patch in row-major patch order (protected tokens excluded):
   * `k` kept, `m` merged (with `into`: the original patch index of the token it joined, −1 for a
   * fused EViT token), `p` pruned (at this block or before).
   */
  fates: { f: 'k' | 'm' | 'p'; into?: number }[];
}

export interface TokenMapImage {
  /** True label and predicted label names. */
  label: string;
  predicted: string;
  width: number;
  height: number;
  /** 1 (grayscale) or 3 (RGB). */
  channels: number;
  /** uint8 pixels, row-major, `width · height · channels` values. */
  pixels: number[];
  blocks: PatchFates[];
}

export interface TokenMaps {
  /** Patch grid [rows, cols] of the model input. */
  grid: [number, number];
  /** Which setting the maps show, e.g. "jmp keep 0.7, τ 0.93". */
  setting: string;
  images: TokenMapImage[];
}

export interface ReportData extends EvalJson {
  /** GMACs per image of the plain model. */
  baselineGmacs: number;
  /** When and how the report was made. */
  generatedAt: string;
  command: string;
  sigma?: SigmaDistribution[];
  calibration?: CalibrationCurve;
  tokenMaps?: TokenMaps;
  /** Free-form lines shown under the table (targets, notes). */
  notes?: string[];
}
