#!/usr/bin/env node
// Runs the packed @jmpjs/core and @jmpjs/transformers-patch (build them first) against each given
// @huggingface/transformers version, installed from npm into a temporary app, as a user installs
// them: keep = 1 must give the plain pipeline's output, and the default JMP must run, on both
// runners, in Node, with the tiny DeiT fixture.
//   node scripts/check-host-versions.mjs 3.1.0 3.4.2 3.8.1 4.3.2
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const versions = process.argv.slice(2);
if (versions.length === 0) {
  console.error('usage: node scripts/check-host-versions.mjs <transformers.js version> …');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const core = path.resolve(pkg, '../jmp-core');
const models = path.resolve(pkg, '../../tooling/fixtures/models');
const work = mkdtempSync(path.join(tmpdir(), 'jmp-hosts-'));
const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

const probe = `
import { pipeline, RawImage, env } from '@huggingface/transformers';
import { enableJMP } from '@jmpjs/transformers-patch';
// a local model by env.localModelPath and its id: 3.x before 3.5 takes no absolute folder
env.allowRemoteModels = false;
env.localModelPath = ${JSON.stringify(models + path.sep)};
const pipe = await pipeline('image-classification', 'tiny-deit', { dtype: 'fp32' });
const img = new RawImage(new Uint8ClampedArray(32 * 32 * 3).map((_, i) => (i * 37) % 255), 32, 32, 3);
const plain = await pipe(img, { top_k: 3 });
// the same labels in the same order, scores within 1e-5 (the segments runner's float32 interface)
const samePlain = (r) => r.every((x, i) => x.label === plain[i].label && Math.abs(x.score - plain[i].score) <= 1e-5);
const out = [];
for (const runner of ['compiled', 'segments']) {
  const one = await enableJMP(pipe, { keep: 1, runner });
  const same = samePlain(await pipe(img, { top_k: 3 }));
  await one.dispose();
  const jmp = await enableJMP(pipe, { runner });
  await pipe(img);
  const tokens = jmp.stats().lastCall.blocks.at(-1).tokensOut;
  await jmp.dispose();
  if (!same) throw new Error(runner + ': keep 1 differs from the plain pipeline');
  out.push(runner + ': keep 1 = plain, default JMP ran (' + tokens + ' tokens out of the last block)');
}
await pipe.dispose();
console.log(out.join('; '));
`;

try {
  // pnpm pack: the workspace:^ range of @jmpjs/core becomes its version, as in a published package
  const tarballs = [core, pkg].map((dir) => run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', work], dir).trim().split('\n').pop());
  let failed = 0;
  for (const v of versions) {
    const app = path.join(work, `app-${v}`);
    run('mkdir', ['-p', app], work);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `app-${v}`, private: true, type: 'module' }));
    writeFileSync(path.join(app, 'probe.mjs'), probe);
    try {
      // onnxruntime-node's install script fetches CUDA parts from outside the npm registry
      run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', `@huggingface/transformers@${v}`, ...tarballs], app, {
        ONNXRUNTIME_NODE_INSTALL: 'skip',
      });
      const ort = run('node', ['-p', "require('onnxruntime-node/package.json').version"], app).trim();
      console.log(`${v} (onnxruntime-node ${ort}): ${run('node', ['probe.mjs'], app).trim()}`);
    } catch (e) {
      failed++;
      console.log(`${v}: FAILED ${(e.stderr || e.message || String(e)).trim().split('\n').slice(-3).join(' / ')}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(work, { recursive: true, force: true });
}
