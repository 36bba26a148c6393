import { planTokens } from '@jmpjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableJMP, type JMPHandle, type JMPOptions } from '../src/index.js';
import { argmaxRows, loadClassifier, logits, pixels, type Classifier } from './helpers.js';

describe('token counts follow the schedule and stats() reports them', () => {
  let classifier: Classifier;
  beforeAll(async () => {
    classifier = await loadClassifier('tiny-deit');
  });
  afterAll(async () => {
    await classifier.dispose();
  });

  it.each([
    [
      'jmp, the default blocks (select redundancy, every second block), keep 0.85',
      { tau: 0.5, keep: 0.85 },
      [198, 198, 169, 169, 144, 144, 123, 123, 105, 105, 90, 90],
    ],
    [
      "jmp adaptive, the paper's rule (keep 0.7 at 4/7/10)",
      { select: 'attention', strategy: 'adaptive', tau: 0.5, keep: 0.7 },
      [198, 198, 198, 198, 140, 140, 140, 99, 99, 99, 70, 70],
    ],
    ['jmp prune, keep per block', { strategy: 'prune', keep: [0.5, 0.8, 0.9], blocks: [2, 5, 11] }, [198, 198, 100, 100, 100, 81, 81, 81, 81, 81, 81, 74]],
    ['evit', { method: 'evit', keep: 0.7 }, [198, 198, 198, 198, 141, 141, 141, 101, 101, 101, 73, 73]],
    ['tome r=8', { method: 'tome', r: 8 }, Array.from({ length: 12 }, (_, i) => 198 - 8 * i)],
  ] as const)('%s', async (_label, opts, tokensIn) => {
    const options = opts as JMPOptions;
    let jmp: JMPHandle | undefined;
    try {
      jmp = await enableJMP(classifier, options);
      await logits(classifier, pixels(3));
      const stats = jmp.stats();
      const call = stats.lastCall!;
      expect(call.batchSize).toBe(3);
      expect(call.blocks.map((b) => b.tokensIn)).toEqual([...tokensIn]);
      expect(jmp.info!.plannedTokens.map((b) => b.tokensIn)).toEqual([...tokensIn]);
      expect(call.images).toHaveLength(3);
      expect(call.images[0]!.map((r) => r.block)).toEqual(jmp.info!.reductionBlocks);
      // GMACs from the real token counts (tiny-deit: width 32, MLP 128, 10 classes, two heads).
      expect(call.gmacsPerImage).toBeGreaterThan(0);
      const plan = planTokens({
        schedule: options.method === 'tome' ? { blocks: jmp.info!.reductionBlocks, r: 8 } : { blocks: jmp.info!.reductionBlocks, keep: options.keep ?? 0.7 },
        method: options.method ?? 'jmp',
        depth: 12,
        tokens: 198,
        protectedTokens: 2,
        headOnly: true,
      });
      // the head reads the class and distillation tokens only: the last block's MLP runs on those two
      expect(jmp.info!.headOnly).toBe(true);
      expect(call.blocks.at(-1)!.tokensOut).toBe(2);
      expect(call.blocks).toEqual(plan);
      const perBlock = call.blocks.map((b) => 4 * b.tokensIn * 32 * 32 + 2 * b.tokensIn ** 2 * 32 + 2 * b.tokensOut * 32 * 128);
      const expected = (196 * 32 * 3 * 16 * 16 + perBlock.reduce((a, b) => a + b, 0) + 32 * 10 * 2) / 1e9;
      expect(Math.abs(call.gmacsPerImage - expected)).toBeLessThan(1e-12);
      expect(stats.images).toBe(3);
      const counted = Object.values(stats.decisions).reduce((a, d) => a + d.merge + d.prune + d.mixed + d.fuse + d.none, 0);
      expect(counted).toBe(3 * jmp.info!.reductionBlocks.length);
    } finally {
      await jmp?.dispose();
    }
  });

  it('no options: the default budget (65 % of the plain GMACs) planned and measured, the default τ', async () => {
    const { DEFAULT_BUDGET, DEFAULT_TAU } = await import('../src/defaults.js');
    const jmp = await enableJMP(classifier);
    try {
      expect(jmp.info!.budget).toBe(DEFAULT_BUDGET);
      // every second block but the last, whose MLP runs on the class and distillation tokens only
      expect(jmp.info!.reductionBlocks).toEqual([2, 4, 6, 8, 10]);
      const { plain, planned } = jmp.info!.gmacs;
      expect(Math.abs(planned / plain - 0.65)).toBeLessThanOrEqual(0.01);
      await logits(classifier, pixels(2, 5));
      const stats = jmp.stats();
      expect(stats.plannedGmacsPerImage).toBe(planned);
      expect(stats.plainGmacsPerImage).toBe(plain);
      // measured from the token counts the call really had: the plan, at the model's image size
      expect(stats.meanGmacsPerImage).toBeCloseTo(planned, 12);
      // DEFAULT_TAU on the token states decides per token: the σ and merged counts come out, and the adaptive-token strategy ran
      expect([jmp.info!.metric, jmp.info!.match, jmp.info!.tau]).toEqual(['hidden', 'bipartite', DEFAULT_TAU]);
      expect(stats.lastCall!.images.flat().every((r) => Number.isFinite(r.sigma))).toBe(true);
    } finally {
      await jmp.dispose();
    }
    // a budget of one's own, at blocks of one's own
    const custom = await enableJMP(classifier, { budget: 0.5, blocks: [1, 3, 5, 7, 9, 11], strategy: 'merge' });
    try {
      expect(custom.info!.budget).toBe(0.5);
      expect(Math.abs(custom.info!.gmacs.planned / custom.info!.gmacs.plain - 0.5)).toBeLessThanOrEqual(0.01);
      expect(custom.info!.schedule.map((s) => s.block)).toEqual([1, 3, 5, 7, 9, 11]);
    } finally {
      await custom.dispose();
    }
  });

  it('the pipeline keeps its output format and labels with JMP on', async () => {
    const jmp = await enableJMP(classifier, { strategy: 'merge', keep: 0.5, trackSources: true });
    try {
      const input = pixels(2, 99);
      const raw = await logits(classifier, input);
      const top = argmaxRows(raw, 10);
      const { RawImage } = await import('@huggingface/transformers');
      const image = new RawImage(new Uint8ClampedArray(224 * 224 * 3).fill(128), 224, 224, 3);
      const out = (await classifier(image, { top_k: 3 })) as { label: string; score: number }[];
      expect(out).toHaveLength(3);
      expect(out[0]!.label).toMatch(/^label_\d$/);
      expect(top).toHaveLength(2);
      const call = jmp.stats().lastCall!;
      expect(call.sources?.originalTokens).toBe(198);
      expect(call.images[0]!.every((r) => r.decision === 'merge')).toBe(true);
    } finally {
      await jmp.dispose();
    }
  });
});

describe('one-call form and inspection', () => {
  it('createJMPPipeline builds the pipeline with JMP on; inspectJMP plans without changing anything', async () => {
    const { createJMPPipeline, inspectJMP } = await import('../src/index.js');
    const { modelPath } = await import('@jmpjs/fixtures');
    const { classifier, jmp } = await createJMPPipeline(modelPath('tiny-vit'), { select: 'attention', strategy: 'prune', keep: 0.5 }, { dtype: 'fp32' });
    try {
      expect(jmp.enabled).toBe(true);
      expect(jmp.info!.architecture).toBe('vit');
      expect(jmp.info!.protectedTokens).toBe(1);
      await logits(classifier as unknown as Classifier, pixels(1));
      expect(jmp.stats().lastCall!.blocks.map((b) => b.tokensIn)).toEqual([197, 197, 197, 197, 99, 99, 99, 50, 50, 50, 26, 26]);
      const info = await inspectJMP(classifier as never, { method: 'tome', r: 10 });
      // ToMe at blocks 1…11 (the last block's MLP runs on the class token only): 11 merges of 10
      expect(info.reductionBlocks).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(info.plannedTokens.at(-1)).toEqual({ block: 12, tokensIn: 197 - 110, tokensOut: 1 });
      expect(info.shape).toMatchObject({ hidden: 32, depth: 12, patches: 196, classes: 10, heads: 1 });
      expect(jmp.enabled).toBe(true);
    } finally {
      await (classifier as unknown as Classifier).dispose();
    }
  });
});

describe('the default blocks follow the patch count (FEW_PATCHES)', () => {
  it('49 patches (fmnist-vit-dev): every block from the second but the last; 196 (fmnist-deit): every second', async () => {
    const { FEW_PATCHES } = await import('../src/defaults.js');
    const { defaultBlocks } = await import('../src/options.js');
    expect(FEW_PATCHES).toBe(64);
    expect(defaultBlocks('jmp', 12, 'redundancy', true, 49)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(defaultBlocks('jmp', 12, 'redundancy', false, 64)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(defaultBlocks('jmp', 12, 'redundancy', true, 65)).toEqual([2, 4, 6, 8, 10]);
    // only the default JMP: the paper's rule, EViT and ToMe keep theirs
    expect(defaultBlocks('jmp', 12, 'attention', true, 49)).toEqual([4, 7, 10]);
    expect(defaultBlocks('tome', 12, 'redundancy', true, 49)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const [name, blocks] of [
      ['fmnist-vit-dev', [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
      ['fmnist-deit', [2, 4, 6, 8, 10]],
    ] as const) {
      const classifier = await loadClassifier(name);
      try {
        const jmp = await enableJMP(classifier);
        try {
          expect(jmp.info!.reductionBlocks).toEqual([...blocks]);
          const { plain, planned } = jmp.info!.gmacs;
          expect(Math.abs(planned / plain - 0.65)).toBeLessThanOrEqual(0.01);
        } finally {
          await jmp.dispose();
        }
      } finally {
        await classifier.dispose();
      }
    }
  });
});

describe('the default metric, pairing and τ follow the patch count (optionsForModel)', { timeout: 60_000 }, () => {
  it("the token states, with nearest neighbours and DEFAULT_TAU_FEW_PATCHES up to 64 patches, ToMe's split and DEFAULT_TAU above; a key metric keeps 0.93; given values win", async () => {
    const { DEFAULT_TAU, DEFAULT_TAU_FEW_PATCHES } = await import('../src/defaults.js');
    const { optionsForModel, resolveOptions } = await import('../src/options.js');
    expect(DEFAULT_TAU_FEW_PATCHES).not.toBe(DEFAULT_TAU);
    const at = (options: JMPOptions | undefined, patches: number) => {
      const o = optionsForModel(resolveOptions(options), patches);
      return [o.metric, o.match, o.tau];
    };
    expect(at(undefined, 49)).toEqual(['hidden', 'nearest', DEFAULT_TAU_FEW_PATCHES]);
    expect(at(undefined, 64)).toEqual(['hidden', 'nearest', DEFAULT_TAU_FEW_PATCHES]);
    expect(at(undefined, 65)).toEqual(['hidden', 'bipartite', DEFAULT_TAU]);
    // what the user sets stays: a τ keeps the default metric and pairing, a metric keeps the default pairing
    expect(at({ tau: 0.8 }, 49)).toEqual(['hidden', 'nearest', 0.8]);
    expect(at({ metric: 'hidden' }, 196)).toEqual(['hidden', 'bipartite', DEFAULT_TAU]);
    expect(at({ match: 'bipartite' }, 49)).toEqual(['hidden', 'bipartite', DEFAULT_TAU_FEW_PATCHES]);
    expect(at({ match: 'nearest' }, 196)).toEqual(['hidden', 'nearest', DEFAULT_TAU]);
    // a key metric without τ: head-mean keys' default τ from when they were the default (0.93)
    expect(at({ metric: 'keys' }, 49)).toEqual(['keys', 'nearest', 0.93]);
    expect(at({ metric: 'keys-per-head' }, 196)).toEqual(['keys-per-head', 'bipartite', 0.93]);
    expect(at({ metric: 'keys', match: 'nearest' }, 196)).toEqual(['keys', 'nearest', 0.93]);
    // only the default JMP (select 'redundancy'): the paper's rule and the other methods keep theirs
    expect(at({ select: 'attention', strategy: 'adaptive' }, 49)).toEqual(['keys', 'bipartite', DEFAULT_TAU]);
    expect(at({ method: 'tome', r: 2 }, 49)[2]).toBeUndefined();
    expect(optionsForModel(resolveOptions({ method: 'tome', r: 2 }), 49).metric).toBe('keys');
    expect(optionsForModel(resolveOptions({ method: 'tome', r: 2 }), 49).match).toBe('bipartite');
    // strategies without τ get the metric and pairing and no τ
    expect(at({ strategy: 'merge' }, 49)).toEqual(['hidden', 'nearest', undefined]);

    for (const [name, metric, match, tau] of [
      ['fmnist-vit-dev', 'hidden', 'nearest', DEFAULT_TAU_FEW_PATCHES],
      ['fmnist-deit', 'hidden', 'bipartite', DEFAULT_TAU],
    ] as const) {
      const classifier = await loadClassifier(name);
      try {
        const jmp = await enableJMP(classifier);
        try {
          expect(jmp.info!.metric).toBe(metric);
          expect(jmp.info!.match).toBe(match);
          expect(jmp.info!.tau).toBe(tau);
        } finally {
          await jmp.dispose();
        }
        const tome = await enableJMP(classifier, { method: 'tome', r: 1 });
        try {
          expect(tome.info!.metric).toBeNull();
          expect(tome.info!.match).toBeNull();
          expect(tome.info!.tau).toBeNull();
        } finally {
          await tome.dispose();
        }
      } finally {
        await classifier.dispose();
      }
    }
  });
});
