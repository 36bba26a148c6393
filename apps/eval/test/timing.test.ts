import type { Tensor } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import type { Classifier } from '../src/classifier.js';
import { rotatingRounds } from '../src/timing.js';

/** A stand-in pipeline whose forward only records its name. */
const fake = (name: string, log: string[]) => ({ model: async () => void log.push(name) }) as unknown as Classifier;

describe('rotatingRounds', () => {
  it('times every pair once per round, plain before patched, starting one pair later each round', async () => {
    const log: string[] = [];
    const pairs = ['a', 'b', 'c'].map((n) => [fake(`${n}-plain`, log), fake(`${n}-patched`, log)] as const);
    const times = await rotatingRounds(pairs, {} as Tensor, 3);
    // one untimed warm-up per pipeline, in the pairs' order
    expect(log.slice(0, 6)).toEqual(['a-plain', 'a-patched', 'b-plain', 'b-patched', 'c-plain', 'c-patched']);
    const rounds = log
      .slice(6)
      .filter((x) => x.endsWith('-plain'))
      .map((x) => x[0]);
    expect(rounds.join('')).toBe('abc' + 'bca' + 'cab');
    for (let i = 6; i < log.length; i += 2) expect(log[i + 1]).toBe(log[i]!.replace('plain', 'patched'));
    expect(times).toHaveLength(3);
    for (const [plainMs, patchedMs] of times) {
      expect(plainMs).toHaveLength(3);
      expect(patchedMs).toHaveLength(3);
    }
  });
});
