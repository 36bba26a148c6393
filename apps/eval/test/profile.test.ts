import { describe, expect, it } from 'vitest';
import { groupOf, summarize } from '../src/profile.js';

describe('bench --profile', () => {
  it('groups nodes by what they are for', () => {
    expect(groupOf('/deit/encoder/layer.3/attention/attention/MatMul')).toBe('attention');
    expect(groupOf('/deit/encoder/layer.3/intermediate/dense/MatMul')).toBe('MLP, norms, residuals');
    expect(groupOf('BiasGelu_token_12')).toBe('MLP, norms, residuals');
    expect(groupOf('jmp/TopK_75/TopK')).toBe('reduction');
    expect(groupOf('jmp/biased_scores_177/Add')).toBe('size bias');
    expect(groupOf('/deit/embeddings/Concat_2')).toBe('embeddings, head, neck');
    expect(groupOf('/neck/fusion_stage/layers.3/residual_layer1/convolution2/Conv')).toBe('embeddings, head, neck');
    expect(groupOf('/backbone/encoder/layer.11/attention/attention/Softmax')).toBe('attention');
  });

  it('averages kernel time over the forwards after the warm-up', () => {
    const node = (name: string, ts: number, dur: number, op = 'Add') => ({ cat: 'Node', name: `${name}_kernel_time`, ts, dur, args: { op_name: op } });
    const events = [
      { cat: 'Session', name: 'model_run', ts: 0, dur: 100 },
      node('/vit/encoder/layer.0/attention/attention/MatMul', 10, 50_000), // warm-up: left out
      { cat: 'Session', name: 'model_run', ts: 200, dur: 100 },
      node('/vit/encoder/layer.0/attention/attention/MatMul', 210, 3000),
      node('jmp/TopK_1/TopK', 220, 1000, 'TopK'),
      { cat: 'Session', name: 'model_run', ts: 400, dur: 100 },
      node('/vit/encoder/layer.0/attention/attention/MatMul', 410, 1000),
      node('jmp/TopK_1/TopK', 420, 3000, 'TopK'),
      node('jmp/biased_scores_2/Add', 430, 2000),
    ];
    const p = summarize(events, 1);
    expect(p.runs).toBe(2);
    expect(p.groups.attention).toBeCloseTo(2, 9); // (3 + 1) ms / 2 forwards
    expect(p.groups.reduction).toBeCloseTo(2, 9);
    expect(p.groups['size bias']).toBeCloseTo(1, 9);
    expect(p.reductionOps).toEqual([
      ['TopK', 2],
      ['Add', 1],
    ]);
    expect(p.nodes).toBe(3);
    // by default the first two forwards are left out
    const q = summarize(events);
    expect([q.runs, q.groups.attention, q.groups.reduction]).toEqual([1, 1, 3]);
  });
});
