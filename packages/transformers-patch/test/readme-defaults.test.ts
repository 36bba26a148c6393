import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as defaults from '../src/defaults.js';
import { optionsTable } from '../src/options-schema.js';

/**
 * Docs that match the code: the package README's options table is the one options-schema.ts
 * generates, and every default that a README or a reference page of docs/ states next to its
 * constant's name ("`DEFAULT_TAU` 0.86", "`DEFAULT_TAU = 0.86`", "0.86 (`DEFAULT_TAU`)") equals the
 * constant. History pages (results, ablations) keep the values of their time and are not read.
 */
const root = path.resolve(import.meta.dirname, '../../..');
const DOCS = [
  'README.md',
  'packages/transformers-patch/README.md',
  'packages/jmp-core/README.md',
  'apps/eval/README.md',
  'docs/algorithm.md',
  'docs/calibration.md',
  'docs/transformers-patch.md',
];
const CONSTANTS = ['DEFAULT_BUDGET', 'DEFAULT_TAU', 'DEFAULT_TAU_FEW_PATCHES', 'DEFAULT_TAU_KEYS', 'FEW_PATCHES', 'DEFAULT_KEEP_EVIT'] as const;
const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;

/** Every value stated next to `name` in `text`: name then number, or number then (name). */
function statedValues(text: string, name: string): number[] {
  const n = String.raw`(?<![A-Z_])${name}(?![A-Z_])`;
  const after = new RegExp(String.raw`${n}\`?\s*(?:=|:|is)?\s*\(?\`?\*{0,2}${NUMBER}`, 'g');
  const before = new RegExp(String.raw`${NUMBER}\*{0,2}\`?\s*\(\`${n}\``, 'g');
  return [...text.matchAll(after), ...text.matchAll(before)].map((m) => Number(m[1]));
}

describe('docs match the code', () => {
  it("the package README's options table is the schema's (regenerate: pnpm --filter @jmpjs/transformers-patch docs:options)", () => {
    const readme = readFileSync(path.join(root, 'packages/transformers-patch/README.md'), 'utf8');
    const block = /<!-- options-table[^\n]*-->\n([\s\S]*?)\n<!-- \/options-table -->/.exec(readme);
    expect(block, 'no <!-- options-table --> block in the README').not.toBeNull();
    expect(block![1]).toBe(optionsTable());
  });

  it('the table states every tuned default as its constant', () => {
    const table = optionsTable();
    for (const name of ['DEFAULT_BUDGET', 'DEFAULT_TAU', 'DEFAULT_TAU_FEW_PATCHES'] as const) expect(statedValues(table, name)).toEqual([defaults[name]]);
    expect(table).toContain(`at most ${defaults.FEW_PATCHES} patch`);
  });

  it.each(DOCS)('%s: every default stated next to its constant equals the constant', (file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const name of CONSTANTS) {
      for (const value of statedValues(text, name)) expect(value, `${file}: ${name} stated as ${value}`).toBe(defaults[name]);
    }
  });

  it('the statements are found: each constant is stated somewhere in these docs, and a wrong one is caught', () => {
    const all = DOCS.map((f) => readFileSync(path.join(root, f), 'utf8')).join('\n');
    for (const name of ['DEFAULT_BUDGET', 'DEFAULT_TAU', 'DEFAULT_TAU_FEW_PATCHES', 'FEW_PATCHES'] as const) {
      expect(statedValues(all, name).length, `${name} is stated nowhere`).toBeGreaterThan(0);
    }
    expect(statedValues('`DEFAULT_TAU_FEW_PATCHES` 0.66 and `DEFAULT_TAU = 0.86`; **0.93** (`DEFAULT_TAU_KEYS`)', 'DEFAULT_TAU')).toEqual([0.86]);
    expect(statedValues('`DEFAULT_TAU_FEW_PATCHES` 0.66 on few patches', 'DEFAULT_TAU_FEW_PATCHES')).toEqual([0.66]);
    expect(statedValues('**0.93** (`DEFAULT_TAU_KEYS`)', 'DEFAULT_TAU_KEYS')).toEqual([0.93]);
  });
});
