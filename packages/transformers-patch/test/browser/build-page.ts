import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';

/** Builds the test page (test/browser/page) with the package's browser platform into `outDir`. */
export async function buildPage(outDir: string): Promise<void> {
  const root = fileURLToPath(new URL('./page/', import.meta.url));
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    resolve: {
      alias: { '#platform': fileURLToPath(new URL('../../src/host/platform.web.ts', import.meta.url)) },
      // @jmpjs/core from its sources (no build needed)
      conditions: ['source', ...defaultClientConditions],
    },
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false, chunkSizeWarningLimit: 1e9 },
  });
}
