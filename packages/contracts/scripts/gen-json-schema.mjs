// Regenerates schema/*.json from the built contracts (run `pnpm --filter @edgefleet/contracts build` first).
import { writeFileSync } from 'node:fs';
import { PUBLISHED_SCHEMAS, renderJsonSchema } from '../dist/index.js';

for (const file of Object.keys(PUBLISHED_SCHEMAS)) {
  writeFileSync(new URL(`../schema/${file}`, import.meta.url), renderJsonSchema(file));
  console.log(`wrote schema/${file}`);
}
