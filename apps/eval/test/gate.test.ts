import { describe, expect, it } from 'vitest';
import { checkGate } from '../src/gate.js';
import type { EvalJson, EvalResult } from '../src/types.js';

function result(method: string, top1: number, gmacs: number): EvalResult {
  return { method, params: {}, gmacs, top1, top5: null, throughput: 1, latencyMsP50: null, mergeShare: null };
}
const json = (jmpTop1: number, jmpGmacs: number): EvalJson => ({
  model: 'm',
  dataset: 'd',
  images: 300,
  device: 'cpu',
  dtype: 'fp32',
  batchSize: 32,
  results: [result('baseline', 0.9, 0.2), result('jmp', jmpTop1, jmpGmacs)],
});
const bounds = { maxTop1DropPoints: 1, minGmacsReduction: 0.3 };

describe('CI gate', () => {
  it('passes within bounds', () => {
    expect(checkGate(json(0.895, 0.13), bounds).failures).toEqual([]);
  });
  it('fails on a top-1 drop past the bound', () => {
    expect(checkGate(json(0.88, 0.13), bounds).failures[0]).toMatch(/loses 2\.00 points/);
  });
  it('fails when GMACs are not reduced enough', () => {
    expect(checkGate(json(0.9, 0.15), bounds).failures[0]).toMatch(/saves 25\.0 %/);
  });
  it('needs baseline and jmp', () => {
    expect(checkGate({ ...json(0.9, 0.1), results: [] }, bounds).failures).toHaveLength(1);
  });
});
