import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the workspace's sources: the `source` export condition of @jmpjs/core and of this
// package (and of `#platform`, the Node platform), so one package's tests run on a fresh clone
// without building anything first.
const conditions = ['source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
