import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JmpArgumentError, calibrateJMP, enableJMP, type JMPPlan } from '../src/index.js';
import { better } from '../src/host/calibration-score.js';
import { loadClassifier, logits, maxAbsDiff, pixels, type Classifier } from './helpers.js';

/**
 * calibrateJMP: label-free τ search at a budget on the user's images, a plan as plain JSON, and
 * enableJMP(pipe, { plan }) running it on the model it was made for only.
 */
describe('calibrateJMP', { timeout: 60_000 }, () => {
  let vit: Classifier;
  let deit: Classifier;
  const images = pixels(16, 77);
  beforeAll(async () => {
    [vit, deit] = await Promise.all([loadClassifier('tiny-vit'), loadClassifier('tiny-deit')]);
  });
  afterAll(async () => {
    await Promise.all([vit.dispose(), deit.dispose()]);
  });

  it('measures every candidate against the plain pipeline, picks the best, and the plan runs it', async () => {
    const plain = await logits(vit, images);
    const progress: { done: number; total: number; candidate: string }[] = [];
    const plan = await calibrateJMP(vit, images, { budget: 0.6, taus: [0.5, 0.9, 0.7], batchSize: 5, onProgress: (p) => progress.push(p) });
    // plain JSON, as saved and loaded
    const loaded = JSON.parse(JSON.stringify(plan)) as JMPPlan;
    expect(loaded).toEqual(plan);
    expect(plan.format).toBe('jmp-plan/1');
    expect(plan.objective).toBe('kl');
    expect(plan.candidates.map((c) => c.tau)).toEqual([0.5, 0.7, 0.9]);
    for (const c of plan.candidates) {
      expect(c.agreement).toBeGreaterThanOrEqual(0);
      expect(c.agreement).toBeLessThanOrEqual(1);
      expect(c.kl).toBeGreaterThan(0); // reduced outputs differ from the plain ones
    }
    // the best: lowest KL, then highest agreement, then the highest τ
    const best = [...plan.candidates].sort((a, b) => a.kl - b.kl || b.agreement - a.agreement || (b.tau as number) - (a.tau as number))[0]!;
    expect(plan.options.tau).toBe(best.tau);
    expect(plan.measured).toMatchObject({ images: 16, agreement: best.agreement, kl: best.kl, top1: null, plainTop1: null });
    expect(Math.abs(plan.gmacs.planned / plan.gmacs.plain - 0.6)).toBeLessThanOrEqual(0.01);
    expect(plan.budget).toBe(0.6);
    // progress: 4 batches per pass, 4 passes (plain and three candidates; none within 0.05 of another for the per-block search), in order:
    // the lowest τ first (JMP's own checks of the model and the pixels come before the plain pass), then the plain pipeline
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(progress.every((p) => p.total === 16)).toBe(true);
    expect(progress.map((p) => p.candidate).filter((c, i, all) => all.indexOf(c) === i)).toEqual(['τ 0.5', 'plain', 'τ 0.7', 'τ 0.9']);
    // the pipeline is plain again
    expect(maxAbsDiff(await logits(vit, images), plain)).toBe(0);

    // the plan runs as calibrated: the same agreement on the same images
    const jmp = await enableJMP(vit, { plan: loaded });
    try {
      expect(jmp.info!.schedule.map((s) => s.amount)).toEqual(plan.options.keep);
      const reduced = await logits(vit, images);
      let agree = 0;
      for (let i = 0; i < 16; i++) {
        const row = (x: Float32Array) => Array.from(x.subarray(i * 10, i * 10 + 10));
        const top = (r: number[]) => r.indexOf(Math.max(...r));
        if (top(row(reduced)) === top(row(plain))) agree++;
      }
      expect(agree / 16).toBe(plan.measured.agreement);
    } finally {
      await jmp.dispose();
    }
    // another model's plan is a typed error; so is a plan with the options it sets
    await expect(enableJMP(deit, { plan: loaded })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan',
    );
    await expect(enableJMP(vit, { plan: loaded, keep: 0.5 })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan and options.keep',
    );
    await expect(enableJMP(vit, { plan: { ...loaded, format: 'other' } as never })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan.format',
    );
  });

  it('τ belongs to its metric: the plan records it, runs it, and a plan made before it was recorded runs head-mean keys', async () => {
    const plan = await calibrateJMP(vit, images, { budget: 0.6, taus: [0.6], options: { metric: 'keys-per-head' } });
    expect(plan.options.metric).toBe('keys-per-head');
    const run = async (p: JMPPlan) => {
      const jmp = await enableJMP(vit, { plan: p });
      try {
        return await logits(vit, images);
      } finally {
        await jmp.dispose();
      }
    };
    const direct = async (metric: 'keys' | 'keys-per-head') => {
      const { blocks, keep, tau, strategy, select, headOnly } = plan.options;
      const jmp = await enableJMP(vit, { blocks, keep, tau, strategy, select, headOnly, metric });
      try {
        return await logits(vit, images);
      } finally {
        await jmp.dispose();
      }
    };
    const perHead = await direct('keys-per-head');
    const keys = await direct('keys');
    expect(maxAbsDiff(perHead, keys)).toBeGreaterThan(0); // the metric changes what merges here
    expect(maxAbsDiff(await run(plan), perHead)).toBe(0);
    const { metric: _metric, ...before } = plan.options;
    expect(maxAbsDiff(await run({ ...plan, options: before }), keys)).toBe(0);
    await expect(enableJMP(vit, { plan, metric: 'keys' })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan and options.metric',
    );
    await expect(enableJMP(vit, { plan: { ...plan, options: { ...plan.options, metric: 'values' as never } } })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan.options',
    );
  });

  it("match 'nearest': the plan records it and runs it; without it a plan pairs by ToMe's split", async () => {
    const plan = await calibrateJMP(vit, images, { budget: 0.6, taus: [0.6], perBlock: false, options: { match: 'nearest' } });
    expect(plan.options.match).toBe('nearest');
    const run = async (options: Parameters<typeof enableJMP>[1]) => {
      const jmp = await enableJMP(vit, options);
      try {
        return { out: await logits(vit, images), match: jmp.info!.match };
      } finally {
        await jmp.dispose();
      }
    };
    const { blocks, keep, tau, strategy, select, headOnly, metric } = plan.options;
    const fixed = { blocks, keep, tau, strategy, select, headOnly, metric };
    const nearest = await run({ ...fixed, match: 'nearest' });
    const split = await run(fixed);
    expect([nearest.match, split.match]).toEqual(['nearest', 'bipartite']);
    expect(maxAbsDiff(nearest.out, split.out)).toBeGreaterThan(0); // the pairing changes what merges here
    const fromPlan = await run({ plan });
    expect(fromPlan.match).toBe('nearest');
    expect(maxAbsDiff(fromPlan.out, nearest.out)).toBe(0);
    const { match: _match, ...before } = plan.options;
    expect(maxAbsDiff((await run({ plan: { ...plan, options: before } })).out, split.out)).toBe(0);
    await expect(enableJMP(vit, { plan, match: 'bipartite' })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan and options.match',
    );
    await expect(enableJMP(vit, { plan: { ...plan, options: { ...plan.options, match: 'greedy' as never } } })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.plan.options',
    );
  });

  it('per block: each block tries the τ values near the best single one; a τ per block runs as planned', async () => {
    const progress: number[] = [];
    const plan = await calibrateJMP(vit, images, { budget: 0.6, taus: [0.4, 0.45, 0.5, 0.9], onProgress: (p) => progress.push(p.total) });
    const single = plan.candidates.filter((c) => typeof c.tau === 'number');
    const perBlock = plan.candidates.filter((c) => Array.isArray(c.tau));
    const bestSingle = [...single].sort((a, b) => a.kl - b.kl || b.agreement - a.agreement || (b.tau as number) - (a.tau as number))[0]!;
    const near = [0.4, 0.45, 0.5, 0.9].filter((t) => t !== bestSingle.tau && Math.abs(t - (bestSingle.tau as number)) <= 0.05 + 1e-9);
    expect(perBlock).toHaveLength(near.length * plan.options.blocks.length);
    for (const c of perBlock) {
      expect(c.tau).toHaveLength(plan.options.blocks.length);
      // one block away from the best single τ at a time, at most (earlier blocks keep what they gained)
      expect((c.tau as number[]).every((t) => [bestSingle.tau, ...near].includes(t))).toBe(true);
    }
    // the plan is no worse than the best single τ; a block moved only for a KL lower by more than 0.1 %
    expect(plan.measured.kl).toBeLessThanOrEqual(bestSingle.kl);
    if (Array.isArray(plan.options.tau)) expect(plan.measured.kl).toBeLessThan(bestSingle.kl * 0.999);
    // the total grew once, when the per-block search started
    expect(new Set(progress).size).toBeLessThanOrEqual(2);
    // τ per block through enableJMP: wrong length is a typed error
    await expect(enableJMP(vit, { tau: [0.5, 0.6], strategy: 'adaptive-token' })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.tau',
    );
  });

  it("objective 'agreement' is the rule before KL: agreement first; the same candidates, ranked otherwise", async () => {
    const taus = [0.3, 0.5, 0.7, 0.9, 0.99];
    const [byKl, byAgreement] = [
      await calibrateJMP(deit, images, { taus, perBlock: false }),
      await calibrateJMP(deit, images, { taus, perBlock: false, objective: 'agreement' }),
    ];
    expect(byAgreement.objective).toBe('agreement');
    // the same measurements (the search is deterministic), ranked by another rule
    expect(byAgreement.candidates).toEqual(byKl.candidates);
    const lexical = (x: number[], y: number[]) => x.map((v, i) => v - y[i]!).find((d) => d !== 0) ?? 0;
    const rank = (key: (c: JMPPlan['candidates'][number]) => number[]) => [...byKl.candidates].sort((a, b) => lexical(key(a), key(b)))[0]!.tau;
    expect(byKl.options.tau).toBe(rank((c) => [c.kl, -c.agreement, -(c.tau as number)]));
    expect(byAgreement.options.tau).toBe(rank((c) => [-c.agreement, c.kl, -(c.tau as number)]));
    // where the rules disagree (as on fmnist-deit's calibration split: a τ of 0.99 at one block
    // turned one more image of 256 to the plain top-1 and tripled the KL)
    const steady = { tau: 0.96, agreement: 255 / 256, kl: 0.00021, top1: null };
    const flip = { tau: 0.99, agreement: 1, kl: 0.00072, top1: null };
    expect(better(steady, flip, 'kl')).toBe(true);
    expect(better(flip, steady, 'agreement')).toBe(true);
    expect(better({ ...steady, tau: 0.97 }, steady, 'kl')).toBe(true); // a tie: the higher τ
    expect(better({ ...flip, top1: 0.5 }, { ...steady, top1: 0.6 }, 'top1')).toBe(false);
    await expect(calibrateJMP(deit, images, { objective: 'top1' })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.objective' && /needs options\.labels/.test((e as Error).message),
    );
    await expect(calibrateJMP(deit, images, { objective: 'loss' as never })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.objective',
    );
  });

  it('with labels, top-1 decides; the plain top-1 is reported', async () => {
    const labels = Array.from({ length: 16 }, (_, i) => i % 10);
    const plan = await calibrateJMP(deit, images, { taus: [0.6, 0.95], labels });
    expect(plan.objective).toBe('top1');
    expect(plan.measured.top1).not.toBeNull();
    expect(plan.measured.plainTop1).not.toBeNull();
    const best = Math.max(...plan.candidates.map((c) => c.top1!));
    expect(plan.measured.top1).toBe(best);
  });

  it('aborts between forwards, leaving the pipeline plain; bad arguments are typed errors before any work', async () => {
    const plain = await logits(vit, images);
    const controller = new AbortController();
    const reason = new Error('stop');
    const run = calibrateJMP(vit, images, {
      taus: [0.5, 0.9],
      batchSize: 4,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 5) controller.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    expect(maxAbsDiff(await logits(vit, images), plain)).toBe(0);
    await expect(calibrateJMP(vit, images, { taus: [] })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.taus',
    );
    await expect(calibrateJMP(vit, images, { labels: [1, 2] })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.labels',
    );
    await expect(calibrateJMP(vit, images, { budget: 2 })).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'options.budget',
    );
    await expect(calibrateJMP(vit, [], {})).rejects.toSatisfy((e) => JmpArgumentError.isInstance(e) && (e as JmpArgumentError).argument === 'images');
    await expect(calibrateJMP(vit, pixels(15, 3), {})).rejects.toSatisfy(
      (e) => JmpArgumentError.isInstance(e) && /at least 16 images/.test((e as Error).message),
    );
  });
});
