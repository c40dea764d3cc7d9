// JSON Schema documents for servers written in other languages. Generated from the zod schemas (the
// only source), written to packages/contracts/schema/ by `pnpm --filter @edgefleet/contracts gen:schema`,
// and compared with the committed files by a test, so a schema change without regeneration fails CI.
import { z } from 'zod';
import { CancelMessageV1, JobMessageV1 } from './job-message.js';
import { ResultManifestV1 } from './manifest.js';
import { NotificationV1 } from './notification.js';

/** File name → the schema it documents. Later contracts (manifest, notification…) add entries here. */
export const PUBLISHED_SCHEMAS: Record<string, { title: string; schema: z.ZodType }> = {
  'job-message.v1.json': { title: 'edgefleet SQS job message, version 1', schema: JobMessageV1 },
  'cancel-message.v1.json': { title: 'edgefleet SQS cancel message, version 1', schema: CancelMessageV1 },
  'result-manifest.v1.json': {
    title: 'edgefleet result manifest (manifest.json), version 1',
    schema: ResultManifestV1,
  },
  'notification.v1.json': { title: 'edgefleet job status notification, version 1', schema: NotificationV1 },
};

/** The JSON Schema text for one published file (stable key order, trailing newline). */
export function renderJsonSchema(file: string): string {
  const entry = PUBLISHED_SCHEMAS[file];
  if (!entry) throw new Error(`unknown schema file ${file}`);
  const doc = z.toJSONSchema(entry.schema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...doc, $id: `https://edgefleet.dev/schema/${file}`, title: entry.title }, null, 2)}\n`;
}
