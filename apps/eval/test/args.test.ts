import { describe, expect, it } from 'vitest';
import { normalizeArgv } from '../src/args.js';
import { pairedCounts } from '../src/evaluate.js';

const VALUES = new Set(['tau', 'limit', 'grid', 'model']);

describe('normalizeArgv: the command line as npm users type it', () => {
  it('drops a bare -- (pnpm eval -- --limit 100)', () => {
    expect(normalizeArgv(['--', '--limit', '100'], VALUES)).toEqual(['--limit', '100']);
    expect(normalizeArgv(['calibrate', '--', '--limit', '100'], VALUES)).toEqual(['calibrate', '--limit', '100']);
  });

  it('takes a negative number after an option with a value as its value', () => {
    expect(normalizeArgv(['--tau', '-1'], VALUES)).toEqual(['--tau=-1']);
    expect(normalizeArgv(['--tau', '-0.25', '--limit', '5'], VALUES)).toEqual(['--tau=-0.25', '--limit', '5']);
    expect(normalizeArgv(['--tau', '-.5'], VALUES)).toEqual(['--tau=-.5']);
  });

  it('leaves everything else alone', () => {
    // a flag after an option with a value stays a flag (parseArgs then says the value is missing)
    expect(normalizeArgv(['--tau', '-h'], VALUES)).toEqual(['--tau', '-h']);
    // booleans take no value; --tau=-1 is already one token
    expect(normalizeArgv(['--full', '-1'], VALUES)).toEqual(['--full', '-1']);
    expect(normalizeArgv(['--tau=-1', 'bench'], VALUES)).toEqual(['--tau=-1', 'bench']);
    expect(normalizeArgv(['--model', 'my-model'], VALUES)).toEqual(['--model', 'my-model']);
  });
});

describe('pairedCounts', () => {
  it('counts images right on one side only, both ways', () => {
    const a = Uint8Array.from([1, 1, 0, 0, 1]);
    const b = Uint8Array.from([1, 0, 1, 0, 0]);
    expect(pairedCounts(a, b)).toEqual({ gained: 2, lost: 1 });
    expect(pairedCounts(b, a)).toEqual({ gained: 1, lost: 2 });
  });
});
