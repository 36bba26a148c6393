// Runs the hardening suite (test/hardening-*.test.ts) and prints its tally as a Markdown table:
// per kind of case, how many were tried, gave typed errors, fell back to the plain pipeline, gave
// correct results, or crashed / hung / leaked. Every number comes from this run.
//
//   npx -y pnpm@10 --filter @jmpjs/transformers-patch hardening [-- --cases]
//
// --cases also lists every case with its outcome. JMP_HARDENING_RUNS / JMP_HARDENING_SEED change
// the fast-check property's runs and seed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'jmp-hardening-'));
const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', 'test/hardening-'], {
  cwd: pkg,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, JMP_HARDENING_DIR: dir },
});

/** @type {{ kind: string; name: string; outcome: 'typed' | 'fallback' | 'correct' | 'failed'; detail?: string }[]} */
const records = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
rmSync(dir, { recursive: true, force: true });

// every kind a case records, in a fixed order first (a new kind shows up without editing this list)
const known = ['models', 'images', 'options', 'plans', 'calibration', 'lifecycle', 'zero-shot'];
const kinds = [...known, ...[...new Set(records.map((r) => r.kind))].filter((k) => !known.includes(k)).sort()];
const count = (rs, outcome) => rs.filter((r) => r.outcome === outcome).length;
const row = (label, rs) => `| ${label} | ${rs.length} | ${count(rs, 'typed')} | ${count(rs, 'fallback')} | ${count(rs, 'correct')} | ${count(rs, 'failed')} |`;
const lines = [
  '| kind | cases tried | typed errors | fallbacks | correct results | crashes / hangs / leaks |',
  '|---|---:|---:|---:|---:|---:|',
  ...kinds.map((kind) =>
    row(
      kind,
      records.filter((r) => r.kind === kind),
    ),
  ),
  row('**total**', records),
];
const runs = process.env.JMP_HARDENING_RUNS ?? '120';
const seed = process.env.JMP_HARDENING_SEED ?? '20261128';
const notes = [
  `options: one case per run of the fast-check property (${runs} runs, seed ${seed}).`,
  ...records.filter((r) => r.name.startsWith('1 000 calls') && r.detail).map((r) => `${r.name}: ${r.detail}.`),
];
const failed = records.filter((r) => r.outcome === 'failed');

console.log('\n## Hardening tally\n');
console.log(lines.join('\n'));
console.log('');
for (const note of notes) console.log(`- ${note}`);
if (failed.length > 0) {
  console.log('\nFailed cases:');
  for (const r of failed) console.log(`- ${r.kind}: ${r.name}: ${r.detail ?? ''}`);
}
if (process.argv.includes('--cases')) {
  console.log('\nCases:');
  for (const r of records) console.log(`- ${r.kind} | ${r.outcome} | ${r.name}${r.detail ? ` | ${r.detail}` : ''}`);
}
if (records.length === 0) console.log('\n(no cases were recorded: did the suite run?)');
process.exit(run.status ?? 1);
