// The container tests, one file at a time, no parallelism: the last pass of scripts/run-tests.mjs,
// after the suite. stack.container.ts: the amd64 images and the compose stack; arm64.container.ts: the
// arm64 images under emulation. The suite's own config never picks them up (no `.test.ts` suffix).
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
    // arm64.container.ts unless EDGEFLEET_CONTAINER_TEST_ARM64=0 (a quick local run of the compose part).
    include: [
      'docker/test/stack.container.ts',
      ...(process.env.EDGEFLEET_CONTAINER_TEST_ARM64 === '0' ? [] : ['docker/test/arm64.container.ts']),
    ],
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 90 * 60_000,
    pool: 'forks',
  },
});
