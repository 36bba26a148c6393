// A runnable @jmpjs/core example: one JMP reduction on DeiT-S-sized token states, with the cost
// model's token plan and GMACs for the default schedule.
//
//   npx -y pnpm@10 example   (from the repository root; builds @jmpjs/core first)
import {
  DEFAULT_SCHEDULE,
  DEIT_SMALL,
  baselineMacs,
  countMacs,
  createTokenState,
  headMeanKeysPacked,
  importanceFromRows,
  planTokens,
  reduceTokens,
  tokenFates,
} from '@jmpjs/core';

const B = 4,
  N = 197,
  C = 384,
  H = 6,
  P = 1;

// Synthetic token states: patches in 8 "regions" that share a direction, plus noise, so that some
// samples look redundant (high similarity → merge) and others do not (→ prune).
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const tokens = new Float32Array(B * N * C);
const keys = new Float32Array(B * N * C);
const rows = new Float32Array(B * P * N);
for (let b = 0; b < B; b++) {
  const noise = 0.2 + 1.2 * b; // sample 0 is smooth, sample 3 is noisy
  for (let n = 0; n < N; n++) {
    const region = n % 8;
    for (let c = 0; c < C; c++) {
      const base = Math.sin((region + 1) * (c + 1) * 0.37);
      tokens[(b * N + n) * C + c] = base + noise * (rand() - 0.5);
      keys[(b * N + n) * C + c] = base + noise * (rand() - 0.5);
    }
    rows[b * N + n] = rand();
  }
}

const state = createTokenState({ data: tokens, dims: [B, N, C] }, { protectedTokens: P, trackSources: true });
const { state: out, stats } = reduceTokens(
  state,
  { importance: importanceFromRows({ data: rows, dims: [B, P, N] }), metric: headMeanKeysPacked({ data: keys, dims: [B, N, C] }, H) },
  { method: 'jmp', keep: 0.7, strategy: 'adaptive', tau: 0.6 },
);

console.log(`JMP (adaptive, keep 0.7, τ 0.6): ${stats.tokensIn} → ${stats.tokensOut} tokens per sample`);
stats.decisions.forEach((d, b) => {
  const fates = tokenFates(out.sources, b, out.dims[1]);
  const count = (f) => fates.filter((x) => x.fate === f).length;
  console.log(`  sample ${b}: σ = ${stats.sigma[b].toFixed(3)} → ${d.padEnd(5)}  kept ${count('kept')}, merged ${count('merged')}, pruned ${count('pruned')}`);
});

const plan = planTokens({ schedule: DEFAULT_SCHEDULE, method: 'jmp', depth: 12, tokens: 197, protectedTokens: 1 });
const base = baselineMacs(DEIT_SMALL).gmacs;
const jmp = countMacs(DEIT_SMALL, plan).gmacs;
console.log(`\nDeiT-S, default schedule (keep 0.7 at blocks ${DEFAULT_SCHEDULE.blocks.join('/')}):`);
console.log(`  tokens per block: ${plan.map((b) => b.tokensIn).join(' ')}`);
console.log(`  ${base.toFixed(2)} → ${jmp.toFixed(2)} GMACs (${((jmp / base - 1) * 100).toFixed(1)} %)`);
