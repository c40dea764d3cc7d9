// One vitest configuration for the whole repo. Workspace packages resolve to their TypeScript sources
// so tests never run against a stale build. Socket-timing tests (`*.serial.test.ts`) run in their own
// serial pass (EDGEFLEET_TEST_SERIAL=1) so CPU-heavy tests cannot starve their deadlines.
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const serial = process.env.EDGEFLEET_TEST_SERIAL === '1';

export default defineConfig({
  resolve: {
    alias: {
      '@edgefleet/contracts': here('./packages/contracts/src/index.ts'),
      '@edgefleet/service-kit': here('./packages/service-kit/src/index.ts'),
      '@edgefleet/testkit': here('./packages/testkit/src/index.ts'),
    },
  },
  test: {
    include: [serial ? '**/test/**/*.serial.test.ts' : '**/test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, '**/dist/**', ...(serial ? [] : ['**/*.serial.test.ts'])],
    fileParallelism: !serial,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
