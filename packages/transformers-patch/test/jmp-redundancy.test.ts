import { Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableJMP, type JMPOptions } from '../src/index.js';
import { jmpReference, loadClassifier, logits, maxAbsDiff, type Classifier } from './helpers.js';

/**
 * JMP with select 'redundancy' (the non-critical tokens are the most redundant, with ToMe's split or,
 * with match 'nearest', by nearest neighbours):
 * the compiled graph (graph/methods/jmp/emit.ts) against the segments runner, which runs @jmpjs/core's
 * methods/jmp/reduce.ts between the graph's pieces, on the reference images of both tiny fixtures: logits,
 * token counts, per-image decisions and merged counts, and the token sources.
 */
const CASES: [string, JMPOptions][] = [
  ['merge, 4/7/10', { select: 'redundancy', strategy: 'merge', keep: 0.7, blocks: [4, 7, 10] }],
  ['prune, 4/7/10', { select: 'redundancy', strategy: 'prune', keep: 0.7, blocks: [4, 7, 10] }],
  ['adaptive-token τ 0.6, 4/7/10', { select: 'redundancy', strategy: 'adaptive-token', tau: 0.6, keep: 0.6, blocks: [4, 7, 10] }],
  ['adaptive τ 0.5, every block', { select: 'redundancy', strategy: 'adaptive', tau: 0.5, keep: 0.9, blocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }],
  // keep rates planned from the default budget are not round: the graph must remove exactly the
  // planned tokens (its K in float32 once gave one token more than the plan)
  ['merge, the default budget', { strategy: 'merge' }],
  ['adaptive-token, one τ per block', { select: 'redundancy', strategy: 'adaptive-token', tau: [0.4, 0.6, 0.8], keep: 0.6, blocks: [4, 7, 10] }],
  // match 'nearest' (graph/ops.ts `nearest`, core methods/jmp/reduce.ts `leaveByNearest`)
  ['match nearest, merge, 4/7/10', { select: 'redundancy', match: 'nearest', strategy: 'merge', keep: 0.6, blocks: [4, 7, 10] }],
  [
    'match nearest, adaptive-token τ 0.6, keys-per-head, even blocks',
    { select: 'redundancy', match: 'nearest', metric: 'keys-per-head', strategy: 'adaptive-token', tau: 0.6, keep: 0.8, blocks: [2, 4, 6, 8, 10, 12] },
  ],
  [
    'match nearest, prune, every block',
    { select: 'redundancy', match: 'nearest', strategy: 'prune', keep: 0.9, blocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
  ],
  // metric 'hidden': the token states at the reduction point (graph/ops.ts `unitRows`, the core's state.tokens)
  [
    'metric hidden, adaptive-token τ 0.6, 4/7/10',
    { select: 'redundancy', metric: 'hidden', strategy: 'adaptive-token', tau: 0.6, keep: 0.6, blocks: [4, 7, 10] },
  ],
  [
    'metric hidden, match nearest, adaptive-token τ 0.7, even blocks',
    { select: 'redundancy', metric: 'hidden', match: 'nearest', strategy: 'adaptive-token', tau: 0.7, keep: 0.8, blocks: [2, 4, 6, 8, 10, 12] },
  ],
];

describe.each(['tiny-vit', 'tiny-deit'])('%s: select redundancy, compiled graph = segments (core)', (name) => {
  const { ref, pixels } = jmpReference(name);
  const input = new Tensor('float32', pixels, [ref.inputs.batch, 3, 224, 224]);
  let classifier: Classifier;
  beforeAll(async () => {
    classifier = await loadClassifier(name);
  });
  afterAll(async () => {
    await classifier.dispose();
  });

  it.each(CASES)('%s', async (_name, options) => {
    const runs = [];
    for (const runner of ['compiled', 'segments'] as const) {
      const jmp = await enableJMP(classifier, { ...options, runner, trackSources: true });
      expect(jmp.info!.runner).toBe(runner);
      try {
        const out = await logits(classifier, input);
        runs.push({ out, call: jmp.stats().lastCall! });
      } finally {
        await jmp.dispose();
      }
    }
    const [c, s] = runs;
    expect(maxAbsDiff(c!.out, s!.out)).toBeLessThanOrEqual(1e-4);
    expect(c!.call.blocks.map((b) => b.tokensIn)).toEqual(s!.call.blocks.map((b) => b.tokensIn));
    expect(c!.call.images.map((im) => im.map((r) => [r.decision, r.merged, r.pruned]))).toEqual(
      s!.call.images.map((im) => im.map((r) => [r.decision, r.merged, r.pruned])),
    );
    c!.call.images.flat().forEach((r, i) => expect(r.sigma).toBeCloseTo(s!.call.images.flat()[i]!.sigma, 4));
    c!.call.sourcesAfter!.forEach((src, i) => {
      expect(Array.from(src.sources.assignment), `block ${src.block}`).toEqual(Array.from(s!.call.sourcesAfter![i]!.sources.assignment));
    });
    // the choice between merging and pruning happened where the strategy allows it
    const merged = c!.call.images.flat().reduce((a, r) => a + r.merged, 0);
    if (options.strategy === 'prune') expect(merged).toBe(0);
    else expect(merged).toBeGreaterThan(0);
    if (options.strategy === 'adaptive-token') expect(c!.call.images.flat().some((r) => r.decision === 'mixed')).toBe(true);
  });
});

describe('select and its weights: typed errors before any work', () => {
  it('refuses weights without JMP redundancy, and a schedule that removes more than set A', async () => {
    const { resolveOptions } = await import('../src/options.js');
    expect(() => resolveOptions({ method: 'tome', r: 4, importanceWeight: 0.1 })).toThrow(/options\.importanceWeight/);
    expect(() => resolveOptions({ select: 'attention', strategy: 'merge', sizeWeight: 0.1 })).toThrow(/options\.sizeWeight/);
    expect(() => resolveOptions({ select: 'fast' as never, strategy: 'merge' })).toThrow(/options\.select/);
    expect(() => resolveOptions({ strategy: 'merge', importanceWeight: -1 })).toThrow(/a finite number ≥ 0/);
    // match: a known value, JMP redundancy only, and the split's weights with the split only
    expect(() => resolveOptions({ match: 'greedy' as never })).toThrow(/options\.match.*'bipartite', 'nearest'/s);
    expect(() => resolveOptions({ select: 'attention', match: 'nearest' })).toThrow(/options\.match/);
    expect(() => resolveOptions({ method: 'tome', r: 4, match: 'nearest' })).toThrow(/options\.match/);
    expect(() => resolveOptions({ match: 'nearest', sizeWeight: 0.1 })).toThrow(/options\.sizeWeight.*0 unless match is 'bipartite'/s);
    expect(resolveOptions({}).match).toBe('bipartite');
    expect(resolveOptions({ match: 'nearest' }).runner).toBe('auto'); // the compiled graph has it
    const classifier = await loadClassifier('tiny-vit');
    try {
      // keep 0.3 would remove 137 of 196 patch tokens at once: more than ToMe's set A (98)
      await expect(enableJMP(classifier, { strategy: 'merge', keep: 0.3, blocks: [4] })).rejects.toThrow(/at most 98 of the 196 unprotected tokens/);
    } finally {
      await classifier.dispose();
    }
  });
});
