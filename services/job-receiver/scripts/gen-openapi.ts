// Writes openapi.json (the job API's description) from the zod schemas. Run after changing a schema;
// test/openapi.test.ts fails while the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderOpenApi } from '../src/openapi.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
writeFileSync(new URL('../openapi.json', import.meta.url), renderOpenApi(pkg.version));
console.log('wrote openapi.json');
