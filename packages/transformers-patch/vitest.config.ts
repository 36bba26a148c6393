import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node tests run the sources: `#platform` is the Node platform (package.json `imports`).
    alias: { '#platform': fileURLToPath(new URL('./src/host/platform.node.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
