import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // the CLI tests start child processes (2–3 s each on 2 cores, more under load): 5 s was a flake
    testTimeout: 60_000,
  },
});
