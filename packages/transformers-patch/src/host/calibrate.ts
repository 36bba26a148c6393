import { RawImage, Tensor } from '@huggingface/transformers';
import { JmpArgumentError } from '@jmpjs/core';
import { UnsupportedModelError } from '../errors.js';
import { DEFAULT_BUDGET, resolveOptions, type JMPOptions } from '../options.js';
import type { CalibrationObjective, JMPPlan } from '../plan-file.js';
import { enableJMP } from './enable.js';
import { handleOf } from './registry.js';
import type { JMPModelInfo } from './model-info.js';
import type { JMPHandle, VisionPipelineLike } from './types.js';

/**
 * The τ values calibrateJMP tries by default: 0.40, 0.42, …, 0.98 (30 values). The lowest KL to the
 * plain model lay at 0.42 on the natural-image test bed's 49-patch development model and anywhere
 * from 0.5 to 0.9 on plain Fashion-MNIST; the grid before (0.70, 0.71, …, 0.99) did not reach the
 * former (docs/natural-images.md).
 */
export const DEFAULT_CALIBRATION_TAUS: readonly number[] = Array.from({ length: 30 }, (_, i) => Math.round((0.4 + i / 50) * 100) / 100);

export type { CalibrationObjective };

/** Fewest images calibrateJMP accepts. */
export const MIN_IMAGES = 16;

/** Options of {@link calibrateJMP}. */
export interface CalibrateJMPOptions {
  /** Share of the plain model's GMACs to spend (default 0.65): the keep rates are planned for it. */
  budget?: number;
  /** τ values to try (default {@link DEFAULT_CALIBRATION_TAUS}: 0.40, 0.42, …, 0.98). */
  taus?: readonly number[];
  /**
   * After the best single τ: one τ per reduction block, each block in turn trying the candidates
   * within 0.05 of it, kept where the objective improves. Default true (where there are several blocks).
   */
  perBlock?: boolean;
  /** One class id per image: choose by top-1 against them instead of closeness to the plain pipeline. */
  labels?: readonly number[];
  /**
   * What chooses among the candidates. `'kl'` (the default without labels): the lowest mean KL
   * divergence to the plain pipeline's output probabilities, then top-1 agreement. `'agreement'`
   * (the rule before 0.2): top-1 agreement, then KL. `'top1'` (the default with labels, and only
   * with them): top-1 against the labels, then agreement, then KL. Ties after that go to the higher τ.
   */
  objective?: CalibrationObjective;
  /** Images per forward (default 32). */
  batchSize?: number;
  /** The rest of the JMP setting, fixed while τ is searched (select, strategy, blocks, runner…). */
  options?: Omit<JMPOptions, 'tau' | 'budget' | 'keep' | 'plan' | 'method' | 'r'>;
  /** Called after every forward: how many of all the forwards are done (the total grows once, when the per-block search starts), and which candidate runs. */
  onProgress?: (progress: { done: number; total: number; candidate: string }) => void;
  /** Stops the search between forwards: the promise rejects with the signal's reason; the pipeline is left plain. */
  signal?: AbortSignal;
}

/** The images to calibrate on: preprocessed pixels [N, C, H, W], or anything the pipeline takes (paths, URLs, RawImages). */
export type CalibrationImages = Tensor | readonly unknown[];

type Pipe = VisionPipelineLike & { processor?: (images: unknown[]) => Promise<{ pixel_values: Tensor }> };
type Forward = (inputs: { pixel_values: Tensor }) => Promise<{ logits: Tensor }>;

/**
 * Label-free calibration: on the user's own images, how close the pipeline with JMP stays to the
 * plain pipeline (the mean KL divergence of the output probabilities, then top-1 agreement), for
 * each candidate τ at the budget's schedule. Returns the best as a plan (plain JSON) that
 * `enableJMP(pipe, { plan })` runs. With `labels`, top-1 against them decides instead (agreement
 * breaks ties); `objective` names another rule.
 *
 * The pipeline is plain again when the promise settles (also on errors and on abort).
 *
 * A pipeline whose JMP handle is off (`jmp.disable()`) is calibrated as if the handle were not
 * there: the handle is taken off the pipeline for the calibration and put back when the promise
 * settles, still off (`jmp.enable()` then turns on the handle's own options, not the plan: for the
 * plan, `jmp.dispose()` and `enableJMP(pipe, { plan })`). That handle's `enable()`, `disable()` and
 * `dispose()`, called meanwhile, wait for the calibration. With the handle on, calibrateJMP is a
 * `JmpStateError` that says to call `jmp.disable()` first.
 */
export async function calibrateJMP(pipe: VisionPipelineLike, images: CalibrationImages, options: CalibrateJMPOptions = {}): Promise<JMPPlan> {
  const handle = handleOf(pipe);
  return handle ? handle.detachedWhile('calibrate with calibrateJMP', () => calibrate(pipe, images, options)) : calibrate(pipe, images, options);
}

async function calibrate(pipe: VisionPipelineLike, images: CalibrationImages, options: CalibrateJMPOptions): Promise<JMPPlan> {
  const o = checkOptions(options);
  checkPipeline(pipe);
  const stopIfAborted = () => {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('calibrateJMP was aborted');
  };
  stopIfAborted();
  const pixels = await batchesOf(pipe as Pipe, images, o.batchSize);
  const count = pixels.reduce((a, t) => a + t.dims[0]!, 0);
  if (count < MIN_IMAGES) {
    throw new JmpArgumentError({
      argument: 'images',
      expected: `at least ${MIN_IMAGES} images (agreement on fewer says little)`,
      found: `${count} image${count === 1 ? '' : 's'}`,
    });
  }
  if (o.labels && o.labels.length !== count) {
    throw new JmpArgumentError({ argument: 'options.labels', expected: `one class id per image (${count})`, found: `${o.labels.length} labels` });
  }
  const model = pipe as unknown as { model: Forward };
  let total = pixels.length * (o.taus.length + 1);
  let done = 0;
  const run = async (candidate: string): Promise<Float32Array[]> => {
    const out: Float32Array[] = [];
    for (const x of pixels) {
      stopIfAborted();
      const { logits } = await model.model({ pixel_values: x });
      if (!logits || !Array.isArray(logits.dims) || logits.dims.length !== 2) {
        throw new JmpArgumentError({
          argument: 'pipeline',
          expected: 'an image-classification pipeline (its model gives logits [batch, classes])',
          found: 'a model without logits',
        });
      }
      out.push(probabilities(logits));
      o.onProgress?.({ done: ++done, total, candidate });
    }
    return out;
  };
  let info: JMPModelInfo | undefined;
  /** The pipeline with JMP at τ: its probabilities. Checks the model and the pixels (JMP's own forward checks them) before the plain pass runs. */
  const withJMP = async (tau: number | number[], label: string): Promise<Float32Array[]> => {
    stopIfAborted();
    const jmp = await openJMP(pipe, { ...o.options, budget: o.budget, tau });
    try {
      info = jmp.info!;
      return await run(label);
    } finally {
      await jmp.dispose();
    }
  };
  // The first candidate runs before the plain pass: an unsupported model or pixels the model cannot
  // take are typed errors from JMP's own checks, not onnxruntime's errors from the plain model.
  const first = await withJMP(o.taus[0]!, `τ ${o.taus[0]}`);
  const plain = await run('plain');
  const classes = plain[0]!.length / pixels[0]!.dims[0]!;
  const score = (probs: Float32Array[]) => compare(plain, probs, classes, o.labels);
  const candidates: JMPPlan['candidates'] = [];
  let best: Candidate | undefined;
  const trial = async (tau: number | number[], label: string, probs?: Float32Array[]): Promise<Candidate> => {
    const c = { tau, ...score(probs ?? (await withJMP(tau, label))) };
    candidates.push(c);
    return c;
  };
  for (const [i, tau] of o.taus.entries()) {
    const c = await trial(tau, `τ ${tau}`, i === 0 ? first : undefined);
    if (!best || better(c, best, o.objective)) best = c;
  }
  const blocks = info!.schedule.length;
  if (o.perBlock && blocks > 1) {
    // coordinate search, one block at a time, from the best single τ
    const around = o.taus.filter((t) => Math.abs(t - (best!.tau as number)) <= 0.05 + 1e-9 && t !== best!.tau);
    total += pixels.length * blocks * around.length;
    let taus = Array.from({ length: blocks }, () => best!.tau as number);
    for (let j = 0; j < blocks; j++) {
      for (const t of around) {
        const tried = taus.map((v, i) => (i === j ? t : v));
        const c = await trial(tried, `τ ${t} at block ${info!.schedule[j]!.block}`);
        if (strictlyBetter(c, best!, o.objective)) {
          best = c;
          taus = tried;
        }
      }
    }
  }
  const plainTop1 = o.labels ? compare(plain, plain, classes, o.labels).top1 : null;
  const resolved = resolveOptions({ ...o.options, budget: o.budget, tau: best!.tau });
  return {
    format: 'jmp-plan/1',
    model: {
      architecture: info!.architecture,
      depth: info!.depth,
      protectedTokens: info!.protectedTokens,
      patches: info!.shape.patches,
      hidden: info!.shape.hidden,
      fingerprint: info!.fingerprint,
    },
    options: {
      select: resolved.select,
      strategy: resolved.strategy,
      blocks: info!.schedule.map((s) => s.block),
      keep: info!.schedule.map((s) => s.amount),
      tau: best!.tau,
      proportionalAttention: resolved.proportionalAttention,
      headOnly: info!.headOnly,
      metric: info!.metric ?? resolved.metric, // as it ran on this model (the default depends on its patch count)
      ...(info!.match ? { match: info!.match } : {}), // as it ran (the default depends on the patch count)
    },
    budget: info!.budget,
    gmacs: { ...info!.gmacs },
    measured: { images: count, agreement: best!.agreement, kl: best!.kl, top1: best!.top1, plainTop1 },
    candidates,
    objective: o.objective,
  };
}

export interface Candidate {
  tau: number | number[];
  agreement: number;
  kl: number;
  top1: number | null;
}

function checkOptions(options: CalibrateJMPOptions) {
  if (!options || typeof options !== 'object') throw new JmpArgumentError({ argument: 'options', expected: 'an options object', found: options });
  const taus = options.taus ?? DEFAULT_CALIBRATION_TAUS;
  if (!Array.isArray(taus) || taus.length === 0 || !taus.every((t) => typeof t === 'number' && Number.isFinite(t))) {
    throw new JmpArgumentError({ argument: 'options.taus', expected: 'a non-empty array of finite τ values', found: taus });
  }
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new JmpArgumentError({ argument: 'options.batchSize', expected: 'a positive integer', found: batchSize });
  if (options.labels !== undefined && (!Array.isArray(options.labels) || !options.labels.every((l) => Number.isInteger(l) && l >= 0))) {
    throw new JmpArgumentError({ argument: 'options.labels', expected: 'an array of class ids (non-negative integers)', found: options.labels });
  }
  for (const key of ['tau', 'budget', 'keep', 'plan', 'method', 'r'] as const) {
    if ((options.options as Record<string, unknown> | undefined)?.[key] !== undefined) {
      throw new JmpArgumentError({
        argument: `options.options.${key}`,
        expected: `no ${key}: calibrateJMP searches τ at the budget`,
        found: (options.options as Record<string, unknown>)[key],
      });
    }
  }
  const budget = options.budget ?? DEFAULT_BUDGET;
  resolveOptions({ ...options.options, budget, tau: taus[0] }); // the same typed errors as enableJMP, before any work
  if (options.perBlock !== undefined && typeof options.perBlock !== 'boolean')
    throw new JmpArgumentError({ argument: 'options.perBlock', expected: 'a boolean', found: options.perBlock });
  const objective: CalibrationObjective = options.objective ?? (options.labels !== undefined ? 'top1' : 'kl');
  if (!(['kl', 'agreement', 'top1'] as const).includes(objective)) {
    throw new JmpArgumentError({ argument: 'options.objective', expected: "'kl', 'agreement' or 'top1'", found: options.objective });
  }
  if (objective === 'top1' && options.labels === undefined) {
    throw new JmpArgumentError({
      argument: 'options.objective',
      expected: "'kl' or 'agreement' without labels ('top1' needs options.labels)",
      found: objective,
    });
  }
  return {
    ...options,
    taus: [...taus].sort((a, b) => a - b),
    batchSize,
    budget,
    perBlock: options.perBlock ?? true,
    options: options.options ?? {},
    objective,
  };
}

/** The images as batches of pixel values. */
/** calibrateJMP compares class probabilities: it takes an image-classification pipeline. */
function checkPipeline(pipe: VisionPipelineLike): void {
  if (!pipe || (typeof pipe !== 'object' && typeof pipe !== 'function') || !(pipe as { model?: unknown }).model) {
    throw new JmpArgumentError({ argument: 'pipeline', expected: "an image-classification pipeline (from pipeline('image-classification', …))", found: pipe });
  }
  const task = (pipe as { task?: unknown }).task;
  if (typeof task === 'string' && task !== 'image-classification') {
    throw new JmpArgumentError({
      argument: 'pipeline',
      expected: 'an image-classification pipeline: calibrateJMP compares the class probabilities of the pipeline with JMP and without',
      found: `a '${task}' pipeline`,
      hint: 'Calibrate on an image-classification pipeline of the same backbone, or give enableJMP a τ or a budget.',
    });
  }
}

/** enableJMP for one candidate; a model JMP passes through (onUnsupported 'passthrough') has nothing to calibrate. */
async function openJMP(pipe: VisionPipelineLike, options: JMPOptions): Promise<JMPHandle> {
  let jmp: JMPHandle;
  try {
    jmp = await enableJMP(pipe, { ...options, onUnsupported: 'throw' });
  } catch (e) {
    if (!UnsupportedModelError.isInstance(e)) throw e;
    const u = e as UnsupportedModelError;
    throw new UnsupportedModelError({
      lookedFor: u.lookedFor,
      found: u.found,
      hint: 'calibrateJMP plans JMP for a model JMP supports; options.onUnsupported does not apply to it.',
      cause: e,
    });
  }
  return jmp;
}

async function batchesOf(pipe: Pipe, images: CalibrationImages, batchSize: number): Promise<Tensor[]> {
  if (images instanceof Tensor || (images && typeof images === 'object' && !Array.isArray(images) && 'dims' in (images as object))) {
    const t = images as Tensor;
    if (t.dims.length !== 4 || t.type !== 'float32' || t.dims[0]! < 1) {
      throw new JmpArgumentError({
        argument: 'images',
        expected: 'pixel values [N, C, H, W] (float32), or an array of images',
        found: `a ${t.type} tensor [${t.dims.join(', ')}]`,
      });
    }
    const [N, C, H, W] = t.dims as [number, number, number, number];
    const per = C * H * W;
    const data = t.data as Float32Array;
    const out: Tensor[] = [];
    for (let i = 0; i < N; i += batchSize) {
      const n = Math.min(batchSize, N - i);
      out.push(new Tensor('float32', data.subarray(i * per, (i + n) * per), [n, C, H, W]));
    }
    return out;
  }
  if (!Array.isArray(images) || images.length === 0) {
    throw new JmpArgumentError({
      argument: 'images',
      expected: 'pixel values [N, C, H, W], or a non-empty array of images (paths, URLs, RawImages)',
      found: images,
    });
  }
  if (typeof pipe.processor !== 'function') {
    throw new JmpArgumentError({
      argument: 'pipeline',
      expected: 'an image-classification pipeline with its processor (to preprocess the images)',
      found: 'no processor',
    });
  }
  const out: Tensor[] = [];
  for (let i = 0; i < images.length; i += batchSize) {
    const raw = await Promise.all(images.slice(i, i + batchSize).map((im, j) => readImage(im, i + j)));
    out.push((await pipe.processor(raw)).pixel_values);
  }
  return out;
}

/** One image of the array, or a JmpArgumentError naming it. */
async function readImage(image: unknown, index: number): Promise<RawImage> {
  if (image instanceof RawImage) return image;
  const readable =
    typeof image === 'string' ||
    image instanceof URL ||
    (typeof Blob !== 'undefined' && image instanceof Blob) ||
    (image !== null && typeof image === 'object' && ['HTMLCanvasElement', 'OffscreenCanvas'].includes(image.constructor?.name));
  const argument = `images[${index}]`;
  if (!readable) throw new JmpArgumentError({ argument, expected: 'an image: a RawImage, a path or URL, a Blob or a canvas', found: image });
  try {
    return await RawImage.read(image as string);
  } catch (e) {
    throw new JmpArgumentError({
      argument,
      expected: 'an image transformers.js can read',
      found: `${String(image).slice(0, 200)} (${e instanceof Error ? e.message : String(e)})`,
    });
  }
}

/** Softmax of logits [B, K], row by row, in float64. */
function probabilities(logits: Tensor): Float32Array {
  const [B, K] = logits.dims as [number, number];
  const x = logits.data as Float32Array;
  const p = new Float32Array(B * K);
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, x[b * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(x[b * K + k]! - max);
    for (let k = 0; k < K; k++) p[b * K + k] = Math.exp(x[b * K + k]! - max) / sum;
  }
  return p;
}

/** Top-1 agreement and mean KL(plain ‖ reduced) over all images; top-1 against labels when given. */
export function compare(
  plain: readonly Float32Array[],
  reduced: readonly Float32Array[],
  classes: number,
  labels?: readonly number[],
): { agreement: number; kl: number; top1: number | null } {
  let n = 0;
  let agree = 0;
  let kl = 0;
  let right = 0;
  const argmax = (p: Float32Array, o: number) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[o + k]! > p[o + best]!) best = k;
    return best;
  };
  plain.forEach((P, i) => {
    const Q = reduced[i]!;
    for (let o = 0; o < P.length; o += classes, n++) {
      const a = argmax(P, o);
      const b = argmax(Q, o);
      if (a === b) agree++;
      if (labels && b === labels[n]) right++;
      for (let k = 0; k < classes; k++) {
        const p = P[o + k]!;
        if (p > 0) kl += p * Math.log(p / Math.max(Q[o + k]!, 1e-30));
      }
    }
  });
  return { agreement: agree / n, kl: kl / n, top1: labels ? right / n : null };
}

/**
 * 'kl': KL, then agreement. 'agreement': agreement, then KL. 'top1': top-1, then agreement, then KL.
 * Ties after that: the higher τ (it prunes more).
 */
export function better(a: Candidate, b: Candidate, objective: CalibrationObjective): boolean {
  if (objective === 'top1' && a.top1 !== b.top1) return a.top1! > b.top1!;
  if (objective === 'kl' && a.kl !== b.kl) return a.kl < b.kl;
  if (a.agreement !== b.agreement) return a.agreement > b.agreement;
  if (a.kl !== b.kl) return a.kl < b.kl;
  return (a.tau as number) > (b.tau as number);
}

/**
 * Per block: only a real gain moves a block's τ away from the best single τ. 'kl': the KL falls by
 * more than 0.1 %. 'agreement' / 'top1': that figure rises, or (agreement) it ties and the KL falls
 * by more than 0.1 %.
 */
function strictlyBetter(a: Candidate, b: Candidate, objective: CalibrationObjective): boolean {
  if (objective === 'kl') return a.kl < b.kl * 0.999;
  if (objective === 'top1' && a.top1 !== b.top1) return a.top1! > b.top1!;
  if (a.agreement !== b.agreement) return a.agreement > b.agreement;
  return objective === 'agreement' && a.kl < b.kl * 0.999;
}
