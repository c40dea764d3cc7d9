import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PUBLISHED_SCHEMAS, renderJsonSchema } from '../src/index.js';

describe('published JSON Schema files', () => {
  it.each(Object.keys(PUBLISHED_SCHEMAS))(
    '%s matches the zod schema (run gen:schema after a change)',
    (file) => {
      const committed = readFileSync(new URL(`../schema/${file}`, import.meta.url), 'utf8');
      expect(committed).toBe(renderJsonSchema(file));
    },
  );
});
