import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { build, defaultClientConditions, type Rollup } from 'vite';

/**
 * The session hook survives tree-shaking: an app bundle that uses enableJMP only (from the browser
 * entry, with this package.json's `sideEffects`) still wraps `InferenceSession.create`, the
 * package's one side effect.
 */
describe('session hook in a bundle', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmp-side-effects-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = (file: string) => fileURLToPath(new URL(`../src/${file}`, import.meta.url));

  async function bundle(code: string): Promise<string> {
    const entry = path.join(dir, 'entry.js');
    writeFileSync(entry, code);
    const out = (await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      resolve: { alias: { '#platform': src('host/platform.web.ts') }, conditions: ['source', ...defaultClientConditions] },
      build: { write: false, minify: false, target: 'es2022', rollupOptions: { input: entry, external: [/^@huggingface\//, /^onnxruntime-web/] } },
    })) as Rollup.RollupOutput | Rollup.RollupOutput[];
    return (Array.isArray(out) ? out : [out])
      .flatMap((o) => o.output)
      .map((c) => (c.type === 'chunk' ? c.code : ''))
      .join('\n');
  }

  it('an app that imports enableJMP keeps the hook, and calls it', async () => {
    const code = await bundle(`import { enableJMP } from ${JSON.stringify(src('index.web.ts'))};\nconsole.log(enableJMP);\n`);
    expect(code).toContain('jmpjs.session-tracking');
    expect(code).toMatch(/trackSessions\(platform\.ort\(\)\)/);
  });
});
