/**
 * One reduction at DeiT-S size: B = 32, N = 197, C = 384, H = 6, keep 0.7 (JMP adaptive, plus the
 * other methods for comparison). Prints the median milliseconds of a reduction step: importance from
 * the head-mean CLS row, head-mean keys from the packed key projection, and the reduction itself.
 *
 *   pnpm --filter @jmpjs/core bench [-- --runs 50]
 */
import { createTokenState, headMeanKeysPacked, importanceFromRows, reduceTokens, type ReductionMethod } from '../src/index.js';

const B = 32,
  N = 197,
  C = 384,
  H = 6,
  P = 1;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;

// Deterministic pseudo-random inputs (xorshift), so every run reduces the same batch.
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const tokens = new Float32Array(B * N * C).map(() => rand() * 2 - 1);
const keys = new Float32Array(B * N * C).map(() => rand() * 2 - 1);
const rows = new Float32Array(B * P * N).map(() => rand());

const methods: [string, ReductionMethod][] = [
  ['jmp adaptive', { method: 'jmp', keep: 0.7, strategy: 'adaptive', tau: 0.5 }],
  ['jmp adaptive-token', { method: 'jmp', keep: 0.7, strategy: 'adaptive-token', tau: 0.05 }],
  ['jmp merge', { method: 'jmp', keep: 0.7, strategy: 'merge' }],
  ['jmp prune', { method: 'jmp', keep: 0.7, strategy: 'prune' }],
  ['evit', { method: 'evit', keep: 0.7 }],
  ['tome r=58', { method: 'tome', r: 58 }],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

console.log(`one reduction, B=${B} N=${N} C=${C} H=${H} keep 0.7, median of ${RUNS} runs`);
for (const [name, method] of methods) {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const state = createTokenState({ data: tokens, dims: [B, N, C] }, { protectedTokens: P });
    const importance = importanceFromRows({ data: rows, dims: [B, P, N] });
    const metric = headMeanKeysPacked({ data: keys, dims: [B, N, C] }, H);
    const { state: out } = reduceTokens(state, { importance, metric }, method);
    const t1 = performance.now();
    if (out.dims[1] >= N) throw new Error('no reduction happened');
    if (i >= 3) times.push(t1 - t0);
  }
  console.log(`${name.padEnd(20)} ${median(times).toFixed(2).padStart(7)} ms`);
}
