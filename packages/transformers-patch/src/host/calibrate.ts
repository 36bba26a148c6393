import type { Tensor } from '@huggingface/transformers';
import { JmpArgumentError } from '@jmpjs/core';
import { DEFAULT_BUDGET, DEFAULT_CALIBRATION_BATCH, DEFAULT_CALIBRATION_TAUS, MIN_CALIBRATION_IMAGES, PER_BLOCK_TAU_RADIUS } from '../defaults.js';
import { UnsupportedModelError } from '../errors.js';
import { resolveOptions, type JMPOptions } from '../options.js';
import type { CalibrationObjective, JMPPlan } from '../plan-file.js';
import { batchesOf, checkPipeline, type CalibrationImages, type Pipe } from './calibration-input.js';
import { better, compare, probabilities, strictlyBetter, type Candidate } from './calibration-score.js';
import { enableJMP } from './enable.js';
import type { JMPModelInfo } from './model-info.js';
import { handleOf } from './registry.js';
import type { JMPHandle, VisionPipelineLike } from './types.js';

export { DEFAULT_CALIBRATION_TAUS };
export type { CalibrationImages, Candidate };
export type { CalibrationObjective };

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
  if (count < MIN_CALIBRATION_IMAGES) {
    throw new JmpArgumentError({
      argument: 'images',
      expected: `at least ${MIN_CALIBRATION_IMAGES} images (agreement on fewer says little)`,
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
    const around = o.taus.filter((t) => Math.abs(t - (best!.tau as number)) <= PER_BLOCK_TAU_RADIUS + 1e-9 && t !== best!.tau);
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

function checkOptions(options: CalibrateJMPOptions) {
  if (!options || typeof options !== 'object') throw new JmpArgumentError({ argument: 'options', expected: 'an options object', found: options });
  const taus = options.taus ?? DEFAULT_CALIBRATION_TAUS;
  if (!Array.isArray(taus) || taus.length === 0 || !taus.every((t) => typeof t === 'number' && Number.isFinite(t))) {
    throw new JmpArgumentError({ argument: 'options.taus', expected: 'a non-empty array of finite τ values', found: taus });
  }
  const batchSize = options.batchSize ?? DEFAULT_CALIBRATION_BATCH;
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
