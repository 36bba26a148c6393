import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../src/progress.js';

describe('Progress (not a terminal: a line per tenth)', () => {
  const tty = process.stderr.isTTY;
  afterEach(() => {
    vi.restoreAllMocks();
    (process.stderr as { isTTY?: boolean }).isTTY = tty;
  });

  const capture = () => {
    (process.stderr as { isTTY?: boolean }).isTTY = false; // the line form, wherever the tests run
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    return lines;
  };

  it('follows a total that grows while the work runs: never past 100 %, the new total shown, its unit named', () => {
    const lines = capture();
    const p = new Progress(10, 'τ 0.70', 'forwards');
    for (let i = 0; i < 10; i++) p.tick(1);
    p.setTotal(40); // the per-block search starts
    for (let i = 0; i < 30; i++) p.tick(1);
    p.finish();
    const shares = lines.map((l) => Number(/^\s*(\d+)%/.exec(l)![1]));
    expect(Math.max(...shares)).toBe(100);
    expect(lines.at(-1)).toMatch(/^\s*100% 40\/40 forwards, [\d.]+ forwards\/s/);
    expect(lines.some((l) => /^\s*100% 10\/10 forwards/.test(l))).toBe(true);
    // after the total grew (10 of 40 done), the next line is at the next tenth, and the share goes up again
    const after = shares.slice(shares.indexOf(100) + 1);
    expect(after[0]).toBe(30);
    expect(after).toEqual([...after].sort((a, b) => a - b));
  });

  it('counts images by default', () => {
    const lines = capture();
    const p = new Progress(2, 'plain');
    p.tick(2);
    expect(lines.at(-1)).toMatch(/2\/2 img, [\d.]+ img\/s/);
  });
});
