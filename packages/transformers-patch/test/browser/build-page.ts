import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';

/**
 * Builds the test page (test/browser/page) with the package's browser platform into `outDir`.
 * `transformersEntry` is the Node entry file of the transformers.js under test (v4, or v3 in the
 * v3 suite): the page gets that copy's web build and its own onnxruntime-web, which the package's
 * platform must import too (one onnxruntime-web in the page).
 */
export async function buildPage(outDir: string, transformersEntry: string): Promise<void> {
  const root = fileURLToPath(new URL('./page/', import.meta.url));
  const transformersDir = path.resolve(path.dirname(transformersEntry), '..');
  const ortDist = path.dirname(createRequire(transformersEntry).resolve('onnxruntime-web'));
  // the onnxruntime-web entry that transformers.js's web build imports: v4 'onnxruntime-web/webgpu',
  // v3 'onnxruntime-web'; the platform's import is pointed at the same one, as a v3 app's bundler
  // alias does (README: transformers.js v3 in the browser)
  const major = Number((JSON.parse(readFileSync(path.join(transformersDir, 'package.json'), 'utf8')) as { version: string }).version.split('.')[0]);
  const ortEntry = path.join(ortDist, major >= 4 ? 'ort.webgpu.bundle.min.mjs' : 'ort.bundle.min.mjs');
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    resolve: {
      alias: {
        '#platform': fileURLToPath(new URL('../../src/host/platform.web.ts', import.meta.url)),
        '@huggingface/transformers': path.join(transformersDir, 'dist/transformers.web.js'),
        'onnxruntime-web/webgpu': ortEntry,
      },
      // @jmpjs/core from its sources (no build needed)
      conditions: ['source', ...defaultClientConditions],
    },
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false, chunkSizeWarningLimit: 1e9 },
  });
}
