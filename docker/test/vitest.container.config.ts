// The container test (stack.container.ts) alone, one file, no parallelism: the last pass of
// scripts/run-tests.mjs, after the suite. The suite's own config never picks it up (no `.test.ts` suffix).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@edgefleet/contracts': here('../../packages/contracts/src/index.ts'),
      '@edgefleet/testkit': here('../../packages/testkit/src/index.ts'),
    },
  },
  test: {
    root: here('../..'),
    include: ['docker/test/stack.container.ts'],
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 90 * 60_000,
    pool: 'forks',
  },
});
