import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dataDir } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { committedDataset, limitDataset, type Dataset } from '../src/data.js';

/** A class-ordered set like an ImageFolder: `perClass[c]` images of class c, class after class. */
function folder(perClass: number[]): Dataset {
  const labels = perClass.flatMap((n, c) => Array.from({ length: n }, () => c));
  return { name: 'f', size: labels.length, classOrdered: true, label: (i) => labels[i]!, image: () => Promise.reject(new Error('unused')) };
}

describe('limitDataset', () => {
  it('samples an ImageFolder across its classes, seeded, in file order', () => {
    const all = folder([10, 10, 10, 3]);
    const { data, taken } = limitDataset(all, 12);
    const labels = Array.from({ length: data.size }, (_, i) => data.label(i));
    expect(data.size).toBe(12);
    expect([0, 1, 2, 3].map((c) => labels.filter((l) => l === c).length)).toEqual([3, 3, 3, 3]);
    expect(labels).toEqual([...labels].sort((a, b) => a - b));
    expect(taken).toContain('spread over 4 classes');
    // the same sample on every call
    const again = limitDataset(all, 12).data;
    expect(Array.from({ length: 12 }, (_, i) => again.label(i))).toEqual(labels);
  });

  it('fills from the larger classes once a small one is spent', () => {
    const { data } = limitDataset(folder([1, 20, 20]), 21);
    const labels = Array.from({ length: data.size }, (_, i) => data.label(i));
    expect([0, 1, 2].map((c) => labels.filter((l) => l === c).length)).toEqual([1, 10, 10]);
  });

  it('takes the first images of a committed set, and everything when the limit is not below the size', () => {
    const set = { ...folder([5, 5]), classOrdered: false };
    expect(limitDataset(set, 3).data.size).toBe(3);
    expect(limitDataset(set, 3).taken).toBe('the first 3 of 10 images');
    expect(limitDataset(folder([5, 5]), 10).taken).toBe('all 10 images');
  });
});

describe('the natural-image test bed', () => {
  const manifest = JSON.parse(readFileSync(path.join(dataDir, 'photos.json'), 'utf8')) as {
    splits: Record<string, { sha256: string; count: number; label_counts: number[] }>;
  };

  it.each(['photo-test', 'photo-calibration'])('%s: the JavaScript composer makes the bytes the Python generator recorded', async (name) => {
    const data = committedDataset(name);
    const split = manifest.splits[name]!;
    expect(data.size).toBe(split.count);
    const hash = createHash('sha256');
    const counts = new Array(10).fill(0);
    for (let i = 0; i < data.size; i++) {
      const img = await data.image(i);
      expect([img.width, img.height, img.channels]).toEqual([56, 56, 3]);
      hash.update(img.data);
      counts[data.label(i)]++;
    }
    expect(hash.digest('hex')).toBe(split.sha256);
    expect(counts).toEqual(split.label_counts);
  });
});
